using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore;

/// <summary>The request handlers behind <c>MapOpenAiStreaming()</c>.</summary>
internal sealed class OpenAiEndpoints(
    ChatModelRegistry models,
    ApiKeyValidator apiKeys,
    StreamingEnvironment environment,
    OpenAiStreamingMetrics metrics)
{
    private readonly OpenAiStreamingOptions _options = environment.Options;

    /// <summary>When this server started: the <c>created</c> of every model in <c>/v1/models</c>.</summary>
    private readonly long _startedAt = environment.TimeProvider.GetUtcNow().ToUnixTimeSeconds();

    public Task ChatCompletionsAsync(HttpContext context) =>
        CompleteAsync(context, CompletionKind.Chat, OpenAiJsonContext.Default.ChatCompletionRequest, r => RequestValidator.Validate(r, _options.MaxChoices));

    public Task CompletionsAsync(HttpContext context) =>
        CompleteAsync(context, CompletionKind.Text, OpenAiJsonContext.Default.CompletionRequest, r => RequestValidator.Validate(r, _options.DefaultCompletionMaxTokens, _options.MaxChoices));

    public Task ListModelsAsync(HttpContext context)
    {
        if (!apiKeys.IsAuthorized(context.Request))
        {
            return Unauthorized().WriteAsync(context.Response);
        }

        var list = new ModelListResponse { Data = [.. models.Ids.Select(ToModel)] };
        return context.Response.WriteAsJsonAsync(list, OpenAiJsonContext.Default.ModelListResponse, contentType: "application/json", context.RequestAborted);
    }

    public Task GetModelAsync(HttpContext context)
    {
        if (!apiKeys.IsAuthorized(context.Request))
        {
            return Unauthorized().WriteAsync(context.Response);
        }

        string id = (string)context.Request.RouteValues["model"]!;
        return models.Ids.Contains(id)
            ? context.Response.WriteAsJsonAsync(ToModel(id), OpenAiJsonContext.Default.ModelDto, contentType: "application/json", context.RequestAborted)
            : OpenAiError.ModelNotFound(id).WriteAsync(context.Response);
    }

    public static Task MethodNotAllowedAsync(HttpContext context, string allowed)
    {
        context.Response.Headers.Allow = allowed;
        return new OpenAiError(StatusCodes.Status405MethodNotAllowed,
            $"Method {context.Request.Method} is not allowed on {context.Request.Path}; use {allowed}.", OpenAiError.InvalidRequest, null, "method_not_allowed")
            .WriteAsync(context.Response);
    }

    private ModelDto ToModel(string id) => new() { Id = id, Created = _startedAt, OwnedBy = _options.OwnedBy };

    private static OpenAiError Unauthorized() =>
        new(StatusCodes.Status401Unauthorized, "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'.", OpenAiError.InvalidRequest, null, "invalid_api_key");

    private async Task CompleteAsync<TRequest>(
        HttpContext context,
        CompletionKind kind,
        JsonTypeInfo<TRequest> typeInfo,
        Func<TRequest, (ValidatedRequest? Request, OpenAiError? Error)> validate)
        where TRequest : class
    {
        var timeProvider = environment.TimeProvider;
        long arrival = timeProvider.GetTimestamp();
        if (!apiKeys.IsAuthorized(context.Request))
        {
            await Unauthorized().WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var (body, error) = await RequestReader.ReadAsync(context.Request, typeInfo, _options.MaxRequestBodySize).ConfigureAwait(false);
        ValidatedRequest? request = null;
        if (error is null)
        {
            (request, error) = validate(body!);
        }

        IChatClient? client = null;
        if (error is null && !models.TryGet(request!.Model, out client))
        {
            error = OpenAiError.ModelNotFound(request.Model);
        }
        else if (error is null && request!.TopLogprobs is not null && !ChatModelCapabilities.Of(client!).Logprobs)
        {
            error = OpenAiError.BadRequest($"Model '{request.Model}' does not report logprobs.", "logprobs", "unsupported_parameter");
        }

        if (error is not null)
        {
            await error.WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var requestMetrics = metrics.StartRequest(request!.Model, kind == CompletionKind.Chat ? "chat" : "text_completion", arrival, timeProvider);
        var encoder = new ChatCompletionEncoder(kind, request, _options, timeProvider);
        await new CompletionLifecycle(context, request, client!, encoder, requestMetrics, environment).RunAsync().ConfigureAwait(false);
    }
}
