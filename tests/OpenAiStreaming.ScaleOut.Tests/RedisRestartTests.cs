using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAiStreaming.ScaleOut.Tests.Infrastructure;

namespace OpenAiStreaming.ScaleOut.Tests;

/// <summary>
/// redis-server killed and started again under three sample replicas, through the HTTP endpoints: every reader in
/// flight ends visibly, new background responses get 503 with <c>Retry-After</c> while Redis is away, and work again
/// once it is back.
/// </summary>
public sealed class RedisRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RedisKilledMidGeneration_ReadersEndWithErrorEvent_NewResponses503ThenWorkOnceBack()
    {
        await using var redis = await RedisServer.StartAsync();
        var replicas = await RedisReplicaTests.StartReplicasAsync(redis, "--TinyModel:TokenDelay=00:00:00.020");
        try
        {
            var clients = replicas.Select(r => TestApp.CreateClient(r.BaseAddress)).ToArray();
            try
            {
                // One long background response generated on each replica, read live through the next replica and
                // through the one that generates it.
                var ids = await Task.WhenAll(clients.Select(c => RedisReplicaTests.CreateBackgroundAsync(c, maxOutputTokens: 5000)));
                var readers = ids.SelectMany((id, i) => new[]
                {
                    ResponseEvents.Start(clients[(i + 1) % 3], $"v1/responses/{id}?stream=true", enoughCount: 5),
                    ResponseEvents.Start(clients[i], $"v1/responses/{id}?stream=true&starting_after=2", enoughCount: 3),
                }).ToArray();
                await Task.WhenAll(readers.Select(r => r.Enough)).WaitAsync(TimeSpan.FromSeconds(30), Ct);

                long killed = Stopwatch.GetTimestamp();
                await redis.KillAsync();

                // Never a hang: every reader ends, bounded; never a silent truncation: the last event says it failed.
                await Task.WhenAll(readers.Select(r => r.Ended)).WaitAsync(TimeSpan.FromSeconds(30), Ct);
                var ended = Stopwatch.GetElapsedTime(killed);
                foreach (var reader in readers)
                {
                    var events = reader.Events;
                    Assert.True(events.Count > 0);
                    var last = events[^1];
                    Assert.True(last.Type is "error" or "response.failed", $"the stream ended with {last.Type}: {last.Data}");
                    if (last.Type == "error")
                    {
                        // The error event, then the connection aborted: no client can take it for a complete stream.
                        Assert.Contains("store_unavailable", last.Data, StringComparison.Ordinal);
                        Assert.NotNull(await reader.Ended);
                    }

                    var numbered = events.Where(e => e.SequenceNumber >= 0).ToList();
                    Assert.Equal(Enumerable.Range(0, numbered.Count).Select(i => numbered[0].SequenceNumber + i), numbered.Select(e => e.SequenceNumber));
                    Assert.DoesNotContain(events, e => e.Type is "response.completed" or "response.incomplete");
                }

                // While Redis is away, a new background response is turned away before any byte, with Retry-After.
                foreach (var client in clients)
                {
                    using var refused = await PostBackgroundAsync(client);
                    string json = await refused.Content.ReadAsStringAsync(Ct);
                    Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"{refused.StatusCode}: {json}");
                    Assert.NotNull(refused.Headers.RetryAfter);
                    var error = JsonDocument.Parse(json).RootElement.GetProperty("error");
                    Assert.Equal("store_unavailable", error.GetProperty("code").GetString());
                }

                await redis.StartAgainAsync();
                long restarted = Stopwatch.GetTimestamp();

                // Back: each replica reconnects by itself. A client that honours Retry-After gets through, bounded.
                var newIds = await Task.WhenAll(clients.Select(CreateHonouringRetryAfterAsync));
                var backAfter = Stopwatch.GetElapsedTime(restarted);
                var followers = newIds.Select((id, i) => ResponseEvents.Start(clients[(i + 2) % 3], $"v1/responses/{id}?stream=true")).ToArray();
                foreach (var follower in followers)
                {
                    Assert.Null(await follower.Ended.WaitAsync(TimeSpan.FromSeconds(60), Ct));
                    var events = follower.Events;
                    Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.SequenceNumber));
                    Assert.Equal("response.created", events[0].Type);
                    Assert.Contains(events[^1].Type, new[] { "response.completed", "response.incomplete" });
                }

                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"redis-server SIGKILLed under {readers.Length} live readers of 3 background responses on 3 replicas: all ended visibly " +
                    $"{ended.TotalMilliseconds:F0} ms later ({string.Join(", ", readers.GroupBy(r => r.Events[^1].Type).Select(g => $"{g.Count()} {g.Key}"))}); " +
                    $"after the restart, a new background response on every replica within {backAfter.TotalMilliseconds:F0} ms");
            }
            finally
            {
                foreach (var client in clients)
                {
                    client.Dispose();
                }
            }
        }
        finally
        {
            await RedisReplicaTests.DisposeAllAsync(replicas);
        }
    }

    private static Task<HttpResponseMessage> PostBackgroundAsync(HttpClient client, int maxOutputTokens = 40)
    {
        string body = $$"""{"model":"tiny-char-lm","input":"Tell me about streams.","max_output_tokens":{{maxOutputTokens}},"background":true}""";
        return client.PostAsync("v1/responses", new StringContent(body, Encoding.UTF8, "application/json"), Ct);
    }

    /// <summary>Creates a background response as a well-behaved client does: on 503, again after <c>Retry-After</c>, for at most 30 s.</summary>
    private static async Task<string> CreateHonouringRetryAfterAsync(HttpClient client)
    {
        var elapsed = Stopwatch.StartNew();
        while (true)
        {
            using var created = await PostBackgroundAsync(client);
            string json = await created.Content.ReadAsStringAsync(Ct);
            if (created.StatusCode == HttpStatusCode.OK)
            {
                return JsonDocument.Parse(json).RootElement.GetProperty("id").GetString()!;
            }

            Assert.True(created.StatusCode == HttpStatusCode.ServiceUnavailable, $"{created.StatusCode}: {json}");
            var retryAfter = created.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(30), $"still 503 {elapsed.Elapsed} after Redis came back: {json}");
            await Task.Delay(retryAfter.Value, Ct);
        }
    }
}
