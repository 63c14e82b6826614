using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Streaming over HTTP/2: Kestrel over h2c (prior knowledge, plain TCP) and over TLS (ALPN) with a certificate made in
/// the test, read by <see cref="HttpClient"/> at exactly 2.0 and by curl; and nginx terminating HTTP/2 toward the
/// client while it talks HTTP/1.1 to Kestrel. The backend paces tokens 200 ms apart: events that pass unbuffered
/// arrive more than 100 ms apart. A client that leaves resets its stream (RST_STREAM) and keeps the connection: the
/// backend must still see the cancellation.
/// </summary>
public sealed class Http2Tests
{
    private const int TokenCount = 5;
    private static readonly TimeSpan s_pace = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_cancelTimeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task H2c_HttpClient_EventsArrivePacedOverHttp2()
    {
        await using var app = await Http2App.StartH2cAsync(Paced());
        using var client = Http2App.CreateClient(app.BaseAddress);

        var (response, events) = await Sse.ReadAllAsync(client, Http2App.ChatRequest(Sse.ChatBody()));
        using (response)
        {
            AssertHttp2Stream(response, events);
        }
    }

    [Fact]
    public async Task H2c_CurlPriorKnowledge_EventsArrivePaced()
    {
        Curl.SkipIfMissing();
        await using var app = await Http2App.StartH2cAsync(Paced());

        var result = await Curl.PostAsync(new Uri(app.BaseAddress, "v1/chat/completions"), Sse.ChatBody(), "--http2-prior-knowledge");

        AssertCurlHttp2Stream(result);
    }

    [Fact]
    public async Task Tls_HttpClient_EventsArrivePacedOverHttp2()
    {
        using var certificate = new TestCertificate();
        await using var app = await Http2App.StartTlsAsync(Paced(), certificate);
        using var client = Http2App.CreateClient(app.BaseAddress, certificate);

        Assert.Equal("https", app.BaseAddress.Scheme);
        var (response, events) = await Sse.ReadAllAsync(client, Http2App.ChatRequest(Sse.ChatBody()));
        using (response)
        {
            AssertHttp2Stream(response, events);
        }
    }

    [Fact]
    public async Task Tls_CurlHttp2_EventsArrivePaced()
    {
        Curl.SkipIfMissing();
        using var certificate = new TestCertificate();
        await using var app = await Http2App.StartTlsAsync(Paced(), certificate);

        var result = await Curl.PostAsync(new Uri(app.BaseAddress, "v1/chat/completions"), Sse.ChatBody(), "--http2", "-k");

        AssertCurlHttp2Stream(result);
    }

    [Fact]
    public async Task H2c_HttpClientDisposesResponseMidStream_StreamResetCancelsBackend_ConnectionStaysUsable()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(200), TimeSpan.FromMilliseconds(50));
        await using var app = await Http2App.StartH2cAsync(backend);
        using var client = Http2App.CreateClient(app.BaseAddress);

        long left = await ReadFirstContentThenDisposeAsync(client, Http2App.ChatRequest(Sse.ChatBody()));

        // Disposing an unfinished HTTP/2 response sends RST_STREAM on a connection that stays open: Kestrel turns
        // the reset into RequestAborted for that one request.
        await backend.Cancelled.Task.WaitAsync(s_cancelTimeout, Ct);
        ReportCancelledAfter("h2c RST_STREAM", backend, left);

        // The connection is still good for the next request.
        using var next = await client.GetAsync(new Uri("v1/models", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(HttpVersion.Version20, next.Version);
    }

    [Fact]
    public async Task Tls_HttpClientCancelsMidStream_StreamResetCancelsBackend()
    {
        using var certificate = new TestCertificate();
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(200), TimeSpan.FromMilliseconds(50));
        await using var app = await Http2App.StartTlsAsync(backend, certificate);
        using var client = Http2App.CreateClient(app.BaseAddress, certificate);

        using var leave = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var failure = await Record.ExceptionAsync(async () =>
        {
            // A client that stops through its cancellation token, the way an app's Stop button does: the token ends
            // the read, and leaving the scope disposes the response, which resets the stream.
            using var response = await client.SendAsync(Http2App.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, leave.Token);
            Assert.Equal(HttpVersion.Version20, response.Version);
            await using var body = await response.Content.ReadAsStreamAsync(leave.Token);
            await foreach (var item in SseParser.Create(body).EnumerateAsync(leave.Token))
            {
                if (item.Data.Contains("\"content\":\"w", StringComparison.Ordinal))
                {
                    await leave.CancelAsync();
                }
            }
        });

        Assert.IsAssignableFrom<OperationCanceledException>(failure);
        await backend.Cancelled.Task.WaitAsync(s_cancelTimeout, Ct);
    }

    [Fact]
    public async Task NginxTerminatingHttp2_HttpClient_EventsArrivePaced()
    {
        NginxProcess.SkipIfMissing();
        using var certificate = new TestCertificate();
        await using var app = await TestApp.StartAsync(Paced());
        var (nginx, nginxAddress) = await NginxTlsProcess.StartAsync(certificate, Http11Upstream(app));
        await using var _ = nginx;
        using var client = Http2App.CreateClient(nginxAddress, certificate);

        var (response, events) = await Sse.ReadAllAsync(client, Http2App.ChatRequest(Sse.ChatBody()));
        using (response)
        {
            AssertHttp2Stream(response, events);
        }
    }

    [Fact]
    public async Task NginxTerminatingHttp2_ClientResetsStream_BackendCancels()
    {
        NginxProcess.SkipIfMissing();
        using var certificate = new TestCertificate();
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(200), TimeSpan.FromMilliseconds(50));
        await using var app = await TestApp.StartAsync(backend);
        var (nginx, nginxAddress) = await NginxTlsProcess.StartAsync(certificate, Http11Upstream(app));
        await using var _ = nginx;
        using var client = Http2App.CreateClient(nginxAddress, certificate);

        long left = await ReadFirstContentThenDisposeAsync(client, Http2App.ChatRequest(Sse.ChatBody()));

        // nginx sees RST_STREAM from the client and closes its HTTP/1.1 connection to Kestrel.
        await backend.Cancelled.Task.WaitAsync(s_cancelTimeout, Ct);
        ReportCancelledAfter("RST_STREAM to nginx, HTTP/1.1 to Kestrel", backend, left);
    }

    private static ScriptedChatClient Paced() => new(ScriptedChatClient.Words(TokenCount), s_pace);

    /// <summary>The recommended nginx location: HTTP/1.1 upstream with keep-alive, no buffering, no cache.</summary>
    private static string Http11Upstream(TestApp app) => $"""
        proxy_pass {app.BaseAddress.ToString().TrimEnd('/')};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_buffering off;
        proxy_cache off;
        proxy_read_timeout 1h;
        """;

    /// <summary>Writes how long after the client left the backend's token fired (docs/deployment.md quotes it).</summary>
    private static void ReportCancelledAfter(string what, ScriptedChatClient backend, long leftAt)
    {
        Assert.True(backend.Generations.Reader.TryPeek(out var generation));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{what}: backend cancelled {Stopwatch.GetElapsedTime(leftAt, generation.CancelledAt).TotalMilliseconds:F1} ms after the client left");
    }

    /// <summary>Reads up to the first content event, then disposes the response; returns the timestamp of the dispose.</summary>
    private static async Task<long> ReadFirstContentThenDisposeAsync(HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpVersion.Version20, response.Version);
        await Sse.ReadUntilAsync(response, "\"content\":\"w");

        long left = Stopwatch.GetTimestamp();
        response.Dispose();
        return left;
    }

    private static void AssertHttp2Stream(HttpResponseMessage response, List<ReceivedEvent> events)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("text/event-stream", Sse.ContentType(response)?.MediaType);
        Assert.Null(Sse.Header(response, "Connection")); // connection-specific headers are illegal in HTTP/2
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.Equal(string.Concat(ScriptedChatClient.Words(TokenCount)), string.Concat(Sse.Contents(events)));
        AssertPaced(events);
    }

    private static void AssertCurlHttp2Stream(CurlResult result)
    {
        Assert.StartsWith("HTTP/2 200", result.StatusLine, StringComparison.Ordinal);
        Assert.False(result.HasHeader("connection"), $"a Connection header on HTTP/2: {string.Join(" | ", result.Headers)}");
        Assert.True(result.HasHeader("content-type"));
        var events = result.Events;
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.Equal(string.Concat(ScriptedChatClient.Words(TokenCount)), string.Concat(Sse.Contents(events)));
        AssertPaced(events);
    }

    private static void AssertPaced(List<ReceivedEvent> events) =>
        Sse.AssertPaced([.. events.Where(e => e.Data.Contains("\"content\":\"w", StringComparison.Ordinal))], s_pace, TokenCount);
}
