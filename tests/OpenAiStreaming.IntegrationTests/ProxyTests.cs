using System.Diagnostics;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Real nginx, Caddy and HAProxy in front of the package endpoint, started from the files in <c>samples/deploy/</c>
/// (docs/deployment.md shows them): events arrive paced, also with compression switched on for event streams, and a
/// client that leaves cancels the generation behind the proxy. Stock nginx is covered by <see cref="NginxTests"/>.
/// </summary>
public sealed class ProxyTests
{
    private const int EventCount = 5;
    private static readonly TimeSpan s_pace = TimeSpan.FromMilliseconds(200);

    public static TheoryData<string> PacedVariants =>
        ["nginx-gzip", "nginx-recommended", "caddy", "haproxy"];

    /// <summary>
    /// The recommended configs; HAProxy without <c>option abortonclose</c> and Caddy with <c>flush_interval -1</c>
    /// cancel late (when a write to the gone client fails), but do cancel.
    /// </summary>
    public static TheoryData<string> Proxies => ["nginx-recommended", "caddy", "caddy-flush-interval-minus-1", "haproxy", "haproxy-without-abortonclose"];

    [Theory]
    [MemberData(nameof(PacedVariants))]
    public async Task PackageEndpoint_EventsArrivePaced(string variant)
    {
        SkipIfMissing(variant);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(EventCount), s_pace));
        await using var proxy = await StartAsync(variant, app.BaseAddress);
        using var client = new HttpClient { BaseAddress = proxy.BaseAddress };

        // A browser's request: it accepts gzip, which is what makes a compressing proxy try.
        var request = Sse.ChatRequest(Sse.ChatBody());
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        var (response, events) = await Sse.ReadAllAsync(client, request);
        using var _ = response;

        Assert.NotEqual("gzip", Sse.Header(response, "Content-Encoding"));
        Assert.Equal("[DONE]", events[^1].Data);
        var contents = events.Where(e => e.Data.Contains("\"content\":\"w", StringComparison.Ordinal)).ToList();
        Report(variant, response, events, contents);
        Sse.AssertPaced(contents, s_pace, EventCount, variant);
    }

    [Theory]
    [MemberData(nameof(Proxies))]
    public async Task ClientDisconnectMidStream_CancelsTheBackendBehindTheProxy(string variant)
    {
        SkipIfMissing(variant);
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100), s_pace);
        await using var app = await TestApp.StartAsync(backend);
        await using var proxy = await StartAsync(variant, app.BaseAddress);

        long leftAt;
        using (var client = TestApp.CreateClient(proxy.BaseAddress))
        {
            using var response = await client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
            await Sse.ReadUntilAsync(response, "\"content\":\"w");

            Assert.False(backend.Cancelled.Task.IsCompleted, "cancelled before the client left");
            leftAt = Stopwatch.GetTimestamp();
        }

        // Disposing the unfinished response and its client closed the connection to the proxy at once.
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.True(backend.Generations.Reader.TryRead(out var generation));
        await generation.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.True(generation.Emitted < 50, $"{variant}: the generation ran on to token {generation.Emitted}");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{variant}: backend cancelled {Stopwatch.GetElapsedTime(leftAt, generation.CancelledAt).TotalMilliseconds:F0} ms after the client left, at token {generation.Emitted}");
    }

    /// <summary>
    /// HAProxy with and without <c>option http-no-delay</c>, events 500 ms apart. Without it HAProxy sends with
    /// <c>MSG_MORE</c> and the kernel holds a small event until more data comes or about 200 ms pass: each event is
    /// late by up to 200 ms (or leaves together with the next when they come faster). Only reported, not asserted: the
    /// hold is the kernel's, and <see cref="PackageEndpoint_EventsArrivePaced"/> asserts the sample (which sets the
    /// option) is paced.
    /// </summary>
    [Fact]
    public async Task Haproxy_WithAndWithoutHttpNoDelay_Measured()
    {
        HaproxyProcess.SkipIfMissing();
        var pace = TimeSpan.FromMilliseconds(500);
        foreach (string variant in new[] { "haproxy", "haproxy-without-no-delay" })
        {
            await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(3), pace));
            await using var proxy = await StartAsync(variant, app.BaseAddress);
            using var client = new HttpClient { BaseAddress = proxy.BaseAddress };

            var (response, events) = await Sse.ReadAllAsync(client, Sse.ChatRequest(Sse.ChatBody()));
            using var _ = response;

            Assert.Equal("[DONE]", events[^1].Data);
            var contents = events.Where(e => e.Data.Contains("\"content\":\"w", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, contents.Count);
            Report($"{variant} (500 ms pace)", response, events, contents);
        }
    }

    private static void SkipIfMissing(string variant)
    {
        if (variant.StartsWith("nginx", StringComparison.Ordinal))
        {
            NginxProcess.SkipIfMissing();
        }
        else if (variant.StartsWith("caddy", StringComparison.Ordinal))
        {
            CaddyProcess.SkipIfMissing();
        }
        else
        {
            HaproxyProcess.SkipIfMissing();
        }
    }

    /// <summary>
    /// Starts the proxy of <paramref name="variant"/> in front of <paramref name="app"/>: the files of samples/deploy
    /// with their listen address and upstream replaced, or stock nginx with gzip on for event streams.
    /// </summary>
    private static Task<ServerProcess> StartAsync(string variant, Uri app)
    {
        string upstream = app.Authority; // 127.0.0.1:port
        return variant switch
        {
            // Stock otherwise: HTTP/1.0 to the app, proxy buffering on.
            "nginx-gzip" => NginxProcess.StartAsync($"proxy_pass http://{upstream}; gzip on; gzip_types text/event-stream application/json;"),
            "nginx-recommended" => NginxProcess.StartWithHttpBodyAsync((_, port) => DeploySamples.Load(
                "nginx.conf", ("server 127.0.0.1:8000;", $"server {upstream};"), ("listen 80;", $"listen 127.0.0.1:{port};"))),
            "caddy" => CaddyProcess.StartAsync(port => DeploySamples.Load(
                "Caddyfile", (":80 {", $"http://127.0.0.1:{port} {{"), ("127.0.0.1:8000", upstream))),
            "caddy-flush-interval-minus-1" => CaddyProcess.StartAsync(port => DeploySamples.Load(
                "Caddyfile", (":80 {", $"http://127.0.0.1:{port} {{"), ("127.0.0.1:8000", $"{upstream} {{\n\t\tflush_interval -1\n\t}}"))),
            "haproxy" => HaproxyProcess.StartAsync(port => DeploySamples.Load(
                "haproxy.cfg", ("bind :80", $"bind 127.0.0.1:{port}"), ("127.0.0.1:8000", upstream))),
            "haproxy-without-no-delay" => HaproxyProcess.StartAsync(port => DeploySamples.Load(
                "haproxy.cfg", ("bind :80", $"bind 127.0.0.1:{port}"), ("127.0.0.1:8000", upstream), ("option http-no-delay", ""))),
            "haproxy-without-abortonclose" => HaproxyProcess.StartAsync(port => DeploySamples.Load(
                "haproxy.cfg", ("bind :80", $"bind 127.0.0.1:{port}"), ("127.0.0.1:8000", upstream), ("option abortonclose", ""))),
            _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
        };
    }

    /// <summary>Writes what arrived when to the test output (docs/deployment.md quotes it).</summary>
    private static void Report(string variant, HttpResponseMessage response, List<ReceivedEvent> events, List<ReceivedEvent> contents)
    {
        var gaps = contents.Skip(1).Select((e, i) => (e.At - contents[i].At).TotalMilliseconds).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{variant}: HTTP/{response.Version} Content-Encoding={Sse.Header(response, "Content-Encoding") ?? "none"}; " +
            $"first event {events[0].At.TotalMilliseconds:F0} ms, first content {contents[0].At.TotalMilliseconds:F0} ms, " +
            $"content gaps {string.Join(", ", gaps.Select(g => g.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} ms, " +
            $"[DONE] {events[^1].At.TotalMilliseconds:F0} ms");
    }
}
