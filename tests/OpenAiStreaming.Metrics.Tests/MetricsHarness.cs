using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.Metrics.Tests;

/// <summary>One measurement of any instrument, its value as a double.</summary>
public sealed record Recorded(double Value, IReadOnlyDictionary<string, object?> Tags)
{
    public string? Tag(string name) => (string?)Tags.GetValueOrDefault(name);
}

/// <summary>
/// <see cref="OpenAiStreamingMetrics"/> on a private <see cref="IMeterFactory"/>, a <see cref="MetricCollector{T}"/>
/// per instrument scoped to that factory (so tests running side by side do not mix), and a clock that moves only when
/// told, so every duration is exact.
/// </summary>
public sealed class MetricsHarness : IDisposable
{
    private static readonly string[] s_histograms = [TimeToFirstToken, TimePerOutputToken, RequestDuration, InterTokenLatency, QueueWait, FlushDuration];
    private static readonly string[] s_counters = [ActiveStreams, QueuedRequests, ClientDisconnects, Heartbeats, Chunks, Bytes, CoalescedDeltas, Tokens, Requests];

    private readonly ServiceProvider _services;
    private readonly Dictionary<string, MetricCollector<double>> _histograms;
    private readonly Dictionary<string, MetricCollector<long>> _counters;

    public MetricsHarness()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Factory = _services.GetRequiredService<IMeterFactory>();
        _histograms = s_histograms.ToDictionary(n => n, n => new MetricCollector<double>(Factory, MeterName, n, Time));
        _counters = s_counters.ToDictionary(n => n, n => new MetricCollector<long>(Factory, MeterName, n, Time));
        Metrics = new OpenAiStreamingMetrics(Factory);
    }

    public IMeterFactory Factory { get; }

    public OpenAiStreamingMetrics Metrics { get; }

    /// <summary>Starts well above zero, as a real clock's timestamps do.</summary>
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.UnixEpoch.AddHours(1));

    /// <summary>Every instrument of the meter, by name.</summary>
    public IReadOnlyDictionary<string, Instrument> Instruments =>
        _histograms.Select(p => (p.Key, (Instrument)p.Value.Instrument!))
            .Concat(_counters.Select(p => (p.Key, (Instrument)p.Value.Instrument!)))
            .ToDictionary(p => p.Key, p => p.Item2);

    /// <summary>Starts a chat request for <c>m</c> that arrives now.</summary>
    public RequestMetrics Start(string model = "m", string operation = "chat") =>
        Metrics.StartRequest(model, operation, Time.GetTimestamp(), Time);

    public IReadOnlyList<Recorded> Of(string instrument) => _histograms.TryGetValue(instrument, out var histogram)
        ? [.. histogram.GetMeasurementSnapshot().Select(m => new Recorded(m.Value, m.Tags))]
        : [.. _counters[instrument].GetMeasurementSnapshot().Select(m => new Recorded(m.Value, m.Tags))];

    public double Sum(string instrument) => Of(instrument).Sum(m => m.Value);

    public void AdvanceMilliseconds(int milliseconds) => Time.Advance(TimeSpan.FromMilliseconds(milliseconds));

    public void Dispose()
    {
        foreach (var collector in _histograms.Values)
        {
            collector.Dispose();
        }

        foreach (var collector in _counters.Values)
        {
            collector.Dispose();
        }

        _services.Dispose();
    }
}
