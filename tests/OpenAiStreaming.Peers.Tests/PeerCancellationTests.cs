using System.Diagnostics;
using OpenAiStreaming.Peers.Tests.Infrastructure;

namespace OpenAiStreaming.Peers.Tests;

/// <summary>A client that goes away stops its generation, which every peer counts and records for the load generator.</summary>
public sealed class PeerCancellationTests
{
    [Theory]
    [MemberData(nameof(PeerServer.Impls), MemberType = typeof(PeerServer))]
    public async Task ChatCompletions_ClientAborts_GenerationStopsAndIsRecorded(string impl)
    {
        await using var peer = await PeerServer.StartAsync(impl, intervalMs: 20);
        string benchId = $"abort-{impl}-{Guid.NewGuid():N}";
        long abortedNs;
        using (var response = await peer.PostStreamAsync(maxTokens: 100_000, benchId))
        {
            await using var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
            var capture = new SseCapture();
            await foreach (var _ in capture.ReadEventsAsync(stream, TestContext.Current.CancellationToken))
            {
                if (capture.Events.Count == 4)
                {
                    break;
                }
            }

            Assert.Equal(4, capture.Events.Count);

            Assert.Equal(1, (await peer.StatsAsync()).GetProperty("active").GetInt32());
            abortedNs = MonotonicNanoseconds();
        }

        var stats = await peer.WaitForStatsAsync(s => s.GetProperty("active").GetInt32() == 0 && s.GetProperty("cancelled").GetInt32() == 1);

        Assert.Equal(0, stats.GetProperty("active").GetInt32());
        Assert.Equal(1, stats.GetProperty("started").GetInt32());
        Assert.Equal(0, stats.GetProperty("completed").GetInt32());
        Assert.Equal(1, stats.GetProperty("cancelled").GetInt32());
        var record = Assert.Single(stats.GetProperty("cancellations").EnumerateArray());
        Assert.Equal(benchId, record.GetProperty("id").GetString());

        // Same clock (CLOCK_MONOTONIC) in this process and in the peer, which stops after the abort.
        long latencyNs = record.GetProperty("stopped_ns").GetInt64() - abortedNs;
        Assert.InRange(latencyNs, 0, 5_000_000_000);
    }

    private static long MonotonicNanoseconds() => (long)((Int128)Stopwatch.GetTimestamp() * 1_000_000_000 / Stopwatch.Frequency);
}
