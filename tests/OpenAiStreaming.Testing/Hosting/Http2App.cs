using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.Testing.EventStreams;

namespace OpenAiStreaming.Testing.Hosting;

/// <summary>
/// Kestrel endpoints for HTTP/2: h2c (HTTP/2 only, prior knowledge, over plain TCP) and TLS (HTTP/1.1 and HTTP/2,
/// negotiated by ALPN) with a certificate made in the test. Both on 127.0.0.1 with a free port.
/// </summary>
public static class Http2App
{
    /// <summary>Starts an app serving <paramref name="client"/> as <c>test-model</c> over h2c only.</summary>
    /// <param name="client">The model.</param>
    /// <param name="configure">Options of <c>AddOpenAiStreaming</c>.</param>
    /// <returns>The started app.</returns>
    public static Task<TestApp> StartH2cAsync(IChatClient client, Action<OpenAiStreamingOptions>? configure = null) =>
        StartAsync(client, configure, listen => listen.Protocols = HttpProtocols.Http2);

    /// <summary>Starts an app serving <paramref name="client"/> as <c>test-model</c> over TLS (HTTP/1.1 and HTTP/2).</summary>
    /// <param name="client">The model.</param>
    /// <param name="certificate">The server's certificate.</param>
    /// <param name="configure">Options of <c>AddOpenAiStreaming</c>.</param>
    /// <returns>The started app.</returns>
    public static Task<TestApp> StartTlsAsync(IChatClient client, TestCertificate certificate, Action<OpenAiStreamingOptions>? configure = null) =>
        StartAsync(client, configure, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate.Certificate);
        });

    /// <summary>
    /// A client that speaks HTTP/2 only (no fallback to HTTP/1.1), accepts <paramref name="certificate"/> when given,
    /// and leaves like a browser tab: disposing an unfinished response resets the stream at once.
    /// </summary>
    /// <param name="baseAddress">The client's base address.</param>
    /// <param name="certificate">The one server certificate to accept, for TLS.</param>
    /// <returns>The client; the caller disposes it.</returns>
    public static HttpClient CreateClient(Uri baseAddress, TestCertificate? certificate = null)
    {
        var handler = new SocketsHttpHandler { MaxResponseDrainSize = 0 };
        if (certificate is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = certificate.Validate;
        }

        return new HttpClient(handler)
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>A chat request at HTTP/2 exactly (a request message does not take the client's default version).</summary>
    /// <param name="json">The request body.</param>
    /// <returns>The request.</returns>
    public static HttpRequestMessage ChatRequest(string json)
    {
        var request = Sse.ChatRequest(json);
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        return request;
    }

    private static Task<TestApp> StartAsync(IChatClient client, Action<OpenAiStreamingOptions>? configure, Action<ListenOptions> endpoint) =>
        TestApp.StartAsync(
            builder =>
            {
                // Explicit endpoints replace the http://127.0.0.1:0 that TestApp sets with UseUrls.
                builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, endpoint));
                builder.Services.AddOpenAiStreaming(configure).AddChatModel("test-model", _ => client);
            },
            app => app.MapOpenAiStreaming());
}
