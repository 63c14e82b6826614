using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore;

/// <summary>The request handlers behind <c>MapOpenAiStreaming()</c>.</summary>
internal sealed class OpenAiEndpoints(
    ChatModelRegistry models,
    ApiKeyValidator apiKeys,
    AdmissionControl admissions,
    StreamLifetime lifetime,
    OpenAiStreamingMetrics metrics,
    IOptions<OpenAiStreamingOptions> options,
    TimeProvider timeProvider,
    ILogger<OpenAiEndpoints> logger)
{
    private readonly OpenAiStreamingOptions _options = options.Value;

    /// <summary>When this server started: the <c>created</c> of every model in <c>/v1/models</c>.</summary>
    private readonly long _startedAt = timeProvider.GetUtcNow().ToUnixTimeSeconds();

    public Task ChatCompletionsAsync(HttpContext context) =>
        CompleteAsync(context, CompletionKind.Chat, OpenAiJsonContext.Default.ChatCompletionRequest, RequestValidator.Validate);

    public Task CompletionsAsync(HttpContext context) =>
        CompleteAsync(context, CompletionKind.Text, OpenAiJsonContext.Default.CompletionRequest, r => RequestValidator.Validate(r, _options.DefaultCompletionMaxTokens));

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

        if (error is not null)
        {
            await error.WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var requestMetrics = metrics.StartRequest(request!.Model, kind == CompletionKind.Chat ? "chat" : "text_completion", arrival, timeProvider);
        if (lifetime.Stopping.IsCancellationRequested)
        {
            await RefuseAsync(context, requestMetrics, "server_shutting_down", CompletionExchange.ShuttingDown).ConfigureAwait(false);
            return;
        }

        // Admission happens while a real status code can still be sent.
        var admission = admissions.For(request.Model);
        var admitted = admission.TryEnter();
        if (admitted == AdmissionResult.Rejected)
        {
            context.Response.Headers.RetryAfter = "1";
            await RefuseAsync(context, requestMetrics, "rate_limited", new OpenAiError(StatusCodes.Status429TooManyRequests,
                $"Model '{request.Model}' is serving its maximum number of requests; retry shortly.", "rate_limit_exceeded", null, "too_many_requests")).ConfigureAwait(false);
            return;
        }

        var exchange = new CompletionExchange(context, kind, request, client!, admission, _options, lifetime, timeProvider, logger, requestMetrics);
        await exchange.RunAsync(queued: admitted == AdmissionResult.Queued).ConfigureAwait(false);
    }

    private static async Task RefuseAsync(HttpContext context, RequestMetrics requestMetrics, string errorType, OpenAiError error)
    {
        using (requestMetrics)
        {
            requestMetrics.Failed(errorType);
            await error.WriteAsync(context.Response).ConfigureAwait(false);
        }
    }
}
