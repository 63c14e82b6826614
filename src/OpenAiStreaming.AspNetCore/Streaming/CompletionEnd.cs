using Microsoft.Extensions.AI;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>How a completion request ended, decided once by its lifecycle; the exception, when one caused it.</summary>
internal sealed record CompletionEnd(CompletionEndKind Kind, Exception? Exception = null)
{
    public static readonly CompletionEnd Completed = new(CompletionEndKind.Completed);
    public static readonly CompletionEnd ClientGone = new(CompletionEndKind.ClientGone);
    public static readonly CompletionEnd RateLimited = new(CompletionEndKind.RateLimited);
    public static readonly CompletionEnd Unavailable = new(CompletionEndKind.Unavailable);

    /// <summary>True when the client must be told: with a status before the response started, an error event after.</summary>
    public bool IsFailure => Kind is not (CompletionEndKind.Completed or CompletionEndKind.ClientGone);

    /// <summary>The metrics' <c>error.type</c>; null for a complete answer.</summary>
    public string? ErrorType => Kind switch
    {
        CompletionEndKind.Completed => null,
        CompletionEndKind.ClientGone => RequestOutcome.ClientDisconnectedErrorType,
        CompletionEndKind.RateLimited => "rate_limited",
        CompletionEndKind.Unavailable or CompletionEndKind.ShutdownCut => "server_shutting_down",
        CompletionEndKind.ClientTooSlow => "client_too_slow",
        CompletionEndKind.TimedOut => "timeout",
        _ => Exception?.GetType().FullName ?? "_OTHER",
    };

    /// <summary>The end as the metrics record it, with the tokens of what the model produced.</summary>
    public RequestOutcome ToOutcome(CompletionState state, IReadOnlyList<ChatMessage> prompt)
    {
        switch (Kind)
        {
            case CompletionEndKind.Completed:
                var usage = state.Usage(prompt);
                return RequestOutcome.Completed(state.FinishReason, usage.Prompt, usage.Completion);
            case CompletionEndKind.ClientGone:
                return RequestOutcome.Disconnected(state.OutputTokens);
            default:
                return RequestOutcome.Failed(ErrorType!, state.OutputTokens);
        }
    }
}
