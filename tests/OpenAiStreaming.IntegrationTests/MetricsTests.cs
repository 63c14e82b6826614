using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.IntegrationTests.Infrastructure;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>The meter against a backend with a known pace, read with <see cref="System.Diagnostics.Metrics.MeterListener"/>.</summary>
[Collection(TimingSensitive.Name)]
public sealed class MetricsTests
{
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
        using var metrics = new MetricsCollector(app.App.Services, model: "test-model");
        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));
        await metrics.WaitUntilAsync(m => m.Of(RequestDuration).Count == 1, "the request to end");

        Assert.Equal("[DONE]", events[^1].Data);
        var ttft = Assert.Single(metrics.Of(TimeToFirstToken));
        Assert.InRange(ttft.Value, 0.30, 0.3999);
        var tpot = Assert.Single(metrics.Of(TimePerOutputToken));
        TestContext.Current.TestOutputHelper?.WriteLine($"TTFT {ttft.Value:F4} s, TPOT {tpot.Value:F4} s (backend: 300 ms, then 30 ms per token)");
        Assert.InRange(tpot.Value, 0.028, 0.0449);
        Assert.Equal("test-model", ttft.Tags[ModelTag]);
        Assert.Equal("chat", ttft.Tags[OperationTag]);
        var request = Assert.Single(metrics.Of(Requests));
        Assert.Equal("stop", request.Tags[FinishReasonTag]);
        Assert.False(request.Tags.ContainsKey(ErrorTypeTag));
        Assert.Equal(20, metrics.Of(Tokens).Where(m => (string?)m.Tags[TokenTypeTag] == "output").Sum(m => m.Value));
        Assert.Equal(19, metrics.Of(InterTokenLatency).Count);
        Assert.Equal(events.Count, metrics.Sum(Chunks));
        Assert.True(metrics.Sum(Bytes) > 20 * 100);
        Assert.NotEmpty(metrics.Of(FlushDuration));
        Assert.Equal(0, metrics.Sum(ActiveStreams));
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
        using var metrics = new MetricsCollector(app.App.Services);

        // Streaming: the client reads content, then leaves.
        var streaming = await OpenAsync(app, Sse.ChatBody());
        await ReadUntilAsync(streaming, "\"content\":\"w");
        // Waiting: the model's one slot is taken by the stream above.
        var waiting = await OpenAsync(app, Sse.ChatBody());
        await ReadUntilAsync(waiting, "\"role\"");
        waiting.Dispose();
        await metrics.WaitUntilAsync(m => m.Of(ClientDisconnects).Count == 1, "the waiting client to be counted");
        streaming.Dispose();
        await metrics.WaitUntilAsync(m => m.Of(ClientDisconnects).Count == 2, "the streaming client to be counted");
        // Before the first token: the model takes 200 ms to start.
        var early = await OpenAsync(app, Sse.ChatBody());
        await ReadUntilAsync(early, "\"role\"");
        early.Dispose();
        await metrics.WaitUntilAsync(m => m.Of(Requests).Count == 3 && m.Sum(ActiveStreams) == 0, "all three requests to end");

        Assert.Equal(["waiting", "streaming", "before_first_token"], metrics.Of(ClientDisconnects).Select(m => (string?)m.Tags[PhaseTag]));
        Assert.All(metrics.Of(Requests), m => Assert.Equal("client_disconnected", m.Tags[ErrorTypeTag]));
        Assert.Single(metrics.Of(TimeToFirstToken)); // only the stream that showed content
        Assert.Empty(metrics.Of(QueueWait)); // the waiting one was never admitted
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
        using var metrics = new MetricsCollector(app.App.Services);

        var stream = Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));
        await backend.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using var rejected = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), Ct);
        await stream;
        await metrics.WaitUntilAsync(m => m.Of(Requests).Count == 2, "both requests to end");

        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.InRange(metrics.Sum(Heartbeats), 2, 4);
        Assert.Contains(metrics.Of(Requests), m => (string?)m.Tags.GetValueOrDefault(ErrorTypeTag) == "rate_limited");
        Assert.Contains(metrics.Of(Requests), m => (string?)m.Tags.GetValueOrDefault(FinishReasonTag) == "stop");
    }

    private static Task<HttpResponseMessage> OpenAsync(TestApp app, string body) =>
        app.Client.SendAsync(Sse.ChatRequest(body), HttpCompletionOption.ResponseHeadersRead, Ct);

    private static async Task ReadUntilAsync(HttpResponseMessage response, string marker)
    {
        var stream = await response.Content.ReadAsStreamAsync(Ct);
        var seen = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains(marker, StringComparison.Ordinal))
        {
            int read = await stream.ReadAsync(buffer, Ct);
            Assert.True(read > 0, $"the stream ended before '{marker}'");
            seen.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
        }
    }
}
