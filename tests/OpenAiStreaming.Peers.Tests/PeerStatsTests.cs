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

    [Theory]
    [InlineData("--impl", "nginx")]
    [InlineData("--interval-ms", "-1")]
    public void Create_BadArgument_Throws(string option, string value)
    {
        string[] args = option == "--impl" ? [option, value] : ["--impl", "ours", option, value];
        Assert.Throws<ArgumentException>(() => PeerApp.Create(args));
    }
}
