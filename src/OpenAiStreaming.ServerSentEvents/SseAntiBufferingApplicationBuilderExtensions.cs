using OpenAiStreaming.ServerSentEvents;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the middleware that keeps event streams unbuffered through proxies.</summary>
public static class SseAntiBufferingApplicationBuilderExtensions
{
    /// <summary>
    /// Gives any <c>text/event-stream</c> response that passes through this point of the pipeline the anti-buffering
    /// headers when it starts: <c>X-Accel-Buffering: no</c>, and <c>Cache-Control: no-cache</c> and
    /// <c>Content-Encoding: identity</c> where the response set none. This is what lets the framework's own
    /// <c>TypedResults.ServerSentEvents</c> pass a stock nginx event by event. Call it before the endpoints that stream.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    public static IApplicationBuilder UseSseAntiBuffering(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(next => new SseAntiBufferingMiddleware(next).InvokeAsync);
    }
}
