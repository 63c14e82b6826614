namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>Which of a key's limits refused a request.</summary>
internal enum KeyLimit
{
    /// <summary>Requests per minute.</summary>
    Requests,

    /// <summary>Tokens per minute.</summary>
    Tokens,

    /// <summary>Requests running at once.</summary>
    ConcurrentStreams,
}
