using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.AspNetCore.Responses;

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
        if (endpoints.ServiceProvider.GetService<IServiceProviderIsService>()?.IsService(typeof(OpenAiEndpoints)) != true)
        {
            throw new InvalidOperationException(
                "MapOpenAiStreaming() needs the services of AddOpenAiStreaming(): call builder.Services.AddOpenAiStreaming() first.");
        }

        // Resolved on the first request, not here, so that invalid options fail in the host's start-up validation.
        OpenAiEndpoints? handlers = null;
        OpenAiEndpoints Handlers(HttpContext context) => handlers ??= context.RequestServices.GetRequiredService<OpenAiEndpoints>();

        var group = endpoints.MapGroup(prefix);
        MapWithMethod(group, "/chat/completions", HttpMethods.Post, context => Handlers(context).ChatCompletionsAsync(context));
        MapWithMethod(group, "/completions", HttpMethods.Post, context => Handlers(context).CompletionsAsync(context));
        MapWithMethod(group, "/models", HttpMethods.Get, context => Handlers(context).ListModelsAsync(context));
        MapWithMethod(group, "/models/{model}", HttpMethods.Get, context => Handlers(context).GetModelAsync(context));
        group.MapResponses();
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
