namespace OpenAiStreaming.Metrics;

/// <summary>
/// How a completion request ended, as <see cref="RequestMetrics.End"/> records it: complete with a finish reason, failed
/// with an error type, or left by its client. Made by <see cref="Completed"/>, <see cref="Failed"/> or
/// <see cref="Disconnected"/>.
/// </summary>
public readonly record struct RequestOutcome
{
    /// <summary>The <c>error.type</c> of a request whose client left.</summary>
    public const string ClientDisconnectedErrorType = "client_disconnected";

    private RequestOutcome(string? finishReason, string? errorType, int inputTokens, int outputTokens)
    {
        FinishReason = finishReason;
        ErrorType = errorType;
        InputTokens = inputTokens;
        OutputTokens = outputTokens;
    }

    /// <summary>The finish reason of a complete answer; null when the request failed.</summary>
    public string? FinishReason { get; }

    /// <summary>Why the request failed (<c>error.type</c>); null when it completed.</summary>
    public string? ErrorType { get; }

    /// <summary>Prompt tokens; zero when unknown.</summary>
    public int InputTokens { get; }

    /// <summary>Output tokens produced, complete or not.</summary>
    public int OutputTokens { get; }

    /// <summary>True when the client left before the answer was complete.</summary>
    public bool IsDisconnect => ErrorType == ClientDisconnectedErrorType;

    /// <summary>The answer is complete.</summary>
    /// <param name="finishReason">Its finish reason.</param>
    /// <param name="inputTokens">Prompt tokens.</param>
    /// <param name="outputTokens">Output tokens.</param>
    /// <returns>The outcome.</returns>
    public static RequestOutcome Completed(string finishReason, int inputTokens, int outputTokens)
    {
        ArgumentException.ThrowIfNullOrEmpty(finishReason);
        return new(finishReason, null, inputTokens, outputTokens);
    }

    /// <summary>The request ended without a complete answer.</summary>
    /// <param name="errorType">Why: <c>timeout</c>, <c>rate_limited</c>, an exception's type name, ...</param>
    /// <param name="outputTokens">Output tokens produced before the end.</param>
    /// <returns>The outcome.</returns>
    public static RequestOutcome Failed(string errorType, int outputTokens = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorType);
        return new(null, errorType, 0, outputTokens);
    }

    /// <summary>The client left before the answer was complete.</summary>
    /// <param name="outputTokens">Output tokens produced before it left.</param>
    /// <returns>The outcome.</returns>
    public static RequestOutcome Disconnected(int outputTokens = 0) => new(null, ClientDisconnectedErrorType, 0, outputTokens);
}
