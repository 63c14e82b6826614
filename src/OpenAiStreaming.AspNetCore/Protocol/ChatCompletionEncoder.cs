using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
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

    private CompletionKind _kind;
    private ValidatedRequest _request = null!;
    private OpenAiStreamingOptions _options = null!;
    private string _id = null!;
    private long _created;

    /// <summary>The event writer, once the response has started as an event stream.</summary>
    private ServerSentEventWriter? _sse;

    private ChunkWriter? _chunks;

    /// <summary>The <c>index</c> of the next tool call of each choice in the stream; made with the first tool call.</summary>
    private int[]? _toolCallIndex;

    /// <summary>The state the lifecycle folds deltas into, once a delta came: every choice's finish reason at the end.</summary>
    private CompletionState? _state;

    public ChatCompletionEncoder(CompletionKind kind, ValidatedRequest request, OpenAiStreamingOptions options, TimeProvider timeProvider) =>
        Initialize(kind, request, options, timeProvider);

    /// <summary>For a pooled lifecycle, which initializes it for each request (<see cref="Initialize"/>).</summary>
    public ChatCompletionEncoder()
    {
    }

    /// <summary>Sets the encoder up for a request.</summary>
    public void Initialize(CompletionKind kind, ValidatedRequest request, OpenAiStreamingOptions options, TimeProvider timeProvider)
    {
        _kind = kind;
        _request = request;
        _options = options;
        _id = (kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-") + RandomNumberGenerator.GetHexString(24, lowercase: true);
        _created = timeProvider.GetUtcNow().ToUnixTimeSeconds();
    }

    /// <summary>Forgets the request, for the next one.</summary>
    public void Reset()
    {
        _request = null!;
        _options = null!;
        _id = null!;
        _sse = null;
        _chunks = null;
        _toolCallIndex = null;
        _state = null;
    }

    public bool HasStarted => _sse is not null;

    public int UnflushedEvents => _sse!.UnflushedEvents;

    public long UnflushedBytes => _sse!.UnflushedBytes;

    public void StartStream(HttpResponse response)
    {
        response.PrepareServerSentEvents();
        _sse = new ServerSentEventWriter(response.BodyWriter);
        _chunks = new ChunkWriter(_sse, _kind, _id, _created, _request.Model);
        if (_request.ContinuousUsage)
        {
            _chunks.ContinuousUsage = new TokenUsage(0, 0);
        }

        for (int choice = 0; choice < _request.Choices; choice++)
        {
            _chunks.WriteRole(choice);
        }
    }

    public bool WriteDelta(CompletionState state, int toolCalls)
    {
        _state = state;
        var chunks = _chunks!;
        var current = state.Current;
        if (_request.ContinuousUsage)
        {
            chunks.ContinuousUsage = state.Usage(_request.Messages);
        }

        var text = state.PendingText;
        IReadOnlyList<LogprobContent>? logprobs = _request.TopLogprobs is null ? null : current.PendingLogprobs;
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
                    chunks.WriteContent(text[written..position], current.Index, logprobs);
                    logprobs = logprobs is null ? null : [];
                    written = position;
                }

                _toolCallIndex ??= new int[_request.Choices];
                chunks.WriteToolCall(_toolCallIndex[current.Index]++, call, current.Index);
                wrote = true;
            }
        }

        if (written < text.Length)
        {
            chunks.WriteContent(text[written..], current.Index, logprobs, current.WrittenLength + written);
            wrote = true;
        }

        return wrote;
    }

    public void WriteHeartbeat() => _sse!.WriteComment("keep-alive");

    public void WriteEnd(string finishReason, TokenUsage usage)
    {
        var chunks = _chunks!;
        if (_request.ContinuousUsage)
        {
            chunks.ContinuousUsage = usage;
        }

        for (int choice = 0; choice < _request.Choices; choice++)
        {
            chunks.WriteFinish(choice == 0 || _state is null ? finishReason : _state.Choice(choice).FinishReason, choice);
        }

        chunks.ContinuousUsage = null;
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
        var choices = Enumerable.Range(0, _request.Choices).Select(state.Choice).ToList();
        if (_kind == CompletionKind.Chat)
        {
            var body = new ChatCompletionResponse
            {
                Id = _id,
                Created = _created,
                Model = _request.Model,
                Choices = [.. choices.Select(ToChatChoice)],
                Usage = usageDto,
            };
            return response.WriteAsJsonAsync(body, OpenAiJsonContext.Default.ChatCompletionResponse, "application/json", cancellationToken);
        }

        var textBody = new TextCompletionResponse
        {
            Id = _id,
            Created = _created,
            Model = _request.Model,
            Choices = [.. choices.Select(c => new TextChoiceDto
            {
                Index = c.Index,
                Text = c.PendingText.ToString(),
                Logprobs = _request.TopLogprobs is null ? null : ToTextLogprobs(c.PendingLogprobs),
                FinishReason = c.FinishReason,
            })],
            Usage = usageDto,
        };
        return response.WriteAsJsonAsync(textBody, OpenAiJsonContext.Default.TextCompletionResponse, "application/json", cancellationToken);
    }

    private ChatChoiceDto ToChatChoice(ChoiceState choice)
    {
        string text = choice.PendingText.ToString();
        var message = new ResponseMessageDto
        {
            Content = text.Length == 0 && choice.ToolCalls.Count > 0 ? null : text,
            ToolCalls = choice.ToolCalls.Count == 0 ? null : [.. choice.ToolCalls.Select(t => ToToolCallDto(t.Call))],
        };
        return new ChatChoiceDto
        {
            Index = choice.Index,
            Message = message,
            Logprobs = _request.TopLogprobs is null ? null : new ChatLogprobsDto { Content = [.. choice.PendingLogprobs.Select(ToTokenLogprob)] },
            FinishReason = choice.FinishReason,
        };
    }

    private static TokenLogprobDto ToTokenLogprob(LogprobContent logprob) => new()
    {
        Token = logprob.Token,
        Logprob = ChunkWriter.Clamp(logprob.Logprob),
        Bytes = [.. Encoding.UTF8.GetBytes(logprob.Token).Select(b => (int)b)],
        TopLogprobs = [.. logprob.TopLogprobs.Select(t => new TokenLogprobDto
        {
            Token = t.Token,
            Logprob = ChunkWriter.Clamp(t.Logprob),
            Bytes = [.. Encoding.UTF8.GetBytes(t.Token).Select(b => (int)b)],
        })],
    };

    private static TextLogprobsDto ToTextLogprobs(IReadOnlyList<LogprobContent> logprobs)
    {
        var offsets = new List<int>(logprobs.Count);
        int offset = 0;
        foreach (var logprob in logprobs)
        {
            offsets.Add(offset);
            offset += logprob.Token.Length;
        }

        return new TextLogprobsDto
        {
            Tokens = [.. logprobs.Select(l => l.Token)],
            TokenLogprobs = [.. logprobs.Select(l => ChunkWriter.Clamp(l.Logprob))],
            TopLogprobs = [.. logprobs.Select(l => l.TopLogprobs.DistinctBy(t => t.Token).ToDictionary(t => t.Token, t => ChunkWriter.Clamp(t.Logprob)))],
            TextOffset = offsets,
        };
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
