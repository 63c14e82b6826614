using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace OpenAiStreaming.ServerSentEvents;

/// <summary>
/// The header recipe that lets an event stream through proxies and CDNs that buffer by default, and the call that starts
/// a stream with it.
/// </summary>
public static class ServerSentEventsHttpResponseExtensions
{
    /// <summary>The content type of an event stream, <c>text/event-stream; charset=utf-8</c>.</summary>
    public const string ContentType = "text/event-stream; charset=utf-8";

    /// <summary>
    /// Sets the anti-buffering headers on a response that has not started: <c>Content-Type: text/event-stream</c>,
    /// <c>Cache-Control: no-cache</c>, <c>X-Accel-Buffering: no</c> (nginx, and proxies that copy it, stop buffering),
    /// <c>Content-Encoding: identity</c> (response compression, which would buffer, skips the response), no
    /// <c>Connection</c> header on HTTP/2 and later; and disables response buffering in the server and any wrapping
    /// body feature.
    /// </summary>
    /// <param name="response">The response to prepare.</param>
    public static void PrepareServerSentEvents(this HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.HasStarted)
        {
            throw new InvalidOperationException("The response has already started; event-stream headers must be set before the first write.");
        }

        response.ContentType = ContentType;
        ApplyAntiBufferingHeaders(response, overwrite: true);
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    /// <summary>
    /// Prepares the response with <see cref="PrepareServerSentEvents"/>, sends the status and headers at once, before
    /// the first event, so clients and proxies see a live stream while the first event is still being produced.
    /// </summary>
    /// <param name="response">The response to start.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A writer for the events of this response.</returns>
    public static async Task<ServerSentEventWriter> StartServerSentEventsAsync(this HttpResponse response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.PrepareServerSentEvents();
        await response.StartAsync(cancellationToken).ConfigureAwait(false);
        await response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new ServerSentEventWriter(response.BodyWriter);
    }

    /// <summary>Sets the anti-buffering headers, keeping an existing Cache-Control and Content-Encoding unless told.</summary>
    internal static void ApplyAntiBufferingHeaders(HttpResponse response, bool overwrite)
    {
        var headers = response.Headers;
        if (overwrite || string.IsNullOrEmpty(headers.CacheControl))
        {
            headers.CacheControl = "no-cache";
        }

        if (overwrite || string.IsNullOrEmpty(headers.ContentEncoding))
        {
            headers.ContentEncoding = "identity";
        }

        headers["X-Accel-Buffering"] = "no";
        if (!HttpProtocol.IsHttp10(response.HttpContext.Request.Protocol) && !HttpProtocol.IsHttp11(response.HttpContext.Request.Protocol))
        {
            headers.Connection = default;
        }
    }

    /// <summary>True when <paramref name="contentType"/> is <c>text/event-stream</c>, with or without parameters.</summary>
    internal static bool IsEventStream(string? contentType) =>
        contentType is not null && contentType.AsSpan().TrimStart().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);
}
