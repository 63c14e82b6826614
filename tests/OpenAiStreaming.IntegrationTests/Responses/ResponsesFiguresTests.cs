using System.Diagnostics;
using System.Net;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>
/// The Responses API's figures (docs/responses.md quotes them): cancel latency, resume latency, and the memory of 1,000
/// background responses with three readers each. Timing-sensitive: they run alone.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class ResponsesFiguresTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Cancel_InProgress_ModelStopsWithin100msP99_StatusCancelled_Idempotent()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(2));
        await using var app = await TestApp.StartAsync(backend);
        var latencies = new Latencies();
        string? lastId = null;
        for (int i = 0; i < 30; i++)
        {
            string id = await BackgroundResponsesTests.CreateBackgroundAsync(app);
            var generation = await backend.Generations.Reader.ReadAsync(Ct);
            long sent = Stopwatch.GetTimestamp();
            using var cancel = await app.Client.PostAsync($"v1/responses/{id}/cancel", null, Ct);
            await generation.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
            latencies.Add(sent, generation.CancelledAt);
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            Assert.Equal("cancelled", (await ResponseStream.JsonAsync(cancel)).GetProperty("status").GetString());
            lastId = id;
        }

        using var again = await app.Client.PostAsync($"v1/responses/{lastId}/cancel", null, Ct);
        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{lastId}?stream=true"));

        latencies.Report("cancel request sent -> model's token fired");
        Assert.True(latencies.Percentile(99) < 100, $"p99 {latencies.Percentile(99):F1} ms");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("cancelled", (await ResponseStream.JsonAsync(again)).GetProperty("status").GetString());
        Assert.Null(failure);
        Assert.Equal("response.cancelled", events[^1].Type);
    }


    [Fact]
    public async Task Resume_CompletedResponseOf200Events_RequestToFirstReplayedEventP50P99()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(200), TimeSpan.Zero));
        string id = await BackgroundResponsesTests.CreateBackgroundAsync(app);
        await BackgroundResponsesTests.WaitForStatusAsync(app, id, "completed");
        var (_, all, _) = await ResponseStream.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true"));
        var latencies = new Latencies();
        var random = new Random(7);

        for (int i = 0; i < 200; i++)
        {
            int after = random.Next(-1, all.Count - 1);
            long sent = Stopwatch.GetTimestamp();
            using var response = await app.Client.SendAsync(
                new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true&starting_after={after}"), HttpCompletionOption.ResponseHeadersRead, Ct);
            var events = new List<ResponseStreamEvent>();
            await ResponseStream.ReadAsync(response, events, 1);
            latencies.Add(sent, Stopwatch.GetTimestamp());
            Assert.Equal(after + 1, events[0].SequenceNumber);
        }

        latencies.Report("resume request sent -> first replayed event");
        Assert.True(latencies.Percentile(99) < 1000, $"p99 {latencies.Percentile(99):F1} ms");
    }

    [Fact]
    public async Task Background1000With3ReadersEach_EveryReaderGetsEveryEventOnce_MemoryReported()
    {
        const int Responses = 1000;
        const int Readers = 3;
        const int Tokens = 100;
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(Tokens), TimeSpan.FromMilliseconds(10));
        await using var app = await TestApp.StartAsync(backend);
        using var client = TestApp.CreateClient(app.BaseAddress);
        GC.Collect();
        long rssBefore = Environment.WorkingSet;
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long peakRss = rssBefore;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakRss = Math.Max(peakRss, Environment.WorkingSet);
                await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
            }
        }, CancellationToken.None);
        long start = Stopwatch.GetTimestamp();

        var ids = await Task.WhenAll(Enumerable.Range(0, Responses).Select(_ => BackgroundResponsesTests.CreateBackgroundAsync(app)));
        var reads = ids.SelectMany(id => Enumerable.Range(0, Readers).Select(async _ =>
        {
            var (response, events, failure) = await ResponseStream.ReadAllAsync(client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true"));
            response.Dispose();
            return (events.Count, Ok: failure is null && events.Select(e => e.SequenceNumber).SequenceEqual(Enumerable.Range(0, events.Count).Select(n => (long)n))
                && events[^1].Type == "response.completed");
        })).ToList();
        var results = await Task.WhenAll(reads);
        var elapsed = Stopwatch.GetElapsedTime(start);
        await sampling.CancelAsync();
        await sampler;
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);

        Assert.All(results, r => Assert.True(r.Ok));
        Assert.Equal(Responses * Readers, results.Length);
        int eventsPerResponse = results[0].Count;
        Assert.All(results, r => Assert.Equal(eventsPerResponse, r.Count));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Responses} background responses x {Readers} readers, {eventsPerResponse} events each ({Tokens} tokens): all {results.Length} readers got every event once in {elapsed.TotalSeconds:F1} s; "
            + $"managed heap +{(heapAfter - heapBefore) / 1024.0 / 1024.0:F1} MiB after; "
            + $"process RSS {rssBefore / 1024.0 / 1024.0:F0} MiB before, peak {peakRss / 1024.0 / 1024.0:F0} MiB (test host, server and 3,000 client streams in one process)");
    }
}
