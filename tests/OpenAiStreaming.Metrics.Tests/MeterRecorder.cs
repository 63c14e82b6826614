using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace OpenAiStreaming.Metrics.Tests;

/// <summary>One measurement as the listener saw it.</summary>
public sealed record Recorded(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags)
{
    public string? Tag(string name) => (string?)Tags.GetValueOrDefault(name);
}

/// <summary>
/// The instruments of one private <see cref="IMeterFactory"/> (<c>ServiceCollection().AddMetrics()</c>), and a
/// <see cref="MeterListener"/> that records only that factory's meter, so tests running side by side do not mix.
/// </summary>
public sealed class MeterRecorder : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _listener = new();
    private readonly List<Recorded> _recorded = [];
    private readonly Dictionary<string, Instrument> _instruments = [];

    public MeterRecorder()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Factory = _services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, Factory))
            {
                lock (_instruments)
                {
                    _instruments[instrument.Name] = instrument;
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
        Metrics = new OpenAiStreamingMetrics(Factory);
    }

    public IMeterFactory Factory { get; }

    public OpenAiStreamingMetrics Metrics { get; }

    public ManualTimeProvider Time { get; } = new();

    /// <summary>The instruments published by <see cref="Factory"/>, by name.</summary>
    public IReadOnlyDictionary<string, Instrument> Instruments
    {
        get
        {
            lock (_instruments)
            {
                return new Dictionary<string, Instrument>(_instruments);
            }
        }
    }

    /// <summary>Starts a chat request for <c>m</c> that arrives now.</summary>
    public RequestMetrics Start(string model = "m", string operation = "chat") =>
        Metrics.StartRequest(model, operation, Time.GetTimestamp(), Time);

    public IReadOnlyList<Recorded> Of(string instrument)
    {
        lock (_recorded)
        {
            return [.. _recorded.Where(m => m.Instrument == instrument)];
        }
    }

    public double Sum(string instrument) => Of(instrument).Sum(m => m.Value);

    public void Clear()
    {
        lock (_recorded)
        {
            _recorded.Clear();
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            Assert.False(copy.ContainsKey(tag.Key), $"tag {tag.Key} twice on {instrument.Name}");
            copy[tag.Key] = tag.Value;
        }

        lock (_recorded)
        {
            _recorded.Add(new Recorded(instrument.Name, value, copy));
        }
    }
}
