using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;

namespace Peers;

/// <summary>
/// What an ASP.NET Core developer writes with .NET 10's own support: a minimal API returning
/// <c>TypedResults.ServerSentEvents</c> over an async stream of <see cref="SseItem{T}"/>.
/// </summary>
internal static class BuiltinPeer
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/chat/completions", (ChatRequest request, HttpContext context, TokenSchedule schedule, BenchStats stats, CancellationToken cancellationToken) =>
        {
            // The header nginx needs to pass events on at once, as the usual advice goes; the result itself sets
            // Content-Type, Cache-Control (no-cache,no-store) and Content-Encoding (identity).
            context.Response.Headers["X-Accel-Buffering"] = "no";
            var chunks = SyntheticCompletion.GenerateAsync(request, schedule, stats, context.Request.Headers["X-Bench-Id"], cancellationToken);
            return TypedResults.ServerSentEvents(ToItems(chunks, cancellationToken));
        });

    private static async IAsyncEnumerable<SseItem<string>> ToItems(IAsyncEnumerable<string> chunks, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (string chunk in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return new SseItem<string>(chunk);
        }
    }
}
