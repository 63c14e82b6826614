using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Limits;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore;

/// <summary>The request handlers behind <c>MapOpenAiStreaming()</c>.</summary>
internal sealed class OpenAiEndpoints(
    ChatModelRegistry models,
    ApiKeyValidator apiKeys,
    ApiKeyLimiter keyLimits,
    StreamingEnvironment environment,
    OpenAiStreamingMetrics metrics)
{
    private readonly OpenAiStreamingOptions _options = environment.Options;

    /// <summary>Validates a chat request (made once, not per request).</summary>
    private Func<ChatCompletionRequest, (ValidatedRequest? Request, OpenAiError? Error)> ValidateChat =>
        field ??= r => RequestValidator.Validate(r, _options.MaxChoices);

    /// <summary>Validates a legacy completion request (made once, not per request).</summary>
    private Func<CompletionRequest, (ValidatedRequest? Request, OpenAiError? Error)> ValidateText =>
        field ??= r => RequestValidator.Validate(r, _options.DefaultCompletionMaxTokens, _options.MaxChoices);

    /// <summary>When this server started: the <c>created</c> of every model in <c>/v1/models</c>.</summary>
    private readonly long _startedAt = environment.TimeProvider.GetUtcNow().ToUnixTimeSeconds();

    public Task ChatCompletionsAsync(HttpContext context) =>
        CompleteAsync(context, CompletionKind.Chat, OpenAiJsonContext.Default.ChatCompletionRequest, ValidateChat);

    public Task CompletionsAsync(HttpContext context) =>
        CompleteAsync(context, CompletionKind.Text, OpenAiJsonContext.Default.CompletionRequest, ValidateText);

    public Task ListModelsAsync(HttpContext context)
    {
        if (!apiKeys.TryAuthorize(context.Request, out string? keyId))
        {
            return Unauthorized().WriteAsync(context.Response);
        }

        WriteLimitHeaders(context, keyId);

        var list = new ModelListResponse { Data = [.. models.Ids.Select(ToModel)] };
        return context.Response.WriteAsJsonAsync(list, OpenAiJsonContext.Default.ModelListResponse, contentType: "application/json", context.RequestAborted);
    }

    public Task GetModelAsync(HttpContext context)
    {
        if (!apiKeys.TryAuthorize(context.Request, out string? keyId))
        {
            return Unauthorized().WriteAsync(context.Response);
        }

        WriteLimitHeaders(context, keyId);

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

    private void WriteLimitHeaders(HttpContext context, string? keyId)
    {
        if (keyId is not null)
        {
            keyLimits.For(keyId)?.WriteHeaders(context.Response.Headers);
        }
    }

    private static OpenAiError RateLimited(KeyLimit limit) => new(
        StatusCodes.Status429TooManyRequests,
        limit switch
        {
            KeyLimit.Requests => "Rate limit reached for requests per minute on this API key. Retry after the time in the Retry-After header.",
            KeyLimit.Tokens => "Rate limit reached for tokens per minute on this API key. Retry after the time in the Retry-After header.",
            _ => "Too many concurrent requests on this API key. Retry once one of them has finished.",
        },
        limit switch
        {
            KeyLimit.Requests => "requests",
            KeyLimit.Tokens => "tokens",
            _ => "concurrent_requests",
        },
        null,
        "rate_limit_exceeded");

    private static OpenAiError Unauthorized() =>
        new(StatusCodes.Status401Unauthorized, "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'.", OpenAiError.InvalidRequest, null, "invalid_api_key");

    // The serving path awaits only where it must (a body that has not fully arrived, a per-key slot to release): an
    // async method still awaiting keeps its state for as long as the stream is open (see CompletionLifecycle.RunAsync).
    private Task CompleteAsync<TRequest>(
        HttpContext context,
        CompletionKind kind,
        JsonTypeInfo<TRequest> typeInfo,
        Func<TRequest, (ValidatedRequest? Request, OpenAiError? Error)> validate)
        where TRequest : class
    {
        long arrival = environment.TimeProvider.GetTimestamp();
        if (!apiKeys.TryAuthorize(context.Request, out string? keyId))
        {
            return Unauthorized().WriteAsync(context.Response);
        }

        var limits = keyId is null ? null : keyLimits.For(keyId);
        IDisposable? keySlot = null;
        if (limits is not null)
        {
            var refused = limits.TryAdmit(out keySlot);
            limits.WriteHeaders(context.Response.Headers);
            if (refused is { } limit)
            {
                ApiKeyLimitLog.Refused(environment.Logger, keyId![..8], limit);
                context.Response.Headers.RetryAfter = limits.RetryAfterSeconds(limit).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return RateLimited(limit).WriteAsync(context.Response);
            }
        }

        var read = RequestReader.ReadAsync(context.Request, typeInfo, _options.MaxRequestBodySize);
        return keySlot is null && read.IsCompletedSuccessfully
            ? ServeAsync(context, kind, read.Result, validate, arrival, limits)
            : ReadAndServeAsync(context, kind, read, validate, arrival, limits, keySlot);
    }

    private async Task ReadAndServeAsync<TRequest>(
        HttpContext context,
        CompletionKind kind,
        ValueTask<(TRequest? Body, OpenAiError? Error)> read,
        Func<TRequest, (ValidatedRequest? Request, OpenAiError? Error)> validate,
        long arrival,
        KeyLimiters? limits,
        IDisposable? keySlot)
        where TRequest : class
    {
        using (keySlot)
        {
            var body = await read.ConfigureAwait(false);
            await ServeAsync(context, kind, body, validate, arrival, limits).ConfigureAwait(false);
        }
    }

    /// <summary>Validates the request read and runs it through its lifecycle.</summary>
    private Task ServeAsync<TRequest>(
        HttpContext context,
        CompletionKind kind,
        (TRequest? Body, OpenAiError? Error) read,
        Func<TRequest, (ValidatedRequest? Request, OpenAiError? Error)> validate,
        long arrival,
        KeyLimiters? limits)
        where TRequest : class
    {
        var (body, error) = read;
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
            return error.WriteAsync(context.Response);
        }

        var timeProvider = environment.TimeProvider;
        var requestMetrics = metrics.StartRequest(request!.Model, kind == CompletionKind.Chat ? "chat" : "text_completion", arrival, timeProvider);
        return CompletionLifecycle.ForCompletion(context, kind, request, client!, requestMetrics, environment).RunAsync(limits);
    }
}
