using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.Metrics;
using OpenAiStreaming.Pump;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// One admitted completion, from the wait for a slot to the last byte: it runs the model through a pump under one
/// token linked to the client's connection, the host's shutdown deadline and the stream's maximum duration, and it
/// ends every stream either complete (<c>[DONE]</c>) or visibly failed (an error event, then an aborted connection).
/// </summary>
internal sealed class CompletionExchange
{
    /// <summary>The answer for requests that arrive or wait while the host is stopping.</summary>
    public static readonly OpenAiError ShuttingDown = new(StatusCodes.Status503ServiceUnavailable,
        "The server is shutting down; retry the request.", OpenAiError.ServerError, null, "server_shutting_down");

    /// <summary>How long an error event gets to reach the socket before the connection is aborted (see DESIGN).</summary>
    private static readonly TimeSpan s_errorDrainDelay = TimeSpan.FromMilliseconds(100);

    private static readonly Action<CompletionState, FunctionCallContent> s_ignoreToolCall = static (_, _) => { };

    private readonly HttpContext _context;
    private readonly CompletionKind _kind;
    private readonly ValidatedRequest _request;
    private readonly IChatClient _client;
    private readonly ModelAdmission _admission;
    private readonly OpenAiStreamingOptions _options;
    private readonly StreamLifetime _lifetime;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly RequestMetrics _metrics;
    private readonly string _id;
    private readonly long _created;

    /// <summary>What the model has produced so far.</summary>
    private readonly CompletionState _state = new();

    /// <summary>Fires when <see cref="OpenAiStreamingOptions.MaxStreamDuration"/> has passed; null without a limit.</summary>
    private CancellationTokenSource? _deadline;

    /// <summary>The stream's one token: the client's connection, the shutdown deadline, the duration limit.</summary>
    private CancellationTokenSource? _stream;

    /// <summary>The event writer, once the response has started as an event stream.</summary>
    private ServerSentEventWriter? _sse;

    private ChunkWriter? _chunks;

    /// <summary>True when content was written since the last flush: the user sees tokens when it completes.</summary>
    private bool _contentPending;

    public CompletionExchange(
        HttpContext context,
        CompletionKind kind,
        ValidatedRequest request,
        IChatClient client,
        ModelAdmission admission,
        OpenAiStreamingOptions options,
        StreamLifetime lifetime,
        TimeProvider timeProvider,
        ILogger logger,
        RequestMetrics metrics)
    {
        _context = context;
        _kind = kind;
        _request = request;
        _client = client;
        _admission = admission;
        _options = options;
        _lifetime = lifetime;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _id = (kind == CompletionKind.Chat ? "chatcmpl-" : "cmpl-") + RandomNumberGenerator.GetHexString(24, lowercase: true);
        _created = timeProvider.GetUtcNow().ToUnixTimeSeconds();
    }

    private CancellationToken Aborted => _context.RequestAborted;

    private CancellationToken StreamToken => _stream!.Token;

    /// <summary>Runs the exchange; <paramref name="queued"/> when admission put it in the model's queue.</summary>
    public async Task RunAsync(bool queued)
    {
        _deadline = _options.MaxStreamDuration is { } duration ? new CancellationTokenSource(duration, _timeProvider) : null;
        _stream = CancellationTokenSource.CreateLinkedTokenSource(Aborted, _lifetime.DrainDeadline, _deadline?.Token ?? default);
        bool admitted = !queued;
        try
        {
            if (queued && !(admitted = await WaitForAdmissionAsync().ConfigureAwait(false)))
            {
                return;
            }

            await using var pump = await StartPumpAsync().ConfigureAwait(false);
            if (pump is null)
            {
                return;
            }

            try
            {
                if (_request.Stream)
                {
                    await StreamAsync(pump).ConfigureAwait(false);
                }
                else
                {
                    await RespondWholeAsync(pump).ConfigureAwait(false);
                }
            }
            finally
            {
                _metrics.Coalesced(pump.MergedCount);
            }
        }
        catch (Exception) when (Aborted.IsCancellationRequested)
        {
            // The client left: whatever failed on the way out (a write, the producer's cancellation) is expected.
            OpenAiStreamingLog.ClientDisconnected(_logger, _request.Model);
        }
        finally
        {
            if (Aborted.IsCancellationRequested)
            {
                _metrics.Disconnected(OutputTokens);
            }

            _metrics.Dispose();
            if (admitted)
            {
                _admission.Leave();
            }

            _stream.Dispose();
            _deadline?.Dispose();
        }
    }

    /// <summary>
    /// Waits for a slot. A streaming request starts its response first and sends heartbeats while it waits, so proxies
    /// keep it open; the host stopping ends the wait with 503 or the shutdown error event.
    /// </summary>
    private async Task<bool> WaitForAdmissionAsync()
    {
        _metrics.Queued();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(StreamToken, _lifetime.Stopping);
        var heartbeat = _options.HeartbeatInterval > TimeSpan.Zero ? _options.HeartbeatInterval : Timeout.InfiniteTimeSpan;
        bool admitted = false;
        try
        {
            if (_request.Stream && !await StartStreamAsync().ConfigureAwait(false))
            {
                return false;
            }

            while (!(admitted = await _admission.WaitAsync(heartbeat, wait.Token).ConfigureAwait(false)))
            {
                if (_sse is not null && !await WriteHeartbeatAndFlushAsync().ConfigureAwait(false))
                {
                    return false;
                }
            }

            _metrics.Admitted();
            return true;
        }
        catch (OperationCanceledException) when (!Aborted.IsCancellationRequested)
        {
            if (_lifetime.Stopping.IsCancellationRequested)
            {
                _metrics.Failed("server_shutting_down");
                await FailAsync(ShuttingDown).ConfigureAwait(false);
            }
            else
            {
                await FailAsync(EndError(null)).ConfigureAwait(false);
            }

            return false;
        }
        finally
        {
            if (!admitted)
            {
                _admission.LeaveQueue();
            }
        }
    }

    /// <summary>
    /// Starts the model. A backend that rejects the request at once, before it streams anything, gets a real status:
    /// 400 for an <see cref="ArgumentException"/>, 500 otherwise (or an error event if the response already started).
    /// </summary>
    private async Task<TokenPump<ChatDelta>?> StartPumpAsync()
    {
        try
        {
            return TokenPump<ChatDelta>.Start(
                ct => ChatDelta.FromAsync(_client.GetStreamingResponseAsync(_request.Messages, _request.Options, ct)),
                ChatDeltaMerger.Instance,
                new TokenPumpOptions { Capacity = _options.MaxQueuedDeltas, MaxBufferedBytes = _options.MaxBufferedBytes },
                StreamToken);
        }
        catch (ArgumentException ex) when (!Aborted.IsCancellationRequested)
        {
            OpenAiStreamingLog.BackendRejectedRequest(_logger, _request.Model, ex);
            _metrics.Failed(ex.GetType().FullName!);
            await FailAsync(OpenAiError.BadRequest(ex.Message)).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (!Aborted.IsCancellationRequested)
        {
            await FailAsync(EndError(ex)).ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Sends the event-stream headers and the role chunk in one flush; false when the client is gone.</summary>
    private ValueTask<bool> StartStreamAsync()
    {
        _context.Response.PrepareServerSentEvents();
        _sse = new ServerSentEventWriter(_context.Response.BodyWriter);
        _chunks = new ChunkWriter(_sse, _kind, _id, _created, _request.Model);
        _chunks.WriteRole();
        return FlushAsync();
    }

    /// <summary>Flushes; a flush the client can no longer receive counts as a disconnect and stops generation.</summary>
    private async ValueTask<bool> FlushAsync()
    {
        var sse = _sse!;
        int events = sse.UnflushedEvents;
        long bytes = sse.UnflushedBytes;
        long start = _timeProvider.GetTimestamp();
        var result = await sse.FlushAsync(Aborted).ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            _metrics.Disconnected(OutputTokens);
            _stream!.Cancel();
            return false;
        }

        _metrics.Flushed(events, bytes, start, _contentPending);
        _contentPending = false;
        return true;
    }

    private ValueTask<bool> WriteHeartbeatAndFlushAsync()
    {
        _sse!.WriteComment("keep-alive");
        _metrics.Heartbeat();
        return FlushAsync();
    }

    /// <summary>Output tokens so far, as usage would report them.</summary>
    private int OutputTokens => _state.Usage(_request.Messages).Completion;

    private async Task StreamAsync(TokenPump<ChatDelta> pump)
    {
        try
        {
            if (_sse is null && !await StartStreamAsync().ConfigureAwait(false))
            {
                return;
            }

            var chunks = _chunks!;
            var state = _state;
            int toolCallIndex = 0;
            void WriteToolCall(CompletionState s, FunctionCallContent call)
            {
                WritePendingText();
                chunks.WriteToolCall(toolCallIndex++, call);
                _contentPending = true;
            }

            var onToolCall = _kind == CompletionKind.Chat ? WriteToolCall : s_ignoreToolCall;
            while (true)
            {
                var signal = await pump.WaitAsync(_options.HeartbeatInterval, StreamToken).ConfigureAwait(false);
                if (signal == PumpSignal.Completed)
                {
                    var (prompt, completion) = state.Usage(_request.Messages);
                    chunks.WriteFinish(state.FinishReason);
                    if (_request.IncludeUsage)
                    {
                        chunks.WriteUsage(prompt, completion);
                    }

                    chunks.WriteDone();
                    if (await FlushAsync().ConfigureAwait(false))
                    {
                        _metrics.Completed(state.FinishReason, prompt, completion);
                    }

                    return;
                }

                if (signal == PumpSignal.Idle)
                {
                    if (!await WriteHeartbeatAndFlushAsync().ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                // Everything that is ready goes out in one flush, a chunk per delta as the backend produced them
                // (a delta holds several tokens only when the pump merged them for a lagging client).
                while (pump.TryRead(out var delta))
                {
                    state.Apply(delta, onToolCall);
                    WritePendingText();
                }

                if (!await FlushAsync().ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (!Aborted.IsCancellationRequested)
        {
            await FailAsync(EndError(ex)).ConfigureAwait(false);
        }
    }

    private void WritePendingText()
    {
        if (!_state.PendingText.IsEmpty)
        {
            _chunks!.WriteContent(_state.PendingText);
            _state.ClearPendingText();
            _contentPending = true;
        }
    }

    private async Task RespondWholeAsync(TokenPump<ChatDelta> pump)
    {
        var state = _state;
        try
        {
            while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, StreamToken).ConfigureAwait(false) != PumpSignal.Completed)
            {
                while (pump.TryRead(out var delta))
                {
                    state.Apply(delta);
                }
            }
        }
        catch (Exception ex) when (!Aborted.IsCancellationRequested)
        {
            await FailAsync(EndError(ex)).ConfigureAwait(false);
            return;
        }

        var (prompt, completion) = state.Usage(_request.Messages);
        var usage = new UsageDto { PromptTokens = prompt, CompletionTokens = completion, TotalTokens = prompt + completion };
        string text = state.PendingText.ToString();
        var response = _context.Response;
        if (_kind == CompletionKind.Chat)
        {
            var message = new ResponseMessageDto
            {
                Content = text.Length == 0 && state.ToolCalls.Count > 0 ? null : text,
                ToolCalls = state.ToolCalls.Count == 0 ? null : [.. state.ToolCalls.Select(ToToolCallDto)],
            };
            var body = new ChatCompletionResponse
            {
                Id = _id,
                Created = _created,
                Model = _request.Model,
                Choices = [new ChatChoiceDto { Message = message, FinishReason = state.FinishReason }],
                Usage = usage,
            };
            await response.WriteAsJsonAsync(body, OpenAiJsonContext.Default.ChatCompletionResponse, "application/json", Aborted).ConfigureAwait(false);
        }
        else
        {
            var body = new TextCompletionResponse
            {
                Id = _id,
                Created = _created,
                Model = _request.Model,
                Choices = [new TextChoiceDto { Text = text, FinishReason = state.FinishReason }],
                Usage = usage,
            };
            await response.WriteAsJsonAsync(body, OpenAiJsonContext.Default.TextCompletionResponse, "application/json", Aborted).ConfigureAwait(false);
        }

        _metrics.AnswerWritten();
        _metrics.Completed(state.FinishReason, prompt, completion);
    }

    private static ToolCallDto ToToolCallDto(FunctionCallContent call) => new()
    {
        Id = call.CallId,
        Type = "function",
        Function = new FunctionCallDto { Name = call.Name, Arguments = ToolCallArguments.Serialize(call) },
    };

    /// <summary>Why a started exchange ended early, in OpenAI's terms, and logged once.</summary>
    private OpenAiError EndError(Exception? exception)
    {
        if (exception is TokenPumpOverflowException overflow)
        {
            OpenAiStreamingLog.ClientTooSlow(_logger, _request.Model, overflow.MaxBufferedBytes);
            _metrics.Failed("client_too_slow", OutputTokens);
            return new OpenAiError(StatusCodes.Status500InternalServerError, overflow.Message, OpenAiError.ServerError, null, "client_too_slow");
        }

        if (_lifetime.DrainDeadline.IsCancellationRequested)
        {
            OpenAiStreamingLog.StreamCutByShutdown(_logger, _request.Model);
            _metrics.Failed("server_shutting_down", OutputTokens);
            return ShuttingDown;
        }

        if (_deadline?.IsCancellationRequested == true)
        {
            OpenAiStreamingLog.StreamTimedOut(_logger, _request.Model, _options.MaxStreamDuration!.Value);
            _metrics.Failed("timeout", OutputTokens);
            return new OpenAiError(StatusCodes.Status500InternalServerError,
                $"The request took longer than the server's limit of {_options.MaxStreamDuration.Value.TotalSeconds:0.###} seconds.", OpenAiError.ServerError, null, "timeout");
        }

        OpenAiStreamingLog.BackendFailed(_logger, _request.Model, exception);
        _metrics.Failed(exception?.GetType().FullName ?? "_OTHER", OutputTokens);
        return OpenAiError.Server(_options.IncludeExceptionDetails && exception is not null
            ? $"The model failed: {exception.GetType().Name}: {exception.Message}"
            : "The model failed while generating this response.");
    }

    /// <summary>
    /// Ends the exchange with <paramref name="error"/>: as a status and error body while the response has not
    /// started; once it has, as an error event, flushed and given a moment to reach the socket, then an aborted
    /// connection, so that no client mistakes the truncated answer for a complete one.
    /// </summary>
    private async Task FailAsync(OpenAiError error)
    {
        if (_sse is null)
        {
            await error.WriteAsync(_context.Response).ConfigureAwait(false);
            return;
        }

        try
        {
            _chunks!.WriteError(error);
            await _sse.FlushAsync(Aborted).ConfigureAwait(false);
            await Task.Delay(s_errorDrainDelay, _timeProvider, Aborted).ConfigureAwait(false);
        }
        catch (Exception) when (Aborted.IsCancellationRequested)
        {
            // The client is gone already; the abort below is all that is left to do.
        }
        finally
        {
            _context.Abort();
        }
    }
}
