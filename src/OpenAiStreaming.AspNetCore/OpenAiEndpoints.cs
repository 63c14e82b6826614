using System.Security.Cryptography;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.Pump;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore;

/// <summary>The request handlers behind <c>MapOpenAiStreaming()</c>.</summary>
internal sealed class OpenAiEndpoints(
    ChatModelRegistry models,
    ApiKeyValidator apiKeys,
    IOptions<OpenAiStreamingOptions> options,
    TimeProvider timeProvider,
    ILogger<OpenAiEndpoints> logger)
{
    /// <summary>How long an error event gets to reach the socket before the connection is aborted (see DESIGN).</summary>
    private static readonly TimeSpan s_errorDrainDelay = TimeSpan.FromMilliseconds(100);

    private static readonly Action<CompletionState, FunctionCallContent> s_noToolCallWriter = static (_, _) => { };

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

        string id = (kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-") + RandomNumberGenerator.GetHexString(24, lowercase: true);
        long created = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var pumpOptions = new TokenPumpOptions { Capacity = _options.StreamBufferCapacity };
        var aborted = context.RequestAborted;
        await using var pump = TokenPump<ChatResponseUpdate>.Start(
            ct => client!.GetStreamingResponseAsync(request!.Messages, request.Options, ct), pumpOptions, aborted);
        try
        {
            if (request!.Stream)
            {
                await StreamAsync(context, pump, new ResponseInfo(kind, id, created, request)).ConfigureAwait(false);
            }
            else
            {
                await RespondWholeAsync(context, pump, new ResponseInfo(kind, id, created, request)).ConfigureAwait(false);
            }
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            // The client left: whatever failed on the way out (a write, the producer's cancellation) is expected.
            OpenAiStreamingLog.ClientDisconnected(logger, request!.Model);
        }
    }

    private async Task StreamAsync(HttpContext context, TokenPump<ChatResponseUpdate> pump, ResponseInfo info)
    {
        var aborted = context.RequestAborted;
        context.Response.PrepareServerSentEvents();
        var sse = new ServerSentEventWriter(context.Response.BodyWriter);
        var chunks = new ChunkWriter(sse, info.Kind, info.Id, info.Created, info.Request.Model);
        var state = new CompletionState();
        int toolCallIndex = 0;
        void WriteToolCall(CompletionState s, FunctionCallContent call)
        {
            WritePendingText(chunks, s);
            chunks.WriteToolCall(toolCallIndex++, call);
        }

        // The role chunk goes out with the headers, in the loop's first flush: clients see a live stream while the
        // model is still in prefill.
        chunks.WriteRole();
        try
        {
            while (!(await sse.FlushAsync(aborted).ConfigureAwait(false)).IsCompleted)
            {
                var signal = await pump.WaitAsync(_options.HeartbeatInterval, aborted).ConfigureAwait(false);
                if (signal == PumpSignal.Completed)
                {
                    chunks.WriteFinish(state.FinishReason);
                    if (info.Request.IncludeUsage)
                    {
                        var (prompt, completion) = state.Usage(info.Request.Messages);
                        chunks.WriteUsage(prompt, completion);
                    }

                    chunks.WriteDone();
                    await sse.FlushAsync(aborted).ConfigureAwait(false);
                    return;
                }

                if (signal == PumpSignal.Idle)
                {
                    sse.WriteComment("keep-alive");
                    continue;
                }

                // Everything that is ready goes out as one chunk and one flush.
                while (pump.TryRead(out var update))
                {
                    state.Apply(update, info.Kind == CompletionKind.Chat ? WriteToolCall : s_noToolCallWriter);
                }

                WritePendingText(chunks, state);
            }
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            OpenAiStreamingLog.BackendFailedMidStream(logger, info.Request.Model, ex);
            await FailStreamAsync(context, sse, chunks, ex).ConfigureAwait(false);
        }
    }

    private static void WritePendingText(ChunkWriter chunks, CompletionState state)
    {
        if (!state.PendingText.IsEmpty)
        {
            chunks.WriteContent(state.PendingText);
            state.ClearPendingText();
        }
    }

    /// <summary>
    /// Ends a started stream that failed: an error event, flushed and given a moment to reach the socket, then an aborted
    /// connection, so that no client mistakes the truncated answer for a complete one.
    /// </summary>
    private async Task FailStreamAsync(HttpContext context, ServerSentEventWriter sse, ChunkWriter chunks, Exception ex)
    {
        try
        {
            chunks.WriteError(OpenAiError.Server(ErrorMessage(ex)));
            await sse.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            await Task.Delay(s_errorDrainDelay, timeProvider, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client is gone already; the abort below is all that is left to do.
        }
        finally
        {
            context.Abort();
        }
    }

    private async Task RespondWholeAsync(HttpContext context, TokenPump<ChatResponseUpdate> pump, ResponseInfo info)
    {
        var aborted = context.RequestAborted;
        var state = new CompletionState();
        try
        {
            while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, aborted).ConfigureAwait(false) != PumpSignal.Completed)
            {
                while (pump.TryRead(out var update))
                {
                    state.Apply(update);
                }
            }
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            OpenAiStreamingLog.BackendFailedBeforeStart(logger, info.Request.Model, ex);
            await OpenAiError.Server(ErrorMessage(ex)).WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var (prompt, completion) = state.Usage(info.Request.Messages);
        var usage = new UsageDto { PromptTokens = prompt, CompletionTokens = completion, TotalTokens = prompt + completion };
        string text = state.PendingText.ToString();
        if (info.Kind == CompletionKind.Chat)
        {
            var message = new ResponseMessageDto
            {
                Content = text.Length == 0 && state.ToolCalls.Count > 0 ? null : text,
                ToolCalls = state.ToolCalls.Count == 0 ? null : [.. state.ToolCalls.Select(ToToolCallDto)],
            };
            var response = new ChatCompletionResponse
            {
                Id = info.Id,
                Created = info.Created,
                Model = info.Request.Model,
                Choices = [new ChatChoiceDto { Message = message, FinishReason = state.FinishReason }],
                Usage = usage,
            };
            await context.Response.WriteAsJsonAsync(response, OpenAiJsonContext.Default.ChatCompletionResponse, "application/json", aborted).ConfigureAwait(false);
        }
        else
        {
            var response = new TextCompletionResponse
            {
                Id = info.Id,
                Created = info.Created,
                Model = info.Request.Model,
                Choices = [new TextChoiceDto { Text = text, FinishReason = state.FinishReason }],
                Usage = usage,
            };
            await context.Response.WriteAsJsonAsync(response, OpenAiJsonContext.Default.TextCompletionResponse, "application/json", aborted).ConfigureAwait(false);
        }
    }

    private static ToolCallDto ToToolCallDto(FunctionCallContent call) => new()
    {
        Id = call.CallId,
        Type = "function",
        Function = new FunctionCallDto { Name = call.Name, Arguments = ToolCallArguments.Serialize(call) },
    };

    private string ErrorMessage(Exception ex) => _options.IncludeExceptionDetails
        ? $"The model failed: {ex.GetType().Name}: {ex.Message}"
        : "The model failed while generating this response.";

    private sealed record ResponseInfo(CompletionKind Kind, string Id, long Created, ValidatedRequest Request);
}
