using System.Net;
using System.Text;
using ChatServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenAiStreaming.IntegrationTests.Infrastructure;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>The sample server as users run it: the tiny model, the sampler, the pump and the SSE writer together.</summary>
public sealed class ChatServerSampleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ChatServer_Streaming64Tokens_ArriveOneByOnePaced()
    {
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
            ["--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00.020", "--Logging:LogLevel:Default=Warning"]));

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(
            Sse.ChatBody(model: "tiny-char-lm", includeUsage: true, extra: ",\"max_tokens\":64,\"temperature\":0.8,\"seed\":7")));

        var contents = events.Where(e => e.Data.Contains("\"content\":", StringComparison.Ordinal) && !e.Data.Contains("\"role\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(64, string.Concat(Sse.Contents(events)).Length);
        Assert.Equal("length", events[^3].Json().GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(64, events[^2].Json().GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Paced like a real model: 63 gaps of about 20 ms, so the first token is far ahead of the last.
        Assert.True(contents.Count >= 32, $"only {contents.Count} events for 64 tokens: the stream was batched");
        Assert.True(contents[^1].At - contents[0].At > TimeSpan.FromMilliseconds(63 * 20 * 0.8), "tokens did not arrive paced");
    }

    [Fact]
    public async Task ChatServer_SameSeed_SameText()
    {
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
            ["--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00", "--Logging:LogLevel:Default=Warning"]));
        string body = Sse.ChatBody(model: "tiny-char-lm", extra: ",\"max_tokens\":40,\"seed\":1234,\"top_k\":20,\"min_p\":0.02");

        var (_, first) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(body));
        var (_, second) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(body));

        Assert.Equal(40, string.Concat(Sse.Contents(first)).Length);
        Assert.Equal(string.Concat(Sse.Contents(first)), string.Concat(Sse.Contents(second)));
    }

    [Fact]
    public async Task ChatServer_OtlpEndpointSet_ExportsTheMeter()
    {
        // A stand-in OTLP/HTTP collector that keeps the first export carrying the sample's time to first token.
        var export = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var collector = await TestApp.StartAsync(_ => { }, c => c.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
            string text = Encoding.UTF8.GetString(body.ToArray()); // protobuf keeps strings as UTF-8
            if (text.Contains(TimeToFirstToken, StringComparison.Ordinal) && text.Contains("tiny-char-lm", StringComparison.Ordinal))
            {
                export.TrySetResult(text);
            }

            return Results.Ok();
        }));
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
        [
            "--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00", "--Logging:LogLevel:Default=Warning",
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={collector.BaseAddress.GetLeftPart(UriPartial.Authority)}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "--OTEL_METRIC_EXPORT_INTERVAL=100",
        ]));

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(
            Sse.ChatBody(model: "tiny-char-lm", extra: ",\"max_tokens\":4")));
        string exported = await export.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        Assert.Equal("[DONE]", events[^1].Data);
        Assert.Contains(MeterName, exported, StringComparison.Ordinal);
        Assert.Contains(ActiveStreams, exported, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatServer_MaxTokensBeyondModelLimit_400WithMessage()
    {
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]));

        using var response = await app.Client.SendAsync(
            Sse.ChatRequest(Sse.ChatBody(model: "tiny-char-lm", extra: ",\"max_tokens\":2000000000")), TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("max_tokens must be at most 16384", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }
}
