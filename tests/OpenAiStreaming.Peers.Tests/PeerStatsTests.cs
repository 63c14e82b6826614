using OpenAiStreaming.Peers.Tests.Infrastructure;
using Peers;

namespace OpenAiStreaming.Peers.Tests;

/// <summary>GET /bench/stats counts generations; POST /bench/reset clears the counts.</summary>
public sealed class PeerStatsTests
{
    [Theory]
    [MemberData(nameof(PeerServer.Impls), MemberType = typeof(PeerServer))]
    public async Task BenchStats_TwoCompletedStreams_CountedThenReset(string impl)
    {
        await using var peer = await PeerServer.StartAsync(impl, intervalMs: 0);
        for (int i = 0; i < 2; i++)
        {
            using var response = await peer.PostStreamAsync(maxTokens: 5, benchId: $"complete-{i}");
            Assert.EndsWith("data: [DONE]\n\n", (await SseCapture.ReadAllAsync(response)).Body, StringComparison.Ordinal);
        }

        var stats = await peer.WaitForStatsAsync(s => s.GetProperty("completed").GetInt32() == 2);

        Assert.Equal(impl, stats.GetProperty("impl").GetString());
        Assert.Equal(0, stats.GetProperty("active").GetInt32());
        Assert.Equal(2, stats.GetProperty("started").GetInt32());
        Assert.Equal(2, stats.GetProperty("completed").GetInt32());
        Assert.Equal(0, stats.GetProperty("cancelled").GetInt32());
        Assert.Empty(stats.GetProperty("cancellations").EnumerateArray());
        Assert.InRange(stats.GetProperty("rss_bytes").GetInt64(), 1 << 20, long.MaxValue);
        Assert.InRange(stats.GetProperty("managed_bytes").GetInt64(), impl == "fastapi" ? 0 : 1, long.MaxValue);

        using var reset = await PeerServer.Client.PostAsync(new Uri(peer.BaseAddress, "/bench/reset"), null, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, reset.StatusCode);
        stats = await peer.StatsAsync();
        Assert.Equal(0, stats.GetProperty("started").GetInt32());
        Assert.Equal(0, stats.GetProperty("completed").GetInt32());
    }

    [Fact]
    public async Task BenchAllocs_WithAllocSample_CountsBytesByType()
    {
        await using var peer = await PeerServer.StartAsync("ours", intervalMs: 0, "--alloc-sample", "true");
        using var response = await peer.PostStreamAsync(maxTokens: 5, benchId: "allocs");
        await SseCapture.ReadAllAsync(response);

        // One sample per about 100 KB allocated in the process: starting a server allocates megabytes.
        string report = await PeerServer.Client.GetStringAsync(new Uri(peer.BaseAddress, "/bench/allocs"), TestContext.Current.CancellationToken);
        var lines = report.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sampled ", lines[0], StringComparison.Ordinal);
        Assert.True(long.Parse(lines[0]["sampled ".Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) > 0, report);
        Assert.Contains(lines.Skip(1), line => line.Contains('%', StringComparison.Ordinal));
    }

    [Fact]
    public async Task BenchGc_WithGcLog_ListsEachCollectionsPause()
    {
        await using var peer = await PeerServer.StartAsync("ours", intervalMs: 0, "--gc-log", "true");
        var uri = new Uri(peer.BaseAddress, "/bench/gc");

        // The peer runs in this process: a collection here is one of its collections. The runtime's events reach the
        // listener on a thread of their own, so the report is read until it lists one.
        string report = "";
        for (int attempt = 0; attempt < 100 && !report.Contains("gen2:", StringComparison.Ordinal); attempt++)
        {
            GC.Collect();
            await Task.Delay(100, TestContext.Current.CancellationToken);
            report = await PeerServer.Client.GetStringAsync(uri, TestContext.Current.CancellationToken);
        }

        Assert.Contains("gen2:", report, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^gen2 +\d+\.\d\d ms", report);

        // A full collection marks from the threads' stacks at least (this test's own frames hold the peer).
        Assert.Matches(@"(?m)^gen2: .*marked from stacks [1-9]\d* KiB", report);

        // It says how long that marking took and what came after it (planning, relocating, compacting), and lists no
        // pause that was not a collection as one.
        Assert.Matches(@"(?m)^gen2: .*marking from stacks p50 \d+\.\d\d ms.*after marking \d+\.\d\d ms", report);
        Assert.Matches(@"(?m)^gen2 +\d+\.\d\d ms .*marked from stacks [1-9]\d* KiB in \d+\.\d\d ms", report);
        Assert.DoesNotMatch(@"(?m)^gen-1", report);
    }

    [Theory]
    [InlineData("--impl", "nginx")]
    [InlineData("--interval-ms", "-1")]
    [InlineData("--alloc-sample", "yes")]
    [InlineData("--gc-log", "1")]
    public void Create_BadArgument_Throws(string option, string value)
    {
        string[] args = option == "--impl" ? [option, value] : ["--impl", "ours", option, value];
        Assert.Throws<ArgumentException>(() => PeerApp.Create(args));
    }
}
