namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>How a completion request ended; every request ends exactly one of these ways.</summary>
internal enum CompletionEndKind
{
    /// <summary>The answer is complete: <c>[DONE]</c> or the whole response was written.</summary>
    Completed,

    /// <summary>The client left; nothing more can reach it.</summary>
    ClientGone,

    /// <summary>The model's slots and queue were full on arrival: 429.</summary>
    RateLimited,

    /// <summary>The host was stopping before the request was admitted: 503, or the shutdown error event.</summary>
    Unavailable,

    /// <summary>The model rejected the request's arguments before producing anything: 400.</summary>
    BackendRejected,

    /// <summary>The model failed.</summary>
    BackendFailed,

    /// <summary>The client read so slowly that the pump's byte limit was reached.</summary>
    ClientTooSlow,

    /// <summary>The host's shutdown drain time ran out while the stream was running.</summary>
    ShutdownCut,

    /// <summary>The request exceeded <see cref="OpenAiStreamingOptions.MaxStreamDuration"/>.</summary>
    TimedOut,
}
