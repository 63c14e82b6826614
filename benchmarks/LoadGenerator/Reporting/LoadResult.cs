using OpenAiStreaming.LoadGenerator.Running;
using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>Everything one run measured; <see cref="ResultJson"/> writes it in the shared benchmark protocol's shape.</summary>
public sealed class LoadResult
{
    /// <summary>The run's name.</summary>
    public required string Label { get; init; }

    /// <summary>The server address as given.</summary>
    public required string BaseUrl { get; init; }

    /// <summary>The model requested.</summary>
    public required string Model { get; init; }

    /// <summary>Workers (requests in flight at once).</summary>
    public required int Concurrency { get; init; }

    /// <summary><c>max_tokens</c> of each request.</summary>
    public required int MaxTokens { get; init; }

    /// <summary>Events after which the client aborted each stream, or null when it did not.</summary>
    public int? AbortAfterEvents { get; init; }

    /// <summary>Measured requests sent (interrupted ones excluded).</summary>
    public required int RequestsSent { get; init; }

    /// <summary>Requests that ended with <c>[DONE]</c>, plus those the client aborted on purpose.</summary>
    public required int RequestsOk { get; init; }

    /// <summary>Requests the client aborted on purpose.</summary>
    public required int RequestsAborted { get; init; }

    /// <summary>Failed requests.</summary>
    public required int Errors { get; init; }

    /// <summary>A few distinct error messages.</summary>
    public required IReadOnlyList<string> ErrorSamples { get; init; }

    /// <summary>Requests cut short because the run was stopped early, not measured.</summary>
    public int Interrupted { get; init; }

    /// <summary>From the start of the measured run (the first worker's start) to the end of its last request, seconds.</summary>
    public required double DurationS { get; init; }

    /// <summary>Content events received.</summary>
    public required long Events { get; init; }

    /// <summary>Tokens received (usage.completion_tokens where reported, else content events).</summary>
    public required long Tokens { get; init; }

    /// <summary>Content events per second of <see cref="DurationS"/>.</summary>
    public double EventsPerS => DurationS > 0 ? Events / DurationS : 0;

    /// <summary>Tokens per second of <see cref="DurationS"/>.</summary>
    public double TokensPerS => DurationS > 0 ? Tokens / DurationS : 0;

    /// <summary>Send to first content event, ms.</summary>
    public required Summary TtftMs { get; init; }

    /// <summary>Every gap between successive content events, ms.</summary>
    public required Summary ItlMs { get; init; }

    /// <summary>(e2e − ttft)/(tokens − 1) of completed requests, ms.</summary>
    public required Summary TpotMs { get; init; }

    /// <summary>Send to <c>[DONE]</c> of completed requests, ms.</summary>
    public required Summary E2eMs { get; init; }

    /// <summary>In abort mode against a peer: server stop − client abort, ms; otherwise null.</summary>
    public Summary? CancelMs { get; init; }

    /// <summary>In abort mode against a peer: aborted requests without a cancellation record; otherwise null.</summary>
    public int? CancelUnmatched { get; init; }

    /// <summary>The peer's <c>/bench/stats</c> at the end (a JSON object), or null.</summary>
    public string? ServerJson { get; init; }

    /// <summary>What the peer spent during the measured run (its <c>/bench/stats</c> before and after), or null.</summary>
    public ServerWindow? Server { get; init; }

    /// <summary>The peer's <c>active</c> count at the end, after waiting up to the settle timeout, or null.</summary>
    public int? LeftRunning { get; init; }

    /// <summary>Log-spaced histogram of the inter-token gaps: (upper bound ms, count).</summary>
    public required IReadOnlyList<(double UpperBoundMs, long Count)> ItlHistogram { get; init; }
}
