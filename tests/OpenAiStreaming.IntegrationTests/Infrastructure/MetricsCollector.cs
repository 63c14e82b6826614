using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>One measurement as a <see cref="MeterListener"/> saw it.</summary>
public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

/// <summary>
/// Listens to one app's <c>OpenAiStreaming</c> meter (by its meter factory, so tests running side by side do not mix)
/// and lets a test wait until the measurements say what it expects.
/// </summary>
public sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();
    private readonly SemaphoreSlim _recorded = new(0);

    private readonly string? _model;

    /// <summary>Listens to the meter of <paramref name="services"/>' meter factory; with <paramref name="model"/>, to
    /// that model's measurements only.</summary>
    public MetricsCollector(IServiceProvider services, string? model = null)
    {
        _model = model;
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OpenAiStreamingMetricNames.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public IReadOnlyList<Measurement> Of(string instrument) => [.. _measurements.Where(m => m.Instrument == instrument)];

    public double Sum(string instrument) => Of(instrument).Sum(m => m.Value);

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking after each new measurement.</summary>
    public async Task WaitUntilAsync(Func<MetricsCollector, bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition(this))
        {
            try
            {
                await _recorded.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _recorded.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        if (_model is not null && !Equals(copy.GetValueOrDefault(OpenAiStreamingMetricNames.ModelTag), _model))
        {
            return;
        }

        _measurements.Enqueue(new Measurement(instrument.Name, value, copy));
        _recorded.Release();
    }
}
