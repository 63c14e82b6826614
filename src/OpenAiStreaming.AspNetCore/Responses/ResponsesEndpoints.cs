using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// The request handlers of <c>/v1/responses</c>: create (whole, streamed, background), retrieve (whole, or streamed
/// again from the store after a sequence number), delete and cancel. Every response runs through the shared
/// <see cref="CompletionLifecycle"/> with a <see cref="ResponsesEncoder"/>.
/// </summary>
internal sealed class ResponsesEndpoints(
    ChatModelRegistry models,
    ApiKeyValidator apiKeys,
    StreamingEnvironment environment,
    OpenAiStreamingMetrics metrics,
    ResponsesMetrics responsesMetrics,
    IResponseStore store,
    BackgroundResponseWorker worker)
{
    /// <summary>The <c>gen_ai.operation.name</c> of every response in the lifecycle's metrics.</summary>
    public const string Operation = "responses";

    /// <summary>How long an error event gets to reach the socket before the connection is aborted (as the lifecycle).</summary>
    private static readonly TimeSpan s_errorDrainDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>How long <c>POST .../cancel</c> waits for the model to stop before answering with the status it finds.</summary>
    private static readonly TimeSpan s_cancelWait = TimeSpan.FromSeconds(5);

    private readonly OpenAiStreamingOptions _options = environment.Options;

    private TimeProvider TimeProvider => environment.TimeProvider;

    public async Task CreateAsync(HttpContext context)
    {
        long arrival = TimeProvider.GetTimestamp();
        if (!apiKeys.IsAuthorized(context.Request))
        {
            await Unauthorized().WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var (body, error) = await RequestReader.ReadAsync(context.Request, ResponsesJsonContext.Default.CreateResponseRequest, _options.MaxRequestBodySize)
            .ConfigureAwait(false);
        if (error is not null)
        {
            await ResponseRequestValidator.FixTypeError(error).WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var (request, invalid) = ResponseRequestValidator.Validate(body!);
        if (invalid is not null)
        {
            await invalid.WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var (prepared, problem) = await PrepareAsync(request!, context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var (response, client, validated) = prepared!.Value;
        if (request!.Background)
        {
            await CreateBackgroundAsync(context, response, client, validated, arrival).ConfigureAwait(false);
            return;
        }

        var encoder = new ResponsesEncoder(response, new SseResponseEventSink(), _options);
        var requestMetrics = metrics.StartRequest(request.Model, Operation, arrival, TimeProvider);
        await new CompletionLifecycle(context, validated, client, encoder, requestMetrics, environment).RunAsync().ConfigureAwait(false);
        if (request.Store && response.Status is not (ResponseStatus.Queued or ResponseStatus.InProgress))
        {
            await TrySaveAsync(response).ConfigureAwait(false);
        }
    }

    public async Task GetAsync(HttpContext context)
    {
        if (!apiKeys.IsAuthorized(context.Request))
        {
            await Unauthorized().WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        string id = (string)context.Request.RouteValues["id"]!;
        var query = context.Request.Query;
        bool stream = query["stream"].ToString() is "true" or "True" or "1";
        long startingAfter = -1;
        string? after = query["starting_after"].Count > 0 ? query["starting_after"].ToString() : null;
        string? param = "starting_after";
        if (after is null && context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } lastEventId)
        {
            // EventSource reconnects with the id of the last event it got, and cannot add query parameters.
            after = lastEventId;
            param = null;
            stream = true;
        }

        if (after is not null && (!long.TryParse(after, NumberStyles.None | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out startingAfter) || startingAfter < -1))
        {
            await OpenAiError.InvalidValue(param ?? "Last-Event-ID", "must be a sequence number (an integer of at least -1).").WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        StoredResponse? stored;
        try
        {
            stored = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException ex)
        {
            await StoreUnavailableAsync(context, id, ex).ConfigureAwait(false);
            return;
        }

        if (stored is null)
        {
            await NotFound(id).WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        if (!stream)
        {
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(stored.Json, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (!stored.Background)
        {
            await OpenAiError.BadRequest("Only background responses can be streamed again: create it with 'background: true'.", "stream", "invalid_value")
                .WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        responsesMetrics.Resumed(ModelOf(stored));
        await StreamStoredAsync(context, stored, startingAfter).ConfigureAwait(false);
    }

    public async Task DeleteAsync(HttpContext context)
    {
        if (!apiKeys.IsAuthorized(context.Request))
        {
            await Unauthorized().WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        string id = (string)context.Request.RouteValues["id"]!;
        bool deleted;
        try
        {
            deleted = await store.DeleteAsync(id, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException ex)
        {
            await StoreUnavailableAsync(context, id, ex).ConfigureAwait(false);
            return;
        }

        if (!deleted)
        {
            await NotFound(id).WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, id);
            writer.WriteString("object"u8, "response.deleted"u8);
            writer.WriteBoolean("deleted"u8, true);
            writer.WriteEndObject();
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    public async Task CancelAsync(HttpContext context)
    {
        if (!apiKeys.IsAuthorized(context.Request))
        {
            await Unauthorized().WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        string id = (string)context.Request.RouteValues["id"]!;
        try
        {
            var stored = await store.GetAsync(id, context.RequestAborted).ConfigureAwait(false);
            if (stored is null)
            {
                await NotFound(id).WriteAsync(context.Response).ConfigureAwait(false);
                return;
            }

            if (!stored.Background)
            {
                await OpenAiError.BadRequest("Only background responses can be cancelled.", null, "invalid_request").WriteAsync(context.Response).ConfigureAwait(false);
                return;
            }

            if (!stored.IsFinished)
            {
                await store.RequestCancelAsync(id, context.RequestAborted).ConfigureAwait(false);
                stored = await WaitForEndAsync(id, context.RequestAborted).ConfigureAwait(false) ?? stored;
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(stored.Json, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException ex)
        {
            await StoreUnavailableAsync(context, id, ex).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What a response needs beyond validation: the model, the conversation it continues, and the response object the
    /// events will describe.
    /// </summary>
    private async Task<((ResponseObject Response, IChatClient Client, ValidatedRequest Request)? Prepared, OpenAiError? Error)> PrepareAsync(
        ResponseRequest request, CancellationToken cancellationToken)
    {
        if (!models.TryGet(request.Model, out var client))
        {
            return (null, OpenAiError.ModelNotFound(request.Model));
        }

        List<ResponseItemDto> prior = [];
        if (request.PreviousResponseId is { } previousId)
        {
            StoredResponse? previous;
            try
            {
                previous = await store.GetAsync(previousId, cancellationToken).ConfigureAwait(false);
            }
            catch (ResponseStoreUnavailableException)
            {
                return (null, StoreUnavailableError());
            }

            if (previous is null)
            {
                return (null, new OpenAiError(StatusCodes.Status404NotFound, $"Previous response with id '{previousId}' not found.",
                    OpenAiError.InvalidRequest, "previous_response_id", "previous_response_not_found"));
            }

            if (!previous.IsFinished)
            {
                return (null, OpenAiError.BadRequest($"Previous response '{previousId}' has not finished yet: wait for it, then continue it.",
                    "previous_response_id", "previous_response_in_progress"));
            }

            prior = ResponseConversation.Deserialize(previous.Conversation);
        }

        var messages = ResponseConversation.ToMessages(request.Instructions, [.. prior, .. request.Input]);
        var validated = new ValidatedRequest(request.Model, messages, request.Options, Stream: request.Stream || request.Background, IncludeUsage: false);
        string id = "resp_" + RandomNumberGenerator.GetHexString(48, lowercase: true);
        var response = new ResponseObject(id, request, TimeProvider.GetUtcNow().ToUnixTimeSeconds()) { PriorConversation = prior };
        return ((response, client, validated), null);
    }

    private async Task CreateBackgroundAsync(HttpContext context, ResponseObject response, IChatClient client, ValidatedRequest validated, long arrival)
    {
        if (environment.Lifetime.Stopping.IsCancellationRequested)
        {
            await ChatCompletionEncoder.ShuttingDown.WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        if (!worker.TryReserve())
        {
            context.Response.Headers.RetryAfter = "1";
            await new OpenAiError(StatusCodes.Status429TooManyRequests,
                "This server is running its maximum number of background responses; retry shortly.", "rate_limit_exceeded", null, "too_many_requests")
                .WriteAsync(context.Response).ConfigureAwait(false);
            return;
        }

        IResponseEventWriter writer;
        var queued = response.ToStored();
        try
        {
            writer = await store.StartAsync(queued, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException ex)
        {
            worker.Release();
            await StoreUnavailableAsync(context, response.Id, ex).ConfigureAwait(false);
            return;
        }

        var encoder = new ResponsesEncoder(response, new StoreResponseEventSink(writer), _options);
        encoder.WriteQueued();
        await encoder.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        responsesMetrics.BackgroundStarted(validated.Model);
        worker.Run(response.Id, () => RunBackgroundAsync(writer, encoder, client, validated, arrival));

        if (!response.Request.Stream)
        {
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(queued.Json, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        // The creating request reads the response like any other reader: leaving does not cancel it.
        await StreamStoredAsync(context, queued, -1).ConfigureAwait(false);
    }

    /// <summary>One background response, from the worker: the lifecycle writes its events into the store.</summary>
    private async Task RunBackgroundAsync(IResponseEventWriter writer, ResponsesEncoder encoder, IChatClient client, ValidatedRequest validated, long arrival)
    {
        var response = encoder.Response;
        await using (writer.ConfigureAwait(false))
        {
            try
            {
                // A connection of its own: "aborted" only when someone cancels or deletes the response.
                var detached = new DefaultHttpContext { RequestAborted = writer.CancellationRequested };
                var requestMetrics = metrics.StartRequest(validated.Model, Operation, arrival, TimeProvider);
                await new CompletionLifecycle(detached, validated, client, encoder, requestMetrics, environment).RunAsync().ConfigureAwait(false);
                if (!encoder.HasEnded)
                {
                    if (writer.CancellationRequested.IsCancellationRequested)
                    {
                        encoder.WriteCancelled();
                    }
                    else
                    {
                        encoder.WriteFailed(OpenAiError.Server("The response could not be written to the response store."));
                    }

                    await encoder.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }

                await writer.CompleteAsync(response.ToStored(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The writer's disposal ends the response as failed for its readers.
                ResponsesLog.BackgroundFailed(environment.Logger, response.Id, ex);
                response.Status = ResponseStatus.Failed;
            }
            finally
            {
                responsesMetrics.BackgroundEnded(validated.Model, response.Status);
                ResponsesLog.BackgroundEnded(environment.Logger, response.Id, response.Status);
            }
        }
    }

    /// <summary>
    /// Streams a background response's events after <paramref name="startingAfter"/> from the store, then follows it
    /// live to its end, with heartbeats while it is silent. A stream that ends without the response's last event (the
    /// response was deleted or expired, or the store failed) ends with an error event and an aborted connection.
    /// </summary>
    private async Task StreamStoredAsync(HttpContext context, StoredResponse stored, long startingAfter)
    {
        var aborted = context.RequestAborted;
        var sink = new SseResponseEventSink();
        sink.Start(context.Response);
        long replayed = 0;
        bool ended = false;
        string? failure = null;
        try
        {
            await sink.FlushAsync(null, aborted).ConfigureAwait(false);
            var events = store.ReadEventsAsync(stored.Id, startingAfter, aborted).GetAsyncEnumerator(aborted);
            await using (events.ConfigureAwait(false))
            {
                while (true)
                {
                    var next = events.MoveNextAsync();
                    if (!next.IsCompleted)
                    {
                        // Nothing more is ready: what was written goes out before waiting.
                        await sink.FlushAsync(null, aborted).ConfigureAwait(false);
                        if (!await WaitWithHeartbeatsAsync(next.AsTask(), sink, aborted).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    else if (!next.Result)
                    {
                        break;
                    }

                    var item = events.Current;
                    sink.Write(item);
                    replayed++;
                    ended = item.Type is ResponseEventTypes.Completed or ResponseEventTypes.Incomplete or ResponseEventTypes.Failed or ResponseEventTypes.Cancelled;
                }
            }
        }
        catch (ResponseStoreUnavailableException ex)
        {
            ResponsesLog.StoreUnavailable(environment.Logger, stored.Id, ex);
            failure = "The response store could not be reached; retry with starting_after to resume.";
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            responsesMetrics.Replayed(ModelOf(stored), replayed);
        }

        if (ended)
        {
            await sink.FlushAsync(null, aborted).ConfigureAwait(false);
            return;
        }

        // Never let a truncated stream look complete: an error event, a moment to reach the socket, then an abort.
        try
        {
            WriteErrorEvent(sink, failure ?? "The response is no longer stored; its stream cannot continue.", failure is null ? "response_not_found" : "store_unavailable");
            await sink.FlushAsync(null, aborted).ConfigureAwait(false);
            await Task.Delay(s_errorDrainDelay, TimeProvider, aborted).ConfigureAwait(false);
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            // The client is gone already.
        }
        finally
        {
            context.Abort();
        }
    }

    /// <summary>Waits for the next event, writing a heartbeat each time the stream has been silent too long.</summary>
    /// <returns>What <c>MoveNextAsync</c> returned.</returns>
    private async Task<bool> WaitWithHeartbeatsAsync(Task<bool> next, SseResponseEventSink sink, CancellationToken aborted)
    {
        var interval = _options.HeartbeatInterval;
        if (interval <= TimeSpan.Zero)
        {
            return await next.ConfigureAwait(false);
        }

        while (true)
        {
            try
            {
                return await next.WaitAsync(interval, TimeProvider, aborted).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                sink.WriteHeartbeat();
                await sink.FlushAsync(null, aborted).ConfigureAwait(false);
            }
        }
    }

    private static void WriteErrorEvent(SseResponseEventSink sink, string message, string code)
    {
        var json = sink.BeginEvent(ResponseEventTypes.Error, -1);
        json.WriteStartObject();
        json.WriteString("type"u8, ResponseEventTypes.Error);
        json.WriteString("code"u8, code);
        json.WriteString("message"u8, message);
        json.WriteNull("param"u8);
        json.WriteEndObject();
        sink.EndEvent();
    }

    /// <summary>Waits for a cancelled response to end, here or on the replica that runs it.</summary>
    private async Task<StoredResponse?> WaitForEndAsync(string id, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_cancelWait);
        try
        {
            if (worker.Find(id) is { } local)
            {
                await local.WaitAsync(timeout.Token).ConfigureAwait(false);
                return await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            }

            // Another replica runs it: its end reaches the store shortly.
            while (true)
            {
                var stored = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
                if (stored is null or { IsFinished: true })
                {
                    return stored;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task TrySaveAsync(ResponseObject response)
    {
        try
        {
            await store.SaveAsync(response.ToStored(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException ex)
        {
            ResponsesLog.StoreUnavailable(environment.Logger, response.Id, ex);
        }
    }

    private Task StoreUnavailableAsync(HttpContext context, string id, ResponseStoreUnavailableException exception)
    {
        ResponsesLog.StoreUnavailable(environment.Logger, id, exception);
        context.Response.Headers.RetryAfter = "1";
        return StoreUnavailableError().WriteAsync(context.Response);
    }

    private static OpenAiError StoreUnavailableError() => new(StatusCodes.Status503ServiceUnavailable,
        "The response store cannot be reached; retry shortly.", OpenAiError.ServerError, null, "store_unavailable");

    private static string ModelOf(StoredResponse stored)
    {
        using var document = JsonDocument.Parse(stored.Json);
        return document.RootElement.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString()! : "unknown";
    }

    private static OpenAiError NotFound(string id) =>
        new(StatusCodes.Status404NotFound, $"Response with id '{id}' not found.", OpenAiError.InvalidRequest, "response_id", "response_not_found");

    private static OpenAiError Unauthorized() =>
        new(StatusCodes.Status401Unauthorized, "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'.", OpenAiError.InvalidRequest, null, "invalid_api_key");
}
