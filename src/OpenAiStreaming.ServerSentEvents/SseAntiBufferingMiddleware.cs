using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace OpenAiStreaming.ServerSentEvents;

/// <summary>
/// Gives every <c>text/event-stream</c> response in the app the anti-buffering headers when it starts, whoever wrote it:
/// the framework's <c>TypedResults.ServerSentEvents</c>, a controller, or hand-written code.
/// </summary>
internal sealed class SseAntiBufferingMiddleware(RequestDelegate next)
{
    private static readonly Func<object, Task> s_onStarting = OnStarting;

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(s_onStarting, context);
        return next(context);
    }

    private static Task OnStarting(object state)
    {
        var context = (HttpContext)state;
        var response = context.Response;
        if (ServerSentEventsHttpResponseExtensions.IsEventStream(response.ContentType))
        {
            ServerSentEventsHttpResponseExtensions.ApplyAntiBufferingHeaders(response, overwrite: false);
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        }

        return Task.CompletedTask;
    }
}
