namespace OpenAiStreaming.LoadGenerator.Running;

/// <summary>
/// One of the run's concurrent request loops and everything it measured. A worker sends one request at a time, so it
/// owns its sample lists outright: nothing is shared or locked while the run goes; the runner merges the workers'
/// lists at the end. The counters are read, unsynchronized, by the progress
/// display only.
/// </summary>
internal sealed class Worker
{
    /// <summary>Most distinct error messages kept per worker.</summary>
    private const int MaxErrorSamples = 10;

    /// <summary>Time to first content event of every request that got one, ms.</summary>
    public List<double> TtftMs { get; } = [];

    /// <summary>Gaps between successive content events, ms (floats: a long run has millions).</summary>
    public List<float> GapsMs { get; } = [];

    /// <summary>Time per output token of every completed request with two tokens or more, ms.</summary>
    public List<double> TpotMs { get; } = [];

    /// <summary>Send to <c>[DONE]</c> of every completed request, ms.</summary>
    public List<double> E2eMs { get; } = [];

    /// <summary>X-Bench-Id and monotonic ns of each stream the client aborted.</summary>
    public List<(string Id, long AbortNs)> Aborts { get; } = [];

    /// <summary>Distinct error messages, at most <see cref="MaxErrorSamples"/>.</summary>
    public List<string> ErrorSamples { get; } = [];

    /// <summary>Requests sent and finished (whatever the outcome) or interrupted.</summary>
    public int Sent;

    /// <summary>Requests that ended with <c>[DONE]</c>, or were aborted on purpose.</summary>
    public int Ok;

    /// <summary>Requests the client aborted on purpose (<c>--abort-after-events</c>).</summary>
    public int Aborted;

    /// <summary>Requests that failed.</summary>
    public int Errors;

    /// <summary>Requests cut short because the run was stopped (Ctrl+C); not measured.</summary>
    public int Interrupted;

    /// <summary>Content events received.</summary>
    public long Events;

    /// <summary>Tokens received: usage.completion_tokens when the stream reported it, else its content events.</summary>
    public long Tokens;

    /// <summary>Counts a failed request and keeps its message if it is new.</summary>
    /// <param name="message">What went wrong.</param>
    public void AddError(string message)
    {
        Errors++;
        if (ErrorSamples.Count < MaxErrorSamples && !ErrorSamples.Contains(message))
        {
            ErrorSamples.Add(message);
        }
    }
}
