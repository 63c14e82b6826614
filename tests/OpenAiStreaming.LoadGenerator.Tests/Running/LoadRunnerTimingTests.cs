using OpenAiStreaming.LoadGenerator.Running;
using OpenAiStreaming.LoadGenerator.Tests.Infrastructure;

namespace OpenAiStreaming.LoadGenerator.Tests.Running;

/// <summary>The runner's latencies against a server with known delays; alone, so that other tests do not delay reads.</summary>
[Collection(TimingSensitive.Name)]
public sealed class LoadRunnerTimingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunAsync_KnownSchedule_ExactCountsAndLatenciesAtLeastTheServersDelays()
    {
        var firstDelay = TimeSpan.FromMilliseconds(60);
        var interval = TimeSpan.FromMilliseconds(10);
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 20, FirstDelay = firstDelay, Interval = interval, Heartbeats = true });

        using var runner = new LoadRunner(new LoadOptions
        {
            BaseUrl = server.BaseAddress,
            Model = ScriptedServer.ModelId,
            Concurrency = 3,
            Requests = 6,
        });

        var result = await runner.RunAsync(Ct);

        Assert.Equal(0, result.Errors);
        Assert.Equal(6, result.RequestsSent);
        Assert.Equal(6, result.RequestsOk);
        Assert.Equal(120, result.Events);
        Assert.Equal(120, result.Tokens);
        Assert.Equal(6, result.TtftMs.Count);
        Assert.Equal(6 * 19, result.ItlMs.Count);
        Assert.Equal(6, result.TpotMs.Count);
        Assert.Equal(6, result.E2eMs.Count);
        Assert.True(result.TtftMs.Min >= firstDelay.TotalMilliseconds, $"TTFT {result.TtftMs.Min} ms < the server's first delay");
        Assert.True(result.ItlMs.P50 >= interval.TotalMilliseconds, $"ITL p50 {result.ItlMs.P50} ms < the interval");
        // A gap looks shorter than the server's when the read before it was late (a busy machine), so some may; a
        // reader that batched events, or a server that did, would make most of them short.
        long shortGaps = result.ItlHistogram.Where(b => b.UpperBoundMs <= interval.TotalMilliseconds / 2).Sum(b => b.Count);
        Assert.True(shortGaps <= result.ItlMs.Count / 5, $"{shortGaps} of {result.ItlMs.Count} gaps shorter than half the interval");
        Assert.True(result.ItlMs.Mean >= interval.TotalMilliseconds * 0.9, $"ITL mean {result.ItlMs.Mean} ms");
        Assert.True(result.TpotMs.Min >= interval.TotalMilliseconds * 0.9, $"TPOT {result.TpotMs.Min} ms < the interval");
        Assert.True(result.E2eMs.Min >= (firstDelay + (interval * 19)).TotalMilliseconds);
        Assert.True(result.DurationS * 1000 >= result.E2eMs.Max);
        Assert.Equal(result.Events / result.DurationS, result.EventsPerS, 6);
        Assert.Equal(6 * 19, result.ItlHistogram.Sum(b => b.Count));
        Assert.Null(result.ServerJson);
        Assert.Null(result.CancelMs);
        Assert.Null(result.LeftRunning);
    }
}
