using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.Metrics.Tests;

/// <summary>The meter and its instruments as a listener sees them: names, kinds, units, bucket advice.</summary>
public sealed class OpenAiStreamingMetricsTests : IDisposable
{
    // The OpenTelemetry GenAI semantic conventions' advice, as written in REFERENCE.md.
    private static readonly double[] s_ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    private static readonly double[] s_tpotBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

    private readonly MetricsHarness _m = new();

    public void Dispose() => _m.Dispose();

    public static TheoryData<string, string, string> AllInstruments => new()
    {
        { TimeToFirstToken, "Histogram", "s" },
        { TimePerOutputToken, "Histogram", "s" },
        { RequestDuration, "Histogram", "s" },
        { InterTokenLatency, "Histogram", "s" },
        { QueueWait, "Histogram", "s" },
        { FlushDuration, "Histogram", "s" },
        { ActiveStreams, "UpDownCounter", "{stream}" },
        { QueuedRequests, "UpDownCounter", "{request}" },
        { ClientDisconnects, "Counter", "{disconnect}" },
        { Heartbeats, "Counter", "{heartbeat}" },
        { Chunks, "Counter", "{chunk}" },
        { Bytes, "Counter", "By" },
        { CoalescedDeltas, "Counter", "{delta}" },
        { Tokens, "Counter", "{token}" },
        { Requests, "Counter", "{request}" },
    };

    [Theory]
    [MemberData(nameof(AllInstruments))]
    public void Instrument_HasItsKindUnitAndDescription(string name, string kind, string unit)
    {
        var instrument = _m.Instruments[name];

        Assert.Equal(unit, instrument.Unit);
        Assert.False(string.IsNullOrWhiteSpace(instrument.Description));
        Assert.Equal(kind, instrument.GetType().Name.Split('`')[0]);
        Assert.Equal(kind == "Histogram" ? typeof(Histogram<double>) : kind == "Counter" ? typeof(Counter<long>) : typeof(UpDownCounter<long>), instrument.GetType());
    }

    [Fact]
    public void Meter_IsOpenAiStreaming_FromTheFactory_WithEveryInstrument()
    {
        Assert.Equal(AllInstruments.Count(), _m.Instruments.Count);
        Assert.All(_m.Instruments.Values, i =>
        {
            Assert.Equal("OpenAiStreaming", i.Meter.Name);
            Assert.Same(_m.Factory, i.Meter.Scope);
        });
    }

    [Fact]
    public void Ttft_BucketAdvice_IsTheGenAiConventions()
    {
        Assert.Equal(s_ttftBuckets, Buckets(TimeToFirstToken));
    }

    [Fact]
    public void Tpot_BucketAdvice_IsTheGenAiConventions()
    {
        Assert.Equal(s_tpotBuckets, Buckets(TimePerOutputToken));
    }

    [Fact]
    public void RequestDuration_BucketAdvice_DoublesFrom10msTo81_92s()
    {
        var buckets = Buckets(RequestDuration);

        Assert.Equal(14, buckets.Count);
        Assert.Equal(0.01, buckets[0]);
        Assert.Equal(81.92, buckets[^1]);
        for (int i = 1; i < buckets.Count; i++)
        {
            Assert.Equal(buckets[i - 1] * 2, buckets[i], 12);
        }
    }

    [Theory]
    [InlineData(InterTokenLatency)]
    [InlineData(QueueWait)]
    [InlineData(FlushDuration)]
    public void OwnHistograms_HaveAscendingBucketAdvice(string name)
    {
        var buckets = Buckets(name);

        Assert.True(buckets.Count >= 10);
        Assert.True(buckets.Zip(buckets.Skip(1)).All(p => p.First < p.Second), "bucket boundaries must ascend");
    }

    [Fact]
    public void TwoFactories_DoNotMix()
    {
        using var other = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var otherMetrics = new OpenAiStreamingMetrics(other.GetRequiredService<IMeterFactory>());

        otherMetrics.StartRequest("other", "chat", _m.Time.GetTimestamp(), _m.Time).End(RequestOutcome.Completed("stop", 1, 1));

        Assert.Empty(_m.Of(ActiveStreams));
        Assert.Empty(_m.Of(Requests));
    }

    [Fact]
    public void NoListener_RecordingIsHarmless()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new OpenAiStreamingMetrics(services.GetRequiredService<IMeterFactory>());
        var time = new FakeTimeProvider();

        var request = metrics.StartRequest("m", "chat", time.GetTimestamp(), time);
        request.Queued();
        request.Admitted();
        request.Flushed(1, 10, time.GetTimestamp(), hadContent: true);
        request.End(RequestOutcome.Completed("stop", 1, 1));

        Assert.Equal(RequestPhase.Streaming, request.Phase);
    }

    [Fact]
    public void Constructor_NullFactory_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new OpenAiStreamingMetrics(null!));
    }

    private IReadOnlyList<double> Buckets(string name)
    {
        var histogram = Assert.IsType<Histogram<double>>(_m.Instruments[name]);
        return Assert.IsAssignableFrom<IReadOnlyList<double>>(histogram.Advice?.HistogramBucketBoundaries);
    }
}
