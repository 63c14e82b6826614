namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Where <c>/v1/responses</c> keeps responses: finished ones that <c>store: true</c> kept (for <c>GET</c>,
/// <c>DELETE</c> and <c>previous_response_id</c>), and background ones with every event from sequence number 0, so
/// that any number of readers can replay them after a sequence number and follow them live until their end, on this
/// replica or, with a shared store, on another. In memory by default; replace it by registering another
/// implementation (<c>AddRedisResponseStore</c>) after <c>AddOpenAiStreaming()</c>.
/// </summary>
/// <remarks>
/// <para>The store treats responses and events as opaque UTF-8 JSON: the endpoints make and read them.</para>
/// <para>The contract every implementation keeps:</para>
/// <list type="bullet">
/// <item>Events of one response are appended by its one producer in rising <see cref="ResponseEvent.SequenceNumber"/>
/// order, from 0 and without gaps; a reader sees every event after the one it asked for exactly once, in order, then
/// the live ones as they are appended, and its enumeration ends after the event of the end
/// (<see cref="IResponseEventWriter.CompleteAsync"/>). An enumeration that ends without that event (the response was
/// deleted or expired meanwhile) is a truncation the endpoint reports as an error.</item>
/// <item>A producer holds its response through an <see cref="IResponseEventWriter"/>; a store shared by replicas
/// gives it a lease it renews while the writer lives. When the writer is disposed without
/// <see cref="IResponseEventWriter.CompleteAsync"/>, or its lease expires (the producing process died), the store
/// ends the response itself: it appends <see cref="ResponseEvent.CreateFailed"/> with the next sequence number, saves
/// <see cref="StoredResponse.ToFailed"/>, and marks the end, so readers see <c>response.failed</c> and nobody waits
/// forever.</item>
/// <item><see cref="RequestCancelAsync"/> reaches the producer wherever it runs: its
/// <see cref="IResponseEventWriter.CancellationRequested"/> fires (promptly: the endpoints promise cancellation within
/// 100 ms); the producer then ends the response as <c>cancelled</c> itself.</item>
/// <item>A store that cannot be reached throws <see cref="ResponseStoreUnavailableException"/>; the endpoints answer
/// 503 with <c>Retry-After</c> to new background responses and end readers' streams with an error event.</item>
/// <item>Responses and their events may be forgotten after a retention period or to stay within the store's bounds;
/// never while a producer still writes them.</item>
/// </list>
/// </remarks>
public interface IResponseStore
{
    /// <summary>
    /// Stores a new background response (status <c>queued</c>) and opens its event log for its producer, the caller.
    /// </summary>
    /// <param name="response">The response as it starts.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The producer's writer; dispose it when the producer is done.</returns>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached: nothing was stored.</exception>
    ValueTask<IResponseEventWriter> StartAsync(StoredResponse response, CancellationToken cancellationToken);

    /// <summary>Stores a finished response that no one streams again (a foreground response with <c>store: true</c>).</summary>
    /// <param name="response">The finished response.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask SaveAsync(StoredResponse response, CancellationToken cancellationToken);

    /// <summary>The response as last saved by its producer, or null when there is none (never stored, deleted, expired).</summary>
    /// <param name="id">The response's id (<c>resp_...</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<StoredResponse?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Forgets a response and its events; one still being produced is also cancelled.</summary>
    /// <param name="id">The response's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when there was no such response.</returns>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Asks the producer of a background response to stop, wherever it runs. Idempotent: asking again, or after the
    /// response ended, changes nothing.
    /// </summary>
    /// <param name="id">The response's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>False when there is no such response.</returns>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask<bool> RequestCancelAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Every event of a background response after <paramref name="startingAfter"/>: first those already stored, then
    /// the live ones as they are appended, until the response's last event. Ends at once, empty, when the response
    /// has no events (unknown, not background, or forgotten).
    /// </summary>
    /// <param name="id">The response's id.</param>
    /// <param name="startingAfter">The last sequence number the reader has; -1 for all events.</param>
    /// <param name="cancellationToken">Stops reading (the reader left); never affects the producer.</param>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    IAsyncEnumerable<ResponseEvent> ReadEventsAsync(string id, long startingAfter, CancellationToken cancellationToken);
}
