namespace Peers;

/// <summary>
/// The endpoint people write by hand: set the event-stream headers, then per chunk
/// <c>Response.WriteAsync("data: " + json + "\n\n")</c> and <c>Response.Body.FlushAsync()</c>.
/// </summary>
internal static class HandwrittenPeer
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/chat/completions", async (ChatRequest request, HttpContext context, TokenSchedule schedule, BenchStats stats, CancellationToken cancellationToken) =>
        {
            var response = context.Response;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            await response.Body.FlushAsync(cancellationToken);
            await foreach (string chunk in SyntheticCompletion.GenerateAsync(request, schedule, stats, context.Request.Headers["X-Bench-Id"], cancellationToken))
            {
                await response.WriteAsync("data: " + chunk + "\n\n", cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
            }
        });
}
