using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// A stock nginx (<c>location / { proxy_pass ...; }</c>: HTTP/1.0 to the upstream, proxy buffering on) in front of a
/// backend that paces events 200 ms apart. Events that pass unbuffered arrive about 200 ms apart; buffered ones arrive
/// together at the end.
/// </summary>
public sealed class NginxTests
{
    private const int EventCount = 5;
    private static readonly TimeSpan s_pace = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task StockNginx_PackageEndpoint_EventsArrivePaced()
    {
        NginxProcess.SkipIfMissing();
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(EventCount), s_pace));
        await using var nginx = await NginxProcess.StartAsync($"proxy_pass {app.BaseAddress.ToString().TrimEnd('/')};");
        using var client = new HttpClient { BaseAddress = nginx.BaseAddress };

        var (_, events) = await Sse.ReadAllAsync(client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.Equal("[DONE]", events[^1].Data);
        AssertPaced([.. events.Where(e => e.Data.Contains("\"content\":\"w", StringComparison.Ordinal))]);
    }

    [Fact]
    public async Task StockNginx_FrameworkEndpointWithUseSseAntiBuffering_EventsArrivePaced()
    {
        NginxProcess.SkipIfMissing();
        await using var app = await StartFrameworkAppAsync();
        await using var nginx = await NginxProcess.StartAsync($"proxy_pass {app.BaseAddress.ToString().TrimEnd('/')};");
        using var client = new HttpClient { BaseAddress = nginx.BaseAddress };

        var (_, events) = await Sse.ReadAllAsync(client, new HttpRequestMessage(HttpMethod.Get, "fixed/events"));

        AssertPaced(events);
    }

    [Fact]
    public async Task StockNginx_FrameworkEndpointWithoutMiddleware_EventsArriveBuffered()
    {
        NginxProcess.SkipIfMissing();
        await using var app = await StartFrameworkAppAsync();
        await using var nginx = await NginxProcess.StartAsync($"proxy_pass {app.BaseAddress.ToString().TrimEnd('/')};");
        using var client = new HttpClient { BaseAddress = nginx.BaseAddress };

        var (_, events) = await Sse.ReadAllAsync(client, new HttpRequestMessage(HttpMethod.Get, "plain/events"));

        // This is what the middleware fixes: nginx held every event until the response ended.
        Assert.Equal(EventCount, events.Count);
        Assert.True(events[^1].At - events[0].At < s_pace / 2, $"events spread over {events[^1].At - events[0].At}: not buffered");
        Assert.True(events[0].At >= s_pace * (EventCount - 1), $"first event at {events[0].At}: not buffered");
    }

    /// <summary>
    /// The framework's own <c>TypedResults.ServerSentEvents</c> at <c>/fixed/events</c> behind
    /// <c>UseSseAntiBuffering()</c>, and at <c>/plain/events</c> without it.
    /// </summary>
    internal static Task<TestApp> StartFrameworkAppAsync() => TestApp.StartAsync(
        builder => builder.Services.AddRouting(),
        app =>
        {
            app.UseWhen(context => context.Request.Path.StartsWithSegments("/fixed"), branch => branch.UseSseAntiBuffering());
            app.MapGet("/fixed/events", (CancellationToken ct) => TypedResults.ServerSentEvents(PacedAsync(ct)));
            app.MapGet("/plain/events", (CancellationToken ct) => TypedResults.ServerSentEvents(PacedAsync(ct)));
        });

    private static async IAsyncEnumerable<string> PacedAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int i = 0; i < EventCount; i++)
        {
            await Task.Delay(s_pace, cancellationToken);
            yield return $"event {i}";
        }
    }

    private static void AssertPaced(List<ReceivedEvent> events) => Sse.AssertPaced(events, s_pace, EventCount);
}
