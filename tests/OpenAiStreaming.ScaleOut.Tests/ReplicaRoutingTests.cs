using System.Net;
using System.Text;
using System.Text.Json;
using OpenAiStreaming.ScaleOut.Tests.Infrastructure;

namespace OpenAiStreaming.ScaleOut.Tests;

/// <summary>
/// Three replicas behind the proxies of <c>samples/deploy/</c> (nginx-replicas.conf, haproxy-replicas.cfg): a full replica
/// refuses before any byte, and the proxy sends the request to one that is free, or answers 429 with Retry-After when
/// none is.
/// </summary>
public sealed class ReplicaRoutingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Proxies => ["nginx", "haproxy"];

    [Theory]
    [MemberData(nameof(Proxies))]
    public async Task EveryReplicaFull_ProxyAnswers429WithRetryAfter(string proxy)
    {
        var replicas = await Replica.StartThreeAsync(true, true, true);
        await using var _ = new Disposer(replicas);
        await using var server = await StartProxyAsync(proxy, replicas, out var stats);
        using var statsClient = stats;
        using var client = TestApp.CreateClient(server.BaseAddress);
        if (stats is not null)
        {
            await stats.WaitForAsync("UP", TimeSpan.FromSeconds(10), "r1", "r2", "r3");
        }

        // Three streams through the proxy: least connections puts each on its own replica (a refused one is retried).
        var open = new List<OpenStream>();
        for (int i = 0; i < 3; i++)
        {
            var stream = OpenStream.Start(client, Sse.ChatBody());
            await stream.FirstToken.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            open.Add(stream);
        }

        Assert.All(replicas, r => Assert.Equal(1, r.Model.Started));

        using var refused = await client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), Ct);
        string body = await refused.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("type").GetString());
        Assert.Equal("too_many_requests", error.GetProperty("code").GetString());
        Assert.All(replicas, r => Assert.Equal(1, r.Model.Started)); // a refused request never reached a model

        foreach (var replica in replicas)
        {
            replica.Model.Release();
        }

        foreach (var stream in open)
        {
            Assert.Equal(StreamEnd.Complete, await stream.Ended.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        }
    }

    [Theory]
    [MemberData(nameof(Proxies))]
    public async Task TwoReplicasFullOneFree_NewRequestsLandOnTheFreeOne(string proxy)
    {
        var replicas = await Replica.StartThreeAsync(true, true, false);
        await using var _ = new Disposer(replicas);

        // Filled straight, not through the proxy (another proxy, another client): the proxy learns only from the replicas.
        using var first = await replicas[0].FillAsync();
        using var second = await replicas[1].FillAsync();
        await using var server = await StartProxyAsync(proxy, replicas, out var stats);
        using var statsClient = stats;
        if (stats is not null)
        {
            // HAProxy cannot retry a 429 (2.6): it learns from the readiness checks, once per second.
            await stats.WaitForAsync("DOWN", TimeSpan.FromSeconds(10), "r1", "r2");
            await stats.WaitForAsync("UP", TimeSpan.FromSeconds(10), "r3");
        }

        using var client = TestApp.CreateClient(server.BaseAddress);
        var served = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            using var response = await client.PostAsync("v1/chat/completions", new StringContent(Sse.ChatBody(stream: false), Encoding.UTF8, "application/json"), Ct);
            string body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
            served.Add(JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
        }

        Assert.All(served, s => Assert.Equal("r3 done", s));
        Assert.Equal(6, replicas[2].Model.Started);
        Assert.Equal(1, replicas[0].Model.Started);
        Assert.Equal(1, replicas[1].Model.Started);
    }

    private static Task<ServerProcess> StartProxyAsync(string proxy, Replica[] replicas, out HaproxyStats? stats)
    {
        int[] ports = [.. replicas.Select(r => r.Port)];
        if (proxy == "nginx")
        {
            stats = null;
            return DeployFiles.StartNginxAsync(ports);
        }

        int statsPort = Ports.Free();
        stats = new HaproxyStats(statsPort);
        return DeployFiles.StartHaproxyAsync(ports, statsPort);
    }

    /// <summary>Disposes every replica at the end of a test.</summary>
    private sealed class Disposer(Replica[] replicas) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }
}
