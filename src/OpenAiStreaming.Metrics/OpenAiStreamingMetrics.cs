using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OpenAiStreaming.Metrics;

/// <summary>
/// The instruments of the <c>OpenAiStreaming</c> meter, created once through <see cref="IMeterFactory"/>. Register
/// it as a singleton and start one <see cref="RequestMetrics"/> per completion request.
/// </summary>
public sealed class OpenAiStreamingMetrics
{
    // OpenTelemetry GenAI semantic-convention bucket advice (see REFERENCE.md).
    private static readonly double[] s_ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private static readonly double[] s_tpotBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
    private static readonly double[] s_durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] s_shortBuckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Creates the meter and its instruments.</summary>
    /// <param name="meterFactory">The host's meter factory (<c>services.AddMetrics()</c>, which ASP.NET Core adds).</param>
    public OpenAiStreamingMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(OpenAiStreamingMetricNames.MeterName);
        TimeToFirstToken = meter.CreateHistogram(OpenAiStreamingMetricNames.TimeToFirstToken, "s",
            "Time from the request's arrival to the flush of its first content chunk.", advice: Buckets(s_ttftBuckets));
        TimePerOutputToken = meter.CreateHistogram(OpenAiStreamingMetricNames.TimePerOutputToken, "s",
            "Time per output token after the first.", advice: Buckets(s_tpotBuckets));
        RequestDuration = meter.CreateHistogram(OpenAiStreamingMetricNames.RequestDuration, "s",
            "Time from the request's arrival to the end of its response.", advice: Buckets(s_durationBuckets));
        InterTokenLatency = meter.CreateHistogram(OpenAiStreamingMetricNames.InterTokenLatency, "s",
            "Time between two consecutive content flushes of one stream.", advice: Buckets(s_shortBuckets));
        QueueWait = meter.CreateHistogram(OpenAiStreamingMetricNames.QueueWait, "s",
            "Time a request waited for admission.", advice: Buckets(s_durationBuckets));
        FlushDuration = meter.CreateHistogram(OpenAiStreamingMetricNames.FlushDuration, "s",
            "Time one flush of an event stream took.", advice: Buckets(s_shortBuckets));
        ActiveStreams = meter.CreateUpDownCounter<long>(OpenAiStreamingMetricNames.ActiveStreams, "{stream}",
            "Completion requests being served now, waiting for admission included.");
        QueuedRequests = meter.CreateUpDownCounter<long>(OpenAiStreamingMetricNames.QueuedRequests, "{request}",
            "Completion requests waiting for admission now.");
        ClientDisconnects = meter.CreateCounter<long>(OpenAiStreamingMetricNames.ClientDisconnects, "{disconnect}",
            "Clients that left before their answer was complete.");
        Heartbeats = meter.CreateCounter<long>(OpenAiStreamingMetricNames.Heartbeats, "{heartbeat}", "Keep-alive comments written.");
        Chunks = meter.CreateCounter<long>(OpenAiStreamingMetricNames.Chunks, "{chunk}", "Events written to event streams.");
        Bytes = meter.CreateCounter<long>(OpenAiStreamingMetricNames.Bytes, "By", "Bytes written to event streams.");
        CoalescedDeltas = meter.CreateCounter<long>(OpenAiStreamingMetricNames.CoalescedDeltas, "{delta}",
            "Deltas merged into an earlier one because the client read more slowly than the model wrote.");
        Tokens = meter.CreateCounter<long>(OpenAiStreamingMetricNames.Tokens, "{token}", "Tokens processed, input and output.");
        Requests = meter.CreateCounter<long>(OpenAiStreamingMetricNames.Requests, "{request}",
            "Completion requests that ended, by finish reason or error type.");
    }

    internal Histogram<double> TimeToFirstToken { get; }

    internal Histogram<double> TimePerOutputToken { get; }

    internal Histogram<double> RequestDuration { get; }

    internal Histogram<double> InterTokenLatency { get; }

    internal Histogram<double> QueueWait { get; }

    internal Histogram<double> FlushDuration { get; }

    internal UpDownCounter<long> ActiveStreams { get; }

    internal UpDownCounter<long> QueuedRequests { get; }

    internal Counter<long> ClientDisconnects { get; }

    internal Counter<long> Heartbeats { get; }

    internal Counter<long> Chunks { get; }

    internal Counter<long> Bytes { get; }

    internal Counter<long> CoalescedDeltas { get; }

    internal Counter<long> Tokens { get; }

    internal Counter<long> Requests { get; }

    /// <summary>Starts the metrics of one completion request, which counts as active until it ends.</summary>
    /// <param name="model">The requested model id.</param>
    /// <param name="operation"><c>chat</c> or <c>text_completion</c>.</param>
    /// <param name="arrivalTimestamp">When the request arrived, from <paramref name="timeProvider"/>.</param>
    /// <param name="timeProvider">The clock for every duration.</param>
    /// <returns>The request's recorder.</returns>
    public RequestMetrics StartRequest(string model, string operation, long arrivalTimestamp, TimeProvider timeProvider) =>
        new(this, model, operation, arrivalTimestamp, timeProvider);

    private static InstrumentAdvice<double> Buckets(double[] boundaries) => new() { HistogramBucketBoundaries = boundaries };
}
