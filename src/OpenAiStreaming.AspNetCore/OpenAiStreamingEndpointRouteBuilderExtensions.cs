using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the OpenAI-compatible endpoints.</summary>
public static class OpenAiStreamingEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST {prefix}/chat/completions</c>, <c>POST {prefix}/completions</c>, <c>GET {prefix}/models</c> and
    /// <c>GET {prefix}/models/{model}</c> for the models registered with <c>AddOpenAiStreaming().AddChatModel(...)</c>.
    /// Other methods on these paths get 405 in OpenAI's error shape.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="prefix">The path prefix. Default <c>/v1</c>, where OpenAI's clients look.</param>
    /// <returns>The group of endpoints, so <c>RequireAuthorization</c>, <c>RequireRateLimiting</c> and <c>RequireCors</c> compose.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOpenAiStreaming()</c> was not called.</exception>
    public static RouteGroupBuilder MapOpenAiStreaming(this IEndpointRouteBuilder endpoints, string prefix = "/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var handlers = endpoints.ServiceProvider.GetService<OpenAiEndpoints>()
            ?? throw new InvalidOperationException(
                "MapOpenAiStreaming() needs the services of AddOpenAiStreaming(): call builder.Services.AddOpenAiStreaming() first.");

        var group = endpoints.MapGroup(prefix);
        MapWithMethod(group, "/chat/completions", HttpMethods.Post, handlers.ChatCompletionsAsync);
        MapWithMethod(group, "/completions", HttpMethods.Post, handlers.CompletionsAsync);
        MapWithMethod(group, "/models", HttpMethods.Get, handlers.ListModelsAsync);
        MapWithMethod(group, "/models/{model}", HttpMethods.Get, handlers.GetModelAsync);
        return group;
    }

    private static void MapWithMethod(RouteGroupBuilder group, string pattern, string method, RequestDelegate handler)
    {
        group.MapMethods(pattern, [method], handler);

        // Any other method lands here instead of the router's bare 405, and gets an answer clients can read. The
        // higher order keeps it behind the real endpoint for the allowed method.
        group.Map(pattern, context => OpenAiEndpoints.MethodNotAllowedAsync(context, method)).WithOrder(1);
    }
}
