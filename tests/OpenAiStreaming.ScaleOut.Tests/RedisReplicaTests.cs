using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAiStreaming.ScaleOut.Tests.Infrastructure;

namespace OpenAiStreaming.ScaleOut.Tests;

/// <summary>
/// Three sample servers (processes) sharing a real redis-server through <c>ConnectionStrings:Redis</c>: a background
/// response created through one is resumed through the others, and one whose replica is SIGKILLed ends failed.
/// </summary>
public sealed class RedisReplicaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BackgroundResponse_CreatedOnReplica1_ResumedOnReplicas2And3_EveryEventExactlyOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        var replicas = await StartReplicasAsync(redis, "--TinyModel:TokenDelay=00:00:00.010");
        try
        {
            using var r1 = TestApp.CreateClient(replicas[0].BaseAddress);
            using var r2 = TestApp.CreateClient(replicas[1].BaseAddress);
            using var r3 = TestApp.CreateClient(replicas[2].BaseAddress);
            string id = await CreateBackgroundAsync(r1, maxOutputTokens: 150);

            var all = ResponseEvents.Start(r2, $"v1/responses/{id}?stream=true");
            var rest = ResponseEvents.Start(r3, $"v1/responses/{id}?stream=true&starting_after=20");

            Assert.Null(await all.Ended.WaitAsync(TimeSpan.FromSeconds(60), Ct));
            Assert.Null(await rest.Ended.WaitAsync(TimeSpan.FromSeconds(60), Ct));
            var events = all.Events;
            Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.SequenceNumber));
            Assert.Equal(events.Skip(21).Select(e => e.Data), rest.Events.Select(e => e.Data));
            Assert.Equal("response.created", events[0].Type);
            Assert.Contains(events[^1].Type, new[] { "response.completed", "response.incomplete" });
            using var poll = await r3.GetAsync($"v1/responses/{id}", Ct);
            string status = JsonDocument.Parse(await poll.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("status").GetString()!;
            Assert.Equal(events[^1].Type["response.".Length..], status);
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    [Fact]
    public async Task Replica1KilledMidGeneration_ResponseEndsFailedWithinLeaseTime_ReadersOnOtherReplicasSeeResponseFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        var lease = TimeSpan.FromSeconds(2);
        var replicas = await StartReplicasAsync(redis, "--TinyModel:TokenDelay=00:00:00.020", "--OpenAiStreaming:Redis:LeaseTime=00:00:02");
        try
        {
            using var r2 = TestApp.CreateClient(replicas[1].BaseAddress);
            using var r3 = TestApp.CreateClient(replicas[2].BaseAddress);
            string id;
            using (var r1 = TestApp.CreateClient(replicas[0].BaseAddress))
            {
                id = await CreateBackgroundAsync(r1, maxOutputTokens: 5000);
            }

            var reader2 = ResponseEvents.Start(r2, $"v1/responses/{id}?stream=true", enoughCount: 10);
            var reader3 = ResponseEvents.Start(r3, $"v1/responses/{id}?stream=true&starting_after=3", enoughCount: 1);
            await Task.WhenAll(reader2.Enough, reader3.Enough).WaitAsync(TimeSpan.FromSeconds(30), Ct);

            long killed = Stopwatch.GetTimestamp();
            await replicas[0].KillAsync();

            await Task.WhenAll(reader2.Ended, reader3.Ended).WaitAsync(lease * 5, Ct);
            var detected = Stopwatch.GetElapsedTime(killed);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"replica SIGKILLed mid-generation: response.failed reached readers on the two other replicas {detected.TotalMilliseconds:F0} ms later (lease {lease.TotalSeconds} s)");
            foreach (var reader in new[] { reader2, reader3 })
            {
                var events = reader.Events;
                Assert.Equal("response.failed", events[^1].Type);
                Assert.Equal(Enumerable.Range(0, events.Count).Select(i => events[0].SequenceNumber + i), events.Select(e => e.SequenceNumber));
            }

            Assert.True(detected < lease * 2.5, $"failed after {detected}, lease {lease}");
            using var poll = await r3.GetAsync($"v1/responses/{id}", Ct);
            var stored = JsonDocument.Parse(await poll.Content.ReadAsStringAsync(Ct)).RootElement;
            Assert.Equal("failed", stored.GetProperty("status").GetString());
            Assert.Equal("server_error", stored.GetProperty("error").GetProperty("code").GetString());
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    [Fact]
    public async Task BackgroundResponse_RedisCommandsPerOutputToken_Measured()
    {
        await using var redis = await RedisServer.StartAsync();
        var replicas = await StartReplicasAsync(redis, "--TinyModel:TokenDelay=00:00:00.005");
        try
        {
            using var r1 = TestApp.CreateClient(replicas[0].BaseAddress);
            using var r2 = TestApp.CreateClient(replicas[1].BaseAddress);
            await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
            var server = admin.GetServer(redis.Configuration);
            await server.ConfigResetStatisticsAsync();

            string id = await CreateBackgroundAsync(r1, maxOutputTokens: 200);
            var reader = ResponseEvents.Start(r2, $"v1/responses/{id}?stream=true");
            Assert.Null(await reader.Ended.WaitAsync(TimeSpan.FromSeconds(60), Ct));
            var stats = (await server.InfoAsync("commandstats")).SelectMany(g => g)
                .ToDictionary(p => p.Key.Replace("cmdstat_", "", StringComparison.Ordinal), p => long.Parse(p.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture));
            int deltas = reader.Events.Count(e => e.Type == "response.output_text.delta");
            long scripts = stats.GetValueOrDefault("evalsha") + stats.GetValueOrDefault("eval");
            long reads = stats.GetValueOrDefault("xrange");
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"background response, {deltas} deltas, {reader.Events.Count} events, one reader on another replica: {scripts} scripts (writes, {(double)scripts / deltas:F2} per delta), " +
                $"{reads} XRANGE ({(double)reads / deltas:F2} per delta); all commands: {string.Join(", ", stats.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}");
            Assert.True(deltas > 0);
            Assert.True(scripts <= reader.Events.Count + 5, $"{scripts} scripts for {reader.Events.Count} events: more than one write per event");
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    internal static async Task<SampleReplica[]> StartReplicasAsync(RedisServer redis, params string[] settings)
    {
        string[] all = [$"--ConnectionStrings:Redis={redis.Configuration}", "--OpenAiStreaming:Redis:PollInterval=00:00:00.100", .. settings];
        return await SampleReplica.StartThreeAsync([Ports.Free(), Ports.Free(), Ports.Free()], all);
    }

    internal static async Task<string> CreateBackgroundAsync(HttpClient client, int maxOutputTokens)
    {
        string body = $$"""{"model":"tiny-char-lm","input":"Tell me about streams.","max_output_tokens":{{maxOutputTokens}},"background":true}""";
        using var created = await client.PostAsync("v1/responses", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        string json = await created.Content.ReadAsStringAsync(Ct);
        Assert.True(created.StatusCode == HttpStatusCode.OK, $"{created.StatusCode}: {json}");
        return JsonDocument.Parse(json).RootElement.GetProperty("id").GetString()!;
    }

    internal static async Task DisposeAllAsync(SampleReplica[] replicas)
    {
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }
    }
}
