namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>A response's <c>status</c>, as OpenAI's Responses API names them.</summary>
public enum ResponseStatus
{
    /// <summary><c>queued</c>: a background response waiting for the model.</summary>
    Queued,

    /// <summary><c>in_progress</c>: the model is generating it.</summary>
    InProgress,

    /// <summary><c>completed</c>: the model finished it.</summary>
    Completed,

    /// <summary><c>incomplete</c>: it stopped at <c>max_output_tokens</c> or a content filter.</summary>
    Incomplete,

    /// <summary><c>failed</c>: the model or the server failed; the response's <c>error</c> says why.</summary>
    Failed,

    /// <summary><c>cancelled</c>: cancelled through <c>POST /v1/responses/{id}/cancel</c>.</summary>
    Cancelled,
}
