using System.Diagnostics;

namespace OpenAiStreaming.Metrics;

/// <summary>
/// Records one completion request: call the methods as things happen, and <see cref="End"/> once with the outcome.
/// Time to first token, time per output token and the request's duration are recorded then, failed or cancelled
/// requests with <c>error.type</c>. Not thread-safe: used by the request's own task.
/// </summary>
public sealed class RequestMetrics
{
    private readonly OpenAiStreamingMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly long _arrival;
    private readonly string _model;
    private readonly string _operation;

    /// <summary>True once content has reached the client.</summary>
    private bool _hasContent;

    /// <summary>When the first content reached the client (timestamp); valid when <see cref="_hasContent"/>.</summary>
    private long _firstContent;

    /// <summary>When the latest content reached the client (timestamp); valid when <see cref="_hasContent"/>.</summary>
    private long _lastContent;

    /// <summary>True once <see cref="End"/> has run.</summary>
    private bool _ended;

    internal RequestMetrics(OpenAiStreamingMetrics metrics, string model, string operation, long arrivalTimestamp, TimeProvider timeProvider)
    {
        _metrics = metrics;
        _time = timeProvider;
        _arrival = arrivalTimestamp;
        _model = model;
        _operation = operation;
        _metrics.ActiveStreams.Add(1, Tags);
    }

    /// <summary>
    /// The request's tags, made when recorded rather than kept: a <see cref="TagList"/> is a struct of about 150 bytes, and
    /// a server holds one of these objects per open stream.
    /// </summary>
    private TagList Tags => new()
    {
        { OpenAiStreamingMetricNames.ModelTag, _model },
        { OpenAiStreamingMetricNames.OperationTag, _operation },
    };

    /// <summary>Where the request is now: a disconnect is counted under this phase.</summary>
    public RequestPhase Phase { get; private set; } = RequestPhase.BeforeFirstToken;

    /// <summary>The request starts waiting for admission: it counts as queued until <see cref="Admitted"/> or <see cref="End"/>.</summary>
    public void Queued()
    {
        if (Phase != RequestPhase.Waiting)
        {
            Phase = RequestPhase.Waiting;
            _metrics.QueuedRequests.Add(1, Tags);
        }
    }

    /// <summary>The request was admitted after waiting.</summary>
    public void Admitted()
    {
        _metrics.QueueWait.Record(_time.GetElapsedTime(_arrival).TotalSeconds, Tags);
        if (Phase == RequestPhase.Waiting)
        {
            _metrics.QueuedRequests.Add(-1, Tags);
        }

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
        var tags = Tags;
        if (_metrics.FlushDuration.Enabled)
        {
            _metrics.FlushDuration.Record(_time.GetElapsedTime(startTimestamp, now).TotalSeconds, tags);
        }

        _metrics.Chunks.Add(chunks, tags);
        _metrics.Bytes.Add(bytes, tags);
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
            _metrics.InterTokenLatency.Record(_time.GetElapsedTime(_lastContent, now).TotalSeconds, tags);
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
    public void Heartbeat() => _metrics.Heartbeats.Add(1, Tags);

    /// <summary>Deltas were merged because the client lagged.</summary>
    /// <param name="count">How many.</param>
    public void Coalesced(long count)
    {
        if (count > 0)
        {
            _metrics.CoalescedDeltas.Add(count, Tags);
        }
    }

    /// <summary>
    /// Ends the request: records its totals under its outcome, counts a disconnect under the current
    /// <see cref="Phase"/>, and stops counting it as active. Called once; the request's owner decides the outcome.
    /// </summary>
    /// <param name="outcome">How the request ended.</param>
    /// <exception cref="InvalidOperationException">The request has already ended.</exception>
    public void End(RequestOutcome outcome)
    {
        if (_ended)
        {
            throw new InvalidOperationException("The request's outcome is recorded once.");
        }

        _ended = true;
        _metrics.ActiveStreams.Add(-1, Tags);
        if (Phase == RequestPhase.Waiting)
        {
            _metrics.QueuedRequests.Add(-1, Tags);
        }

        var tags = Tags;
        if (outcome.ErrorType is { } errorType)
        {
            tags.Add(OpenAiStreamingMetricNames.ErrorTypeTag, errorType);
        }
        else if (outcome.FinishReason is { } finishReason)
        {
            tags.Add(OpenAiStreamingMetricNames.FinishReasonTag, finishReason);
        }

        if (outcome.IsDisconnect)
        {
            var disconnect = Tags;
            disconnect.Add(OpenAiStreamingMetricNames.PhaseTag, Phase switch
            {
                RequestPhase.Waiting => "waiting",
                RequestPhase.BeforeFirstToken => "before_first_token",
                _ => "streaming",
            });
            _metrics.ClientDisconnects.Add(1, disconnect);
        }

        _metrics.Requests.Add(1, tags);
        _metrics.RequestDuration.Record(_time.GetElapsedTime(_arrival).TotalSeconds, tags);
        if (_hasContent)
        {
            _metrics.TimeToFirstToken.Record(_time.GetElapsedTime(_arrival, _firstContent).TotalSeconds, tags);
            if (outcome.OutputTokens > 1 && _lastContent > _firstContent)
            {
                _metrics.TimePerOutputToken.Record(_time.GetElapsedTime(_firstContent, _lastContent).TotalSeconds / (outcome.OutputTokens - 1), tags);
            }
        }

        if (outcome.InputTokens > 0)
        {
            var input = Tags;
            input.Add(OpenAiStreamingMetricNames.TokenTypeTag, "input");
            _metrics.Tokens.Add(outcome.InputTokens, input);
        }

        if (outcome.OutputTokens > 0)
        {
            var output = Tags;
            output.Add(OpenAiStreamingMetricNames.TokenTypeTag, "output");
            _metrics.Tokens.Add(outcome.OutputTokens, output);
        }
    }
}
