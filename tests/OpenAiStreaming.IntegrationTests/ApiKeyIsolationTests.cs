using System.Diagnostics;
using System.Net;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>One key's flood against another key's latency: loads the machine, so it runs alone.</summary>
[Collection(TimingSensitive.Name)]
public sealed class ApiKeyIsolationTests
{
    /// <summary>
    /// Key A floods (16 clients in a loop, far over its limit) while key B sends 200 requests one after another; B's
    /// latency is the isolation figure in docs/security.md, next to B alone.
    /// </summary>
    [Fact]
    public async Task Flood_OnOneKey_OtherKeyServedEveryTimeAndItsP99Reported()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(8), TimeSpan.Zero);
        await using var app = await ApiKeyLimitTests.StartAsync(backend, ("KeyLimits:RequestsPerMinute", "600"), ("KeyLimits:MaxConcurrentStreams", "4"));
        using var client = TestApp.CreateClient(app.BaseAddress);
        await MeasureAsync(client, 20);  // warm-up: JIT and connections, so neither figure pays for them
        var alone = await MeasureAsync(client, 200);

        using var flooding = new CancellationTokenSource();
        int floodOk = 0, floodRefused = 0;
        var refusedEnough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flood = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            using var floodClient = TestApp.CreateClient(app.BaseAddress);
            while (!flooding.IsCancellationRequested)
            {
                using var request = ApiKeyLimitTests.Request(ApiKeyLimitTests.KeyA, stream: true);
                using var response = await floodClient.SendAsync(request, CancellationToken.None);
                await response.Content.ReadAsStringAsync(CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref floodOk);
                }
                else if (Interlocked.Increment(ref floodRefused) >= 100)
                {
                    refusedEnough.TrySetResult();
                }
            }
        })).ToArray();
        await Task.WhenAny(refusedEnough.Task, Task.WhenAll(flood)).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.True(refusedEnough.Task.IsCompleted, "key A's flood never reached its limit");

        var duringFlood = await MeasureAsync(client, 200);
        await flooding.CancelAsync();
        await Task.WhenAll(flood);

        alone.Report("key B alone");
        duringFlood.Report($"key B while key A floods ({floodOk} served, {floodRefused} refused with 429)");
        Assert.Equal(200, duringFlood.Count);
        Assert.True(floodRefused >= 100);
    }

    private static async Task<Latencies> MeasureAsync(HttpClient client, int count)
    {
        var latencies = new Latencies();
        for (int i = 0; i < count; i++)
        {
            using var request = ApiKeyLimitTests.Request(ApiKeyLimitTests.KeyB, stream: true);
            long start = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
            string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            latencies.Add(start, Stopwatch.GetTimestamp());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("[DONE]", body, StringComparison.Ordinal);
        }

        return latencies;
    }

}
