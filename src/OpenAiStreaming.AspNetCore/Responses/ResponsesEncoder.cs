using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// The bytes of <c>/v1/responses</c>: OpenAI's response events, each with a rising <c>sequence_number</c>, into a
/// sink (the HTTP response as server-sent events, or a background response's store); whole answers as one response
/// object; failures before the stream as OpenAI's error JSON. It also keeps the <see cref="ResponseObject"/> the
/// events describe, which the endpoint stores when the response ends.
/// </summary>
internal sealed class ResponsesEncoder : ICompletionEncoder
{
    private readonly ResponseObject _response;
    private readonly IResponseEventSink _sink;
    private readonly OpenAiStreamingOptions _options;

    /// <summary>The next event's <c>sequence_number</c>.</summary>
    private long _sequence;

    /// <summary>The message item text is being added to, until a tool call or the end closes it.</summary>
    private ResponseOutputItem? _message;

    /// <summary>True while output items are built for a whole answer: no events are written.</summary>
    private bool _silent;

    /// <summary>True when the response's state changed and the next flush should carry it (background responses).</summary>
    private bool _snapshotPending;

    public ResponsesEncoder(ResponseObject response, IResponseEventSink sink, OpenAiStreamingOptions options, long firstSequenceNumber = 0)
    {
        _response = response;
        _sink = sink;
        _options = options;
        _sequence = firstSequenceNumber;
    }

    public ResponseObject Response => _response;

    /// <summary>The sequence number the next event gets.</summary>
    public long NextSequenceNumber => _sequence;

    public bool HasStarted { get; private set; }

    /// <summary>True once an event that ends the response was written (or, for a whole answer, the answer).</summary>
    public bool HasEnded { get; private set; }

    public int UnflushedEvents => _sink.UnflushedEvents;

    public long UnflushedBytes => _sink.UnflushedBytes;

    /// <summary>The events that open a background response, written when it is created: created and queued.</summary>
    public void WriteQueued()
    {
        WriteResponseEvent(ResponseEventTypes.Created);
        WriteResponseEvent(ResponseEventTypes.Queued);
    }

    public void StartStream(HttpResponse response)
    {
        _sink.Start(response);
        HasStarted = true;
        bool background = _response.Status == ResponseStatus.Queued;
        _response.Status = ResponseStatus.InProgress;
        if (!background)
        {
            WriteResponseEvent(ResponseEventTypes.Created);
        }

        WriteResponseEvent(ResponseEventTypes.InProgress);
        _snapshotPending = background;
    }

    public bool WriteDelta(CompletionState state, int toolCalls)
    {
        var text = state.PendingText;
        int written = 0;
        bool wrote = false;
        for (int i = state.ToolCalls.Count - toolCalls; i < state.ToolCalls.Count; i++)
        {
            var (call, position) = state.ToolCalls[i];
            if (position > written)
            {
                WriteText(text[written..position]);
                written = position;
            }

            WriteToolCall(call);
            wrote = true;
        }

        if (written < text.Length)
        {
            WriteText(text[written..]);
            wrote = true;
        }

        return wrote;
    }

    public void WriteHeartbeat() => _sink.WriteHeartbeat();

    public void WriteEnd(string finishReason, TokenUsage usage)
    {
        (_response.Status, _response.IncompleteReason) = finishReason switch
        {
            "length" => (ResponseStatus.Incomplete, "max_output_tokens"),
            "content_filter" => (ResponseStatus.Incomplete, "content_filter"),
            _ => (ResponseStatus.Completed, (string?)null),
        };
        CloseMessage(_response.Status == ResponseStatus.Completed ? "completed" : "incomplete");
        _response.Usage = usage;
        WriteResponseEvent(_response.Status == ResponseStatus.Completed ? ResponseEventTypes.Completed : ResponseEventTypes.Incomplete);
        HasEnded = true;
    }

    public void WriteError(CompletionEnd end) => WriteFailed(ToError(end));

    /// <summary>Ends the response as cancelled (<c>POST /v1/responses/{id}/cancel</c>).</summary>
    public void WriteCancelled()
    {
        CloseMessage("incomplete");
        _response.Status = ResponseStatus.Cancelled;
        WriteResponseEvent(ResponseEventTypes.Cancelled);
        HasEnded = true;
    }

    /// <summary>Ends the response as failed with <paramref name="error"/>.</summary>
    public void WriteFailed(OpenAiError error)
    {
        CloseMessage("incomplete");
        _response.Status = ResponseStatus.Failed;
        _response.Error = (error.Code ?? error.Type, error.Message);
        WriteResponseEvent(ResponseEventTypes.Failed);
        HasEnded = true;
    }

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshotPending ? _response.ToStored() : null;
        _snapshotPending = false;
        return _sink.FlushAsync(snapshot, cancellationToken);
    }

    public Task WriteWholeAsync(HttpResponse response, CompletionState state, TokenUsage usage, CancellationToken cancellationToken)
    {
        _silent = true;
        WriteDelta(state, state.ToolCalls.Count);
        WriteEnd(state.FinishReason, usage);
        var body = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(body, ResponseObject.WriterOptions))
        {
            _response.WriteTo(writer);
        }

        response.ContentType = "application/json";
        return response.Body.WriteAsync(body.WrittenMemory, cancellationToken).AsTask();
    }

    public async Task WriteFailureAsync(HttpResponse response, CompletionEnd end)
    {
        var error = ToError(end);
        if (!_response.Request.Background)
        {
            _response.Status = ResponseStatus.Failed;
            _response.Error = (error.Code ?? error.Type, error.Message);
            await error.WriteAsync(response).ConfigureAwait(false);
            return;
        }

        // A background response fails where its readers look: in its events.
        WriteFailed(error);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>A failed end in OpenAI's terms, as the Chat Completions endpoint reports it.</summary>
    public OpenAiError ToError(CompletionEnd end) => end.Kind switch
    {
        CompletionEndKind.RateLimited => new OpenAiError(StatusCodes.Status429TooManyRequests,
            $"Model '{_response.Request.Model}' is serving its maximum number of requests; retry shortly.", "rate_limit_exceeded", null, "too_many_requests"),
        CompletionEndKind.Unavailable or CompletionEndKind.ShutdownCut => ChatCompletionEncoder.ShuttingDown,
        CompletionEndKind.BackendRejected => OpenAiError.BadRequest(end.Exception!.Message),
        CompletionEndKind.ClientTooSlow => new OpenAiError(StatusCodes.Status500InternalServerError,
            ((TokenPumpOverflowException)end.Exception!).Message, OpenAiError.ServerError, null, "client_too_slow"),
        CompletionEndKind.TimedOut => new OpenAiError(StatusCodes.Status500InternalServerError,
            $"The request took longer than the server's limit of {_options.MaxStreamDuration!.Value.TotalSeconds:0.###} seconds.", OpenAiError.ServerError, null, "timeout"),
        _ => new OpenAiError(StatusCodes.Status500InternalServerError, _options.IncludeExceptionDetails && end.Exception is { } exception
            ? $"The model failed: {exception.GetType().Name}: {exception.Message}"
            : "The model failed while generating this response.", OpenAiError.ServerError, null, "server_error"),
    };

    private void WriteText(ReadOnlySpan<char> text)
    {
        if (_message is null)
        {
            _message = ResponseOutputItem.Message("msg_" + RandomNumberGenerator.GetHexString(32, lowercase: true));
            _response.Output.Add(_message);
            WriteItemEvent(ResponseEventTypes.OutputItemAdded, _message);
            if (!_silent)
            {
                var json = BeginPartEvent(ResponseEventTypes.ContentPartAdded, _message);
                json.WritePropertyName("part"u8);
                ResponseObject.WriteTextPart(json, string.Empty);
                EndEvent(json);
            }
        }

        _message.Text!.Append(text);
        if (!_silent)
        {
            var json = BeginPartEvent(ResponseEventTypes.OutputTextDelta, _message);
            json.WriteString("delta"u8, text);
            json.WriteStartArray("logprobs"u8);
            json.WriteEndArray();
            EndEvent(json);
        }
    }

    private void CloseMessage(string status)
    {
        if (_message is not { } message)
        {
            return;
        }

        _message = null;
        message.Status = status;
        if (_silent)
        {
            return;
        }

        string text = message.Text!.ToString();
        var json = BeginPartEvent(ResponseEventTypes.OutputTextDone, message);
        json.WriteString("text"u8, text);
        json.WriteStartArray("logprobs"u8);
        json.WriteEndArray();
        EndEvent(json);
        json = BeginPartEvent(ResponseEventTypes.ContentPartDone, message);
        json.WritePropertyName("part"u8);
        ResponseObject.WriteTextPart(json, text);
        EndEvent(json);
        WriteItemEvent(ResponseEventTypes.OutputItemDone, message);
    }

    private void WriteToolCall(FunctionCallContent call)
    {
        CloseMessage("completed");
        string arguments = SerializeArguments(call);
        var item = ResponseOutputItem.FunctionCall("fc_" + RandomNumberGenerator.GetHexString(32, lowercase: true), call.CallId, call.Name, arguments);
        _response.Output.Add(item);
        WriteItemEvent(ResponseEventTypes.OutputItemAdded, item);
        if (!_silent)
        {
            var json = BeginItemEvent(ResponseEventTypes.FunctionCallArgumentsDelta, item);
            json.WriteString("delta"u8, arguments);
            EndEvent(json);
            json = BeginItemEvent(ResponseEventTypes.FunctionCallArgumentsDone, item);
            json.WriteString("name"u8, item.Name);
            json.WriteString("arguments"u8, arguments);
            EndEvent(json);
        }

        item.Status = "completed";
        WriteItemEvent(ResponseEventTypes.OutputItemDone, item);
    }

    /// <summary>A function call's arguments as one line of JSON (Microsoft.Extensions.AI's default options indent).</summary>
    private static string SerializeArguments(FunctionCallContent call)
    {
        if (call.Arguments is null)
        {
            return "{}";
        }

        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, ResponseObject.WriterOptions))
        {
            JsonSerializer.Serialize(writer, call.Arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private void WriteResponseEvent(string type)
    {
        if (_silent)
        {
            return;
        }

        var json = BeginEvent(type);
        json.WritePropertyName("response"u8);
        _response.WriteTo(json);
        EndEvent(json);
    }

    private void WriteItemEvent(string type, ResponseOutputItem item)
    {
        if (_silent)
        {
            return;
        }

        var json = BeginEvent(type);
        json.WriteNumber("output_index"u8, _response.Output.IndexOf(item));
        json.WritePropertyName("item"u8);
        ResponseObject.WriteItem(json, item);
        EndEvent(json);
    }

    private Utf8JsonWriter BeginItemEvent(string type, ResponseOutputItem item)
    {
        var json = BeginEvent(type);
        json.WriteString("item_id"u8, item.Id);
        json.WriteNumber("output_index"u8, _response.Output.Count - 1);
        return json;
    }

    private Utf8JsonWriter BeginPartEvent(string type, ResponseOutputItem item)
    {
        var json = BeginItemEvent(type, item);
        json.WriteNumber("content_index"u8, 0);
        return json;
    }

    private Utf8JsonWriter BeginEvent(string type)
    {
        long sequence = _sequence++;
        var json = _sink.BeginEvent(type, sequence);
        json.WriteStartObject();
        json.WriteString("type"u8, type);
        json.WriteNumber("sequence_number"u8, sequence);
        return json;
    }

    private void EndEvent(Utf8JsonWriter json)
    {
        json.WriteEndObject();
        _sink.EndEvent();
    }
}
