using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

public sealed class SseAntiBufferingMiddlewareTests
{
    [Fact]
    public async Task UseSseAntiBuffering_FrameworkServerSentEvents_GetsAntiBufferingHeaders()
    {
        await using var app = await NginxTests.StartFrameworkAppAsync();

        var (response, events) = await Sse.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, "fixed/events"));

        Assert.Equal("no", Sse.Header(response, "X-Accel-Buffering"));
        Assert.Equal("identity", Sse.Header(response, "Content-Encoding"));
        Assert.Contains("no-cache", Sse.Header(response, "Cache-Control"), StringComparison.Ordinal);
        Assert.Equal(5, events.Count);
    }

    [Fact]
    public async Task UseSseAntiBuffering_WithoutMiddleware_FrameworkSendsNoAccelHeader()
    {
        await using var app = await NginxTests.StartFrameworkAppAsync();

        var (response, _) = await Sse.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, "plain/events"));

        Assert.Null(Sse.Header(response, "X-Accel-Buffering"));
    }

    [Fact]
    public async Task UseSseAntiBuffering_OtherContentTypes_AreLeftAlone()
    {
        await using var app = await TestApp.StartAsync(
            _ => { },
            app =>
            {
                app.UseSseAntiBuffering();
                app.MapGet("/json", () => TypedResults.Json(new { ok = true }));
                app.MapGet("/sse-by-hand", async (HttpContext context) =>
                {
                    context.Response.ContentType = "text/event-stream";
                    context.Response.Headers.CacheControl = "no-store";
                    await context.Response.WriteAsync("data: x\n\n", context.RequestAborted);
                });
            });

        using var json = await app.Client.GetAsync("json", TestContext.Current.CancellationToken);
        using var byHand = await app.Client.GetAsync("sse-by-hand", TestContext.Current.CancellationToken);

        Assert.Null(Sse.Header(json, "X-Accel-Buffering"));
        Assert.Null(Sse.Header(json, "Content-Encoding"));
        Assert.Equal("no", Sse.Header(byHand, "X-Accel-Buffering"));
        Assert.Equal("identity", Sse.Header(byHand, "Content-Encoding"));
        Assert.Equal("no-store", Sse.Header(byHand, "Cache-Control")); // an explicit choice is kept
    }
}
