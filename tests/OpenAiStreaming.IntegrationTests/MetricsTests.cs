using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAiStreaming.IntegrationTests.Infrastructure;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>The meter against a backend with a known pace, read with <see cref="MetricCollector{T}"/>.</summary>
[Collection(TimingSensitive.Name)]
public sealed class MetricsTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task KnownPace_TtftAndTpotMatchIt()
    {
        // First token after 300 ms, then one every 30 ms.
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(20), i => TimeSpan.FromMilliseconds(i == 0 ? 300 : 30));
        await using var app = await TestApp.StartAsync(
            builder => builder.Services.AddOpenAiStreaming()
                .AddChatModel("test-model", _ => backend)
                .AddChatModel("warm-up", _ => new ScriptedChatClient(["x"], TimeSpan.Zero)),
            app => app.MapOpenAiStreaming());

        // A first request through a fresh app pays for JIT compilation; the measured one must not.
        await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody(model: "warm-up")));
        using var duration = Meters.Collect<double>(app, RequestDuration);
        using var ttfts = Meters.Collect<double>(app, TimeToFirstToken);
        using var tpots = Meters.Collect<double>(app, TimePerOutputToken);
        using var interTokenLatencies = Meters.Collect<double>(app, InterTokenLatency);
        using var flushes = Meters.Collect<double>(app, FlushDuration);
        using var requests = Meters.Collect<long>(app, Requests);
        using var tokens = Meters.Collect<long>(app, Tokens);
        using var chunks = Meters.Collect<long>(app, Chunks);
        using var bytes = Meters.Collect<long>(app, Bytes);
        using var activeStreams = Meters.Collect<long>(app, ActiveStreams);
        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));
        await Meters.WaitUntilAsync(() => duration.ForModel("test-model").Count == 1, "the request to end", duration);

        Assert.Equal("[DONE]", events[^1].Data);
        var ttft = Assert.Single(ttfts.ForModel("test-model"));
        Assert.InRange(ttft.Value, 0.30, 0.3999);
        var tpot = Assert.Single(tpots.ForModel("test-model"));
        TestContext.Current.TestOutputHelper?.WriteLine($"TTFT {ttft.Value:F4} s, TPOT {tpot.Value:F4} s (backend: 300 ms, then 30 ms per token)");
        Assert.InRange(tpot.Value, 0.028, 0.0449);
        Assert.Equal("test-model", ttft.Tags[ModelTag]);
        Assert.Equal("chat", ttft.Tags[OperationTag]);
        var request = Assert.Single(requests.ForModel("test-model"));
        Assert.Equal("stop", request.Tags[FinishReasonTag]);
        Assert.False(request.Tags.ContainsKey(ErrorTypeTag));
        Assert.Equal(20, tokens.ForModel("test-model").Where(m => (string?)m.Tags[TokenTypeTag] == "output").Sum(m => m.Value));
        Assert.Equal(19, interTokenLatencies.ForModel("test-model").Count);
        Assert.Equal(events.Count, chunks.ForModel("test-model").Sum(m => m.Value));
        Assert.True(bytes.ForModel("test-model").Sum(m => m.Value) > 20 * 100);
        Assert.NotEmpty(flushes.ForModel("test-model"));
        Assert.Equal(0, activeStreams.ForModel("test-model").Sum(m => m.Value));
    }

    [Fact]
    public async Task Disconnects_CountedOncePerRequestWithPhase_ActiveStreamsBackToZero()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10_000), i => TimeSpan.FromMilliseconds(i == 0 ? 200 : 10));
        await using var app = await TestApp.StartAsync(backend, o =>
        {
            o.MaxConcurrentStreams = 1;
            o.MaxQueuedStreams = 5;
        });
        using var disconnects = Meters.Collect<long>(app, ClientDisconnects);
        using var requests = Meters.Collect<long>(app, Requests);
        using var activeStreams = Meters.Collect<long>(app, ActiveStreams);
        using var ttfts = Meters.Collect<double>(app, TimeToFirstToken);
        using var queueWaits = Meters.Collect<double>(app, QueueWait);

        // Streaming: the client reads content, then leaves.
        var streaming = await OpenAsync(app, Sse.ChatBody());
        await Sse.ReadUntilAsync(streaming, "\"content\":\"w");
        // Waiting: the model's one slot is taken by the stream above.
        var waiting = await OpenAsync(app, Sse.ChatBody());
        await Sse.ReadUntilAsync(waiting, "\"role\"");
        waiting.Dispose();
        await disconnects.WaitForMeasurementsAsync(1, s_wait);
        streaming.Dispose();
        await disconnects.WaitForMeasurementsAsync(2, s_wait);
        // Before the first token: the model takes 200 ms to start.
        var early = await OpenAsync(app, Sse.ChatBody());
        await Sse.ReadUntilAsync(early, "\"role\"");
        early.Dispose();
        await Meters.WaitUntilAsync(
            () => requests.GetMeasurementSnapshot().Count == 3 && activeStreams.GetMeasurementSnapshot().Sum(m => m.Value) == 0,
            "all three requests to end",
            requests,
            activeStreams);

        Assert.Equal(["waiting", "streaming", "before_first_token"], disconnects.GetMeasurementSnapshot().Select(m => (string?)m.Tags[PhaseTag]));
        Assert.All(requests.GetMeasurementSnapshot(), m => Assert.Equal("client_disconnected", m.Tags[ErrorTypeTag]));
        Assert.Single(ttfts.GetMeasurementSnapshot()); // only the stream that showed content
        Assert.Empty(queueWaits.GetMeasurementSnapshot()); // the waiting one was never admitted
    }

    [Fact]
    public async Task HeartbeatsAndRejections_AreCounted()
    {
        var backend = new ScriptedChatClient(["late"], _ => TimeSpan.FromMilliseconds(350));
        await using var app = await TestApp.StartAsync(backend, o =>
        {
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            o.MaxConcurrentStreams = 1;
        });
        using var requests = Meters.Collect<long>(app, Requests);
        using var heartbeats = Meters.Collect<long>(app, Heartbeats);

        var stream = Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));
        await backend.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using var rejected = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), Ct);
        await stream;
        await requests.WaitForMeasurementsAsync(2, s_wait);

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.InRange(heartbeats.GetMeasurementSnapshot().Sum(m => m.Value), 2, 4);
        Assert.Contains(requests.GetMeasurementSnapshot(), m => (string?)m.Tags.GetValueOrDefault(ErrorTypeTag) == "rate_limited");
        Assert.Contains(requests.GetMeasurementSnapshot(), m => (string?)m.Tags.GetValueOrDefault(FinishReasonTag) == "stop");
    }

    private static Task<HttpResponseMessage> OpenAsync(TestApp app, string body) =>
        app.Client.SendAsync(Sse.ChatRequest(body), HttpCompletionOption.ResponseHeadersRead, Ct);
}
