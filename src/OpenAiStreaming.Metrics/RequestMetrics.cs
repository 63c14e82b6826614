using System.Diagnostics;

namespace OpenAiStreaming.Metrics;

/// <summary>The phase a request is in, which a disconnect is counted under.</summary>
public enum RequestPhase
{
    /// <summary>Waiting for admission.</summary>
    Waiting,

    /// <summary>Admitted, no content flushed yet (the model's prefill).</summary>
    BeforeFirstToken,

    /// <summary>Content has reached the client.</summary>
    Streaming,
}

/// <summary>
/// Records one completion request: call the methods as things happen, and dispose at the end. Time to first token,
/// time per output token and the request's duration are recorded once, at the end, failed or cancelled requests
/// with <c>error.type</c>. Not thread-safe: used by the request's own task.
/// </summary>
public sealed class RequestMetrics : IDisposable
{
    private readonly OpenAiStreamingMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly long _arrival;
    private readonly TagList _tags;

    /// <summary>True once content has reached the client.</summary>
    private bool _hasContent;

    /// <summary>When the first content reached the client (timestamp); valid when <see cref="_hasContent"/>.</summary>
    private long _firstContent;

    /// <summary>When the latest content reached the client (timestamp); valid when <see cref="_hasContent"/>.</summary>
    private long _lastContent;

    private string? _finishReason;
    private string? _errorType;
    private int _outputTokens;
    private int _inputTokens;
    private bool _disposed;

    internal RequestMetrics(OpenAiStreamingMetrics metrics, string model, string operation, long arrivalTimestamp, TimeProvider timeProvider)
    {
        _metrics = metrics;
        _time = timeProvider;
        _arrival = arrivalTimestamp;
        _tags = new TagList
        {
            { OpenAiStreamingMetricNames.ModelTag, model },
            { OpenAiStreamingMetricNames.OperationTag, operation },
        };
        _metrics.ActiveStreams.Add(1, _tags);
    }

    /// <summary>Where the request is now: a disconnect is counted under this phase.</summary>
    public RequestPhase Phase { get; private set; } = RequestPhase.BeforeFirstToken;

    /// <summary>The request starts waiting for admission.</summary>
    public void Queued() => Phase = RequestPhase.Waiting;

    /// <summary>The request was admitted after waiting.</summary>
    public void Admitted()
    {
        _metrics.QueueWait.Record(_time.GetElapsedTime(_arrival).TotalSeconds, _tags);
        Phase = RequestPhase.BeforeFirstToken;
    }

    /// <summary>One flush of an event stream.</summary>
    /// <param name="chunks">Events in it.</param>
    /// <param name="bytes">Bytes in it.</param>
    /// <param name="startTimestamp">When the flush started, from the same clock.</param>
    /// <param name="hadContent">True when it carried content: the user saw tokens at its end.</param>
    public void Flushed(int chunks, long bytes, long startTimestamp, bool hadContent)
    {
        long now = _time.GetTimestamp();
        if (_metrics.FlushDuration.Enabled)
        {
            _metrics.FlushDuration.Record(_time.GetElapsedTime(startTimestamp, now).TotalSeconds, _tags);
        }

        _metrics.Chunks.Add(chunks, _tags);
        _metrics.Bytes.Add(bytes, _tags);
        if (!hadContent)
        {
            return;
        }

        if (!_hasContent)
        {
            _hasContent = true;
            _firstContent = now;
            Phase = RequestPhase.Streaming;
        }
        else if (_metrics.InterTokenLatency.Enabled)
        {
            _metrics.InterTokenLatency.Record(_time.GetElapsedTime(_lastContent, now).TotalSeconds, _tags);
        }

        _lastContent = now;
    }

    /// <summary>A whole (non-streaming) answer was written: its content reached the user now.</summary>
    public void AnswerWritten()
    {
        _firstContent = _lastContent = _time.GetTimestamp();
        _hasContent = true;
        Phase = RequestPhase.Streaming;
    }

    /// <summary>A <c>: keep-alive</c> comment was written.</summary>
    public void Heartbeat() => _metrics.Heartbeats.Add(1, _tags);

    /// <summary>Deltas were merged because the client lagged.</summary>
    /// <param name="count">How many.</param>
    public void Coalesced(long count)
    {
        if (count > 0)
        {
            _metrics.CoalescedDeltas.Add(count, _tags);
        }
    }

    /// <summary>The answer is complete.</summary>
    /// <param name="finishReason">Its finish reason.</param>
    /// <param name="inputTokens">Prompt tokens.</param>
    /// <param name="outputTokens">Output tokens.</param>
    public void Completed(string finishReason, int inputTokens, int outputTokens)
    {
        _finishReason = finishReason;
        _inputTokens = inputTokens;
        _outputTokens = outputTokens;
    }

    /// <summary>The request ended without a complete answer.</summary>
    /// <param name="errorType">Why: <c>client_disconnected</c>, <c>timeout</c>, an exception's type name, ...</param>
    /// <param name="outputTokens">Output tokens produced before the end, if known.</param>
    public void Failed(string errorType, int outputTokens = 0)
    {
        if (_errorType is null)
        {
            _errorType = errorType;
            _outputTokens = outputTokens;
        }
    }

    /// <summary>The client left; counted once, under the current <see cref="Phase"/>.</summary>
    /// <param name="outputTokens">Output tokens produced before it left.</param>
    public void Disconnected(int outputTokens = 0)
    {
        if (_errorType is not null)
        {
            return;
        }

        Failed("client_disconnected", outputTokens);
        var tags = _tags;
        tags.Add(OpenAiStreamingMetricNames.PhaseTag, Phase switch
        {
            RequestPhase.Waiting => "waiting",
            RequestPhase.BeforeFirstToken => "before_first_token",
            _ => "streaming",
        });
        _metrics.ClientDisconnects.Add(1, tags);
    }

    /// <summary>Records the request's totals and stops counting it as active. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _metrics.ActiveStreams.Add(-1, _tags);
        var tags = _tags;
        if (_errorType is not null)
        {
            tags.Add(OpenAiStreamingMetricNames.ErrorTypeTag, _errorType);
        }
        else if (_finishReason is not null)
        {
            tags.Add(OpenAiStreamingMetricNames.FinishReasonTag, _finishReason);
        }

        _metrics.Requests.Add(1, tags);
        _metrics.RequestDuration.Record(_time.GetElapsedTime(_arrival).TotalSeconds, tags);
        if (_hasContent)
        {
            _metrics.TimeToFirstToken.Record(_time.GetElapsedTime(_arrival, _firstContent).TotalSeconds, tags);
            if (_outputTokens > 1 && _lastContent > _firstContent)
            {
                _metrics.TimePerOutputToken.Record(_time.GetElapsedTime(_firstContent, _lastContent).TotalSeconds / (_outputTokens - 1), tags);
            }
        }

        if (_inputTokens > 0)
        {
            var input = _tags;
            input.Add(OpenAiStreamingMetricNames.TokenTypeTag, "input");
            _metrics.Tokens.Add(_inputTokens, input);
        }

        if (_outputTokens > 0)
        {
            var output = _tags;
            output.Add(OpenAiStreamingMetricNames.TokenTypeTag, "output");
            _metrics.Tokens.Add(_outputTokens, output);
        }
    }
}
