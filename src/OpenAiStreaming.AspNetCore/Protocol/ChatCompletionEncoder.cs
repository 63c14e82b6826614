using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Pump;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>
/// The bytes of <c>/v1/chat/completions</c> and <c>/v1/completions</c>: chunks as server-sent events ending in
/// <c>[DONE]</c>, whole answers as one JSON body, failures in OpenAI's error shape. <c>id</c>, <c>created</c> and
/// <c>model</c> are fixed for the request, as OpenAI's clients expect.
/// </summary>
internal sealed class ChatCompletionEncoder : ICompletionEncoder
{
    /// <summary>The answer for requests that arrive, wait or still stream while the host is stopping.</summary>
    public static readonly OpenAiError ShuttingDown = new(StatusCodes.Status503ServiceUnavailable,
        "The server is shutting down; retry the request.", OpenAiError.ServerError, null, "server_shutting_down");

    private readonly CompletionKind _kind;
    private readonly ValidatedRequest _request;
    private readonly OpenAiStreamingOptions _options;
    private readonly string _id;
    private readonly long _created;

    /// <summary>The event writer, once the response has started as an event stream.</summary>
    private ServerSentEventWriter? _sse;

    private ChunkWriter? _chunks;

    /// <summary>The <c>index</c> of the next tool call in the stream.</summary>
    private int _toolCallIndex;

    public ChatCompletionEncoder(CompletionKind kind, ValidatedRequest request, OpenAiStreamingOptions options, TimeProvider timeProvider)
    {
        _kind = kind;
        _request = request;
        _options = options;
        _id = (kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-") + RandomNumberGenerator.GetHexString(24, lowercase: true);
        _created = timeProvider.GetUtcNow().ToUnixTimeSeconds();
    }

    public bool HasStarted => _sse is not null;

    public int UnflushedEvents => _sse!.UnflushedEvents;

    public long UnflushedBytes => _sse!.UnflushedBytes;

    public void StartStream(HttpResponse response)
    {
        response.PrepareServerSentEvents();
        _sse = new ServerSentEventWriter(response.BodyWriter);
        _chunks = new ChunkWriter(_sse, _kind, _id, _created, _request.Model);
        _chunks.WriteRole();
    }

    public bool WriteDelta(CompletionState state, int toolCalls)
    {
        var chunks = _chunks!;
        var text = state.PendingText;
        int written = 0;
        bool wrote = false;
        if (_kind == CompletionKind.Chat)
        {
            // Text that came before a tool call in the same update goes out before it.
            for (int i = state.ToolCalls.Count - toolCalls; i < state.ToolCalls.Count; i++)
            {
                var (call, position) = state.ToolCalls[i];
                if (position > written)
                {
                    chunks.WriteContent(text[written..position]);
                    written = position;
                }

                chunks.WriteToolCall(_toolCallIndex++, call);
                wrote = true;
            }
        }

        if (written < text.Length)
        {
            chunks.WriteContent(text[written..]);
            wrote = true;
        }

        return wrote;
    }

    public void WriteHeartbeat() => _sse!.WriteComment("keep-alive");

    public void WriteEnd(string finishReason, TokenUsage usage)
    {
        var chunks = _chunks!;
        chunks.WriteFinish(finishReason);
        if (_request.IncludeUsage)
        {
            chunks.WriteUsage(usage.Prompt, usage.Completion);
        }

        chunks.WriteDone();
    }

    public void WriteError(CompletionEnd end) => _chunks!.WriteError(ToError(end));

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken) => _sse!.FlushAsync(cancellationToken);

    public Task WriteFailureAsync(HttpResponse response, CompletionEnd end) => ToError(end).WriteAsync(response);

    public Task WriteWholeAsync(HttpResponse response, CompletionState state, TokenUsage usage, CancellationToken cancellationToken)
    {
        var usageDto = new UsageDto { PromptTokens = usage.Prompt, CompletionTokens = usage.Completion, TotalTokens = usage.Prompt + usage.Completion };
        string text = state.PendingText.ToString();
        if (_kind == CompletionKind.Chat)
        {
            var message = new ResponseMessageDto
            {
                Content = text.Length == 0 && state.ToolCalls.Count > 0 ? null : text,
                ToolCalls = state.ToolCalls.Count == 0 ? null : [.. state.ToolCalls.Select(t => ToToolCallDto(t.Call))],
            };
            var body = new ChatCompletionResponse
            {
                Id = _id,
                Created = _created,
                Model = _request.Model,
                Choices = [new ChatChoiceDto { Message = message, FinishReason = state.FinishReason }],
                Usage = usageDto,
            };
            return response.WriteAsJsonAsync(body, OpenAiJsonContext.Default.ChatCompletionResponse, "application/json", cancellationToken);
        }

        var textBody = new TextCompletionResponse
        {
            Id = _id,
            Created = _created,
            Model = _request.Model,
            Choices = [new TextChoiceDto { Text = text, FinishReason = state.FinishReason }],
            Usage = usageDto,
        };
        return response.WriteAsJsonAsync(textBody, OpenAiJsonContext.Default.TextCompletionResponse, "application/json", cancellationToken);
    }

    private static ToolCallDto ToToolCallDto(FunctionCallContent call) => new()
    {
        Id = call.CallId,
        Type = "function",
        Function = new FunctionCallDto { Name = call.Name, Arguments = ToolCallArguments.Serialize(call) },
    };

    /// <summary>A failed end in OpenAI's terms.</summary>
    private OpenAiError ToError(CompletionEnd end) => end.Kind switch
    {
        CompletionEndKind.RateLimited => new OpenAiError(StatusCodes.Status429TooManyRequests,
            $"Model '{_request.Model}' is serving its maximum number of requests; retry shortly.", "rate_limit_exceeded", null, "too_many_requests"),
        CompletionEndKind.Unavailable or CompletionEndKind.ShutdownCut => ShuttingDown,
        CompletionEndKind.BackendRejected => OpenAiError.BadRequest(end.Exception!.Message),
        CompletionEndKind.ClientTooSlow => new OpenAiError(StatusCodes.Status500InternalServerError,
            ((TokenPumpOverflowException)end.Exception!).Message, OpenAiError.ServerError, null, "client_too_slow"),
        CompletionEndKind.TimedOut => new OpenAiError(StatusCodes.Status500InternalServerError,
            $"The request took longer than the server's limit of {_options.MaxStreamDuration!.Value.TotalSeconds:0.###} seconds.", OpenAiError.ServerError, null, "timeout"),
        _ => OpenAiError.Server(_options.IncludeExceptionDetails && end.Exception is { } exception
            ? $"The model failed: {exception.GetType().Name}: {exception.Message}"
            : "The model failed while generating this response."),
    };
}
