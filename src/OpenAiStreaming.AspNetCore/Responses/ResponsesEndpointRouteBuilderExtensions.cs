using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>Maps <c>/responses</c> into the group of <c>MapOpenAiStreaming()</c>.</summary>
internal static class ResponsesEndpointRouteBuilderExtensions
{
    public static void MapResponses(this RouteGroupBuilder group)
    {
        ResponsesEndpoints? handlers = null;
        ResponsesEndpoints Handlers(HttpContext context) => handlers ??= context.RequestServices.GetRequiredService<ResponsesEndpoints>();

        group.MapMethods("/responses", [HttpMethods.Post], context => Handlers(context).CreateAsync(context));
        group.Map("/responses", context => OpenAiEndpoints.MethodNotAllowedAsync(context, HttpMethods.Post)).WithOrder(1);
        group.MapMethods("/responses/{id}", [HttpMethods.Get], context => Handlers(context).GetAsync(context));
        group.MapMethods("/responses/{id}", [HttpMethods.Delete], context => Handlers(context).DeleteAsync(context));
        group.Map("/responses/{id}", context => OpenAiEndpoints.MethodNotAllowedAsync(context, "GET, DELETE")).WithOrder(1);
        group.MapMethods("/responses/{id}/cancel", [HttpMethods.Post], context => Handlers(context).CancelAsync(context));
        group.Map("/responses/{id}/cancel", context => OpenAiEndpoints.MethodNotAllowedAsync(context, HttpMethods.Post)).WithOrder(1);
    }
}
