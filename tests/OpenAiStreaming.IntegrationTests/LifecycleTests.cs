using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.IntegrationTests.Infrastructure;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Faults a stream meets in production, on a real Kestrel: clients that leave at any moment, clients that stop
/// reading, time limits, overload. Each proves the generation stops and the answer never looks complete when it is not.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class LifecycleTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Disconnect_BeforeFirstToken_CancelsGenerationPromptly()
    {
        // The first token would take a minute: only the disconnect can end these generations.
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10), i => i == 0 ? TimeSpan.FromMinutes(1) : TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);
        var latencies = new Latencies();

        for (int i = 0; i < 30; i++)
        {
            long leftAt = await OpenReadAndLeaveAsync(app.Client, Sse.ChatBody(), events: 1); // the role chunk
            var generation = await backend.Generations.Reader.ReadAsync(Ct).AsTask().WaitAsync(s_wait, Ct);
            await generation.Cancelled.Task.WaitAsync(s_wait, Ct);
            await generation.Finished.Task.WaitAsync(s_wait, Ct);
            latencies.Add(leftAt, generation.CancelledAt);
            Assert.Equal(0, generation.Emitted);
        }

        latencies.Report("cancellation latency, before the first token");
        Assert.True(latencies.Percentile(99) < 1000, "a disconnect took over a second to reach the model");
    }

    [Fact]
    public async Task Disconnect_MidStreamAtRandomPoints_CancelsEveryGeneration()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(2));
        await using var app = await TestApp.StartAsync(backend);
        var random = new Random(20261121);
        var latencies = new Latencies();

        for (int i = 0; i < 30; i++)
        {
            long leftAt = await OpenReadAndLeaveAsync(app.Client, Sse.ChatBody(), events: random.Next(2, 40));
            var generation = await backend.Generations.Reader.ReadAsync(Ct).AsTask().WaitAsync(s_wait, Ct);
            int emittedWhenLeft = generation.Emitted;
            bool cancelled = await Task.WhenAny(generation.Cancelled.Task, Task.Delay(s_wait, Ct)) == generation.Cancelled.Task;
            Assert.True(cancelled, $"stream {i}: not cancelled within {s_wait.TotalSeconds} s of the disconnect; the model had emitted {emittedWhenLeft} tokens then and {generation.Emitted} now");
            await generation.Finished.Task.WaitAsync(s_wait, Ct);
            latencies.Add(leftAt, generation.CancelledAt);
            Assert.True(generation.Emitted < 100_000 - 1, "the generation ran to its end");
        }

        latencies.Report("cancellation latency, mid-stream");
        Assert.True(latencies.Percentile(99) < 1000, "a disconnect took over a second to reach the model");
    }

    [Fact]
    public async Task Disconnect_WhileWaitingForAdmission_NeverStartsGenerationAndLeavesQueue()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10), i => i == 0 ? TimeSpan.FromMinutes(1) : TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend, o =>
        {
            o.MaxConcurrentStreams = 1;
            o.MaxQueuedStreams = 1;
        });

        // The blocker holds the model's one slot.
        using var blocker = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        var blocking = await backend.Generations.Reader.ReadAsync(Ct).AsTask().WaitAsync(s_wait, Ct);

        using var disconnects = Meters.Collect<long>(app, OpenAiStreamingMetricNames.ClientDisconnects);
        for (int i = 1; i <= 10; i++)
        {
            // A queued streaming request gets its headers and role chunk at once, then leaves while it waits.
            await OpenReadAndLeaveAsync(app.Client, Sse.ChatBody(), events: 1);
            await disconnects.WaitForMeasurementsAsync(i, s_wait);
        }

        Assert.All(disconnects.GetMeasurementSnapshot(), m => Assert.Equal("waiting", m.Tags[OpenAiStreamingMetricNames.PhaseTag]));

        // Had any of them stayed in the one-place queue, this one would get 429.
        using var queued = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        Assert.Equal(1, backend.StartedCount);

        // And when the slot frees, it is admitted and its generation starts.
        blocker.Dispose();
        await blocking.Cancelled.Task.WaitAsync(s_wait, Ct);
        var admitted = await backend.Generations.Reader.ReadAsync(Ct).AsTask().WaitAsync(s_wait, Ct);
        Assert.Equal(2, backend.StartedCount);
        queued.Dispose();
        await admitted.Cancelled.Task.WaitAsync(s_wait, Ct);
    }

    [Fact]
    public async Task SlowClient_Stops_ModelFinishesAnywayAndClientLaterGetsEveryTokenInOrder()
    {
        // 100,000 one-character tokens as fast as the model can: 200 KB in memory, under the 1 MiB cap.
        var tokens = Enumerable.Range(0, 100_000).Select(i => ((char)('a' + (i % 26))).ToString()).ToList();
        var backend = new ScriptedChatClient(tokens, TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);

        using var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        var clock = Stopwatch.StartNew();
        await backend.Finished.Task.WaitAsync(s_wait, Ct); // nobody is reading
        TestContext.Current.TestOutputHelper?.WriteLine($"the model finished 100,000 tokens for a client that did not read in {clock.ElapsedMilliseconds} ms");
        Assert.False(backend.Cancelled.Task.IsCompleted);

        var events = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(Ct))
        {
            events.Add(item.Data);
        }

        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(string.Concat(tokens), string.Concat(Sse.Contents(events)));
        Assert.True(events.Count < tokens.Count, "no deltas were merged: the pump did not coalesce for the slow client");
    }

    [Fact]
    public async Task SlowClient_PastBufferCap_GetsClearErrorAndModelIsCancelled()
    {
        // Long tokens, endless: whatever the socket buffers hold, the 64 KiB cap is reached while nobody reads.
        var backend = new ScriptedChatClient(Enumerable.Repeat(new string('x', 200), 1_000_000).ToList(), TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend, o => o.MaxBufferedBytes = 64 * 1024);

        using var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        await backend.Cancelled.Task.WaitAsync(s_wait, Ct);
        await backend.Finished.Task.WaitAsync(s_wait, Ct);

        var events = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync(Ct);
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var item in SseParser.Create(body).EnumerateAsync(Ct))
            {
                events.Add(item.Data);
            }
        });

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.DoesNotContain("[DONE]", events);
        Assert.Contains("\"code\":\"client_too_slow\"", events[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxStreamDuration_Exceeded_ErrorEventAbortAndModelCancelled()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(1000), TimeSpan.FromMilliseconds(20));
        await using var app = await TestApp.StartAsync(backend, o => o.MaxStreamDuration = TimeSpan.FromMilliseconds(300));

        var (events, failure) = await Sse.ReadUntilFailureAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.Contains("\"code\":\"timeout\"", events[^1], StringComparison.Ordinal);
        Assert.NotEmpty(Sse.Contents(events.SkipLast(1)));
        await backend.Cancelled.Task.WaitAsync(s_wait, Ct);
    }

    [Fact]
    public async Task Admission_AllSlotsBusyAndNoQueue_429WithRetryAfter()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10), i => i == 0 ? TimeSpan.FromMinutes(1) : TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend, o => o.MaxConcurrentStreams = 2);

        using var first = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        using var second = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        using var third = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), Ct);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), third.Headers.RetryAfter?.Delta);
        Assert.Contains("\"type\":\"rate_limit_exceeded\"", await third.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(2, backend.StartedCount);
    }

    [Fact]
    public async Task Admission_Queued_HeartbeatsWhileWaitingThenStreams()
    {
        var gate = new TaskCompletionSource();
        int call = 0;
        var backend = new ScriptedChatClient(["done"], _ => Interlocked.Increment(ref call) == 1 ? TimeSpan.FromMilliseconds(400) : TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend, o =>
        {
            o.MaxConcurrentStreams = 1;
            o.MaxQueuedStreams = 1;
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        });

        var first = Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));
        await backend.Started.Task.WaitAsync(s_wait, Ct);
        using var second = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, Ct);
        string raw = await second.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.True(raw.Split(": keep-alive").Length - 1 >= 2, raw);
        Assert.EndsWith("data: [DONE]\n\n", raw, StringComparison.Ordinal);
        Assert.Equal("[DONE]", (await first).Events[^1].Data);
    }

    [Fact]
    public async Task BackendRejectsArgumentsBeforeStreaming_400WithMessage()
    {
        await using var app = await TestApp.StartAsync(new ThrowingChatClient(new ArgumentOutOfRangeException("options", "top_k too large for this model")));

        using var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("top_k too large", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackendFailsBeforeStreaming_500InOpenAiShape()
    {
        await using var app = await TestApp.StartAsync(new ThrowingChatClient(new InvalidOperationException("no GPU")));

        using var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("\"type\":\"server_error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("no GPU", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackendFailsMidStream_HundredConcurrentHealthyStreamsUnaffected()
    {
        var healthy = new ScriptedChatClient(ScriptedChatClient.Words(50), TimeSpan.FromMilliseconds(5));
        var failing = new ScriptedChatClient(ScriptedChatClient.Words(50), TimeSpan.FromMilliseconds(5)) { Failure = new InvalidOperationException("boom"), FailAfter = 10 };
        await using var app = await TestApp.StartAsync(
            builder => builder.Services.AddOpenAiStreaming().AddChatModel("healthy", _ => healthy).AddChatModel("failing", _ => failing),
            app => app.MapOpenAiStreaming());
        using var client = TestApp.CreateClient(app.BaseAddress);

        var healthyStreams = Enumerable.Range(0, 100).Select(_ => Sse.ReadAllAsync(client, Sse.ChatRequest(Sse.ChatBody(model: "healthy")))).ToList();
        var failed = await Sse.ReadUntilFailureAsync(client, Sse.ChatRequest(Sse.ChatBody(model: "failing")));

        Assert.IsAssignableFrom<IOException>(failed.Failure);
        foreach (var stream in healthyStreams)
        {
            var (_, events) = await stream.WaitAsync(s_wait, Ct);
            Assert.Equal("[DONE]", events[^1].Data);
            Assert.Equal(string.Concat(ScriptedChatClient.Words(50)), string.Concat(Sse.Contents(events)));
        }
    }

    /// <summary>Opens a stream, reads <paramref name="events"/> events, and leaves; returns when it left.</summary>
    private static async Task<long> OpenReadAndLeaveAsync(HttpClient client, string body, int events)
    {
        var response = await client.SendAsync(Sse.ChatRequest(body), HttpCompletionOption.ResponseHeadersRead, Ct);
        var stream = await response.Content.ReadAsStreamAsync(Ct);
        await using (var reader = SseParser.Create(stream).EnumerateAsync(Ct).GetAsyncEnumerator(Ct))
        {
            for (int i = 0; i < events; i++)
            {
                Assert.True(await reader.MoveNextAsync());
            }
        }

        long leftAt = Stopwatch.GetTimestamp();
        response.Dispose(); // an unread body cannot be reused: the connection closes
        return leftAt;
    }

    private sealed class ThrowingChatClient(Exception error) : Microsoft.Extensions.AI.IChatClient
    {
        public Task<Microsoft.Extensions.AI.ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw error;

        public IAsyncEnumerable<Microsoft.Extensions.AI.ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw error;

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
