using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Slowloris: 200 clients that open a connection and then send their headers or their body too slowly (here: stall
/// half-way). They must neither starve normal requests nor hold their connections forever (docs/security.md).
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class SlowClientTests
{
    private const int SlowClients = 200;

    [Fact]
    public async Task SlowSenders_200Stalled_NormalRequestsAllServedAndLatencyReported()
    {
        await using var app = await StartAsync(_ => { });
        var alone = await MeasureAsync(app, 100);

        var slow = await OpenSlowClientsAsync(app.BaseAddress);
        try
        {
            var beside = await MeasureAsync(app, 100);

            alone.Report("normal requests alone");
            beside.Report($"normal requests beside {SlowClients} stalled senders");
            Assert.Equal(100, beside.Count);
            Assert.Equal(SlowClients, slow.Count(s => s.Connected));
        }
        finally
        {
            slow.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task SlowSenders_OurKestrelLimits_CutEveryOneWith408OrClose()
    {
        // Through our options (OpenAiStreaming:Kestrel), shortened from their defaults (10 s, 5 s) to keep the test short.
        await using var app = await StartAsync(_ => { }, new()
        {
            ["OpenAiStreaming:Kestrel:RequestHeadersTimeout"] = "00:00:02",
            ["OpenAiStreaming:Kestrel:MinRequestBodyDataRateGracePeriod"] = "00:00:02",
        });

        var slow = await OpenSlowClientsAsync(app.BaseAddress);
        try
        {
            var started = Stopwatch.GetTimestamp();
            string[] answers = await Task.WhenAll(slow.Select(ReadUntilClosedAsync));
            var elapsed = Stopwatch.GetElapsedTime(started);
            TestContext.Current.TestOutputHelper?.WriteLine($"{SlowClients} stalled senders cut within {elapsed.TotalSeconds:F1} s");

            // Kestrel answers a header timeout with 408; a stalled body fails the read, and the reader answers 408 in
            // OpenAI's shape, or Kestrel closes the connection first. Never a 5xx.
            Assert.All(answers, a => Assert.True(a.Length == 0 || a.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), a));
            using var normal = await app.Client.PostAsync("v1/chat/completions", Json(Sse.ChatBody(stream: false)), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
        }
        finally
        {
            slow.ForEach(s => s.Dispose());
        }
    }

    private static Task<TestApp> StartAsync(Action<KestrelServerOptions> kestrel, Dictionary<string, string?>? settings = null) =>
        TestApp.StartAsync(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings ?? []);
                builder.WebHost.ConfigureKestrel(kestrel);
                builder.Services.AddOpenAiStreaming().AddChatModel("test-model", _ => new ScriptedChatClient(ScriptedChatClient.Words(5), TimeSpan.Zero));
            },
            app => app.MapOpenAiStreaming());

    /// <summary>Half stall in their headers, half after the headers and the first bytes of a 100 kB body.</summary>
    private static async Task<List<Socket>> OpenSlowClientsAsync(Uri baseAddress)
    {
        var sockets = new List<Socket>();
        for (int i = 0; i < SlowClients; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, baseAddress.Port, TestContext.Current.CancellationToken);
            string partial = i % 2 == 0
                ? "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: a"
                : "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"model\":";
            await socket.SendAsync(Encoding.ASCII.GetBytes(partial), TestContext.Current.CancellationToken);
            sockets.Add(socket);
        }

        return sockets;
    }

    private static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // Reset by the server: closed all the same.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static async Task<Latencies> MeasureAsync(TestApp app, int count)
    {
        var latencies = new Latencies();
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            using var response = await app.Client.PostAsync("v1/chat/completions", Json(Sse.ChatBody()), TestContext.Current.CancellationToken);
            string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            latencies.Add(start, Stopwatch.GetTimestamp());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("[DONE]", body, StringComparison.Ordinal);
        }

        return latencies;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
