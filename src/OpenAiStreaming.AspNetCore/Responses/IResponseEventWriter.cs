namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// The producer's hold on one background response in an <see cref="IResponseStore"/>: it appends the response's
/// events, saves its state as it changes, and ends it. A store shared by replicas renews the producer's lease while
/// the writer lives.
/// </summary>
public interface IResponseEventWriter : IAsyncDisposable
{
    /// <summary>The response's id.</summary>
    string ResponseId { get; }

    /// <summary>
    /// Fires when someone asked to cancel the response (<see cref="IResponseStore.RequestCancelAsync"/>, from any
    /// replica) or deleted it, or when the store took the response from this producer (its lease was lost).
    /// </summary>
    CancellationToken CancellationRequested { get; }

    /// <summary>
    /// Appends events (in rising sequence order, continuing the last append) and, when given, saves the response's new
    /// state with them, so a poller never sees a state ahead of the events. Readers following the response are woken.
    /// </summary>
    /// <param name="events">The next events; may be empty when only <paramref name="response"/> changes.</param>
    /// <param name="response">The response's new state, or null when it did not change.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask AppendAsync(IReadOnlyList<ResponseEvent> events, StoredResponse? response, CancellationToken cancellationToken);

    /// <summary>
    /// Saves the response's final state (completed, incomplete, failed or cancelled) and marks the end of its events,
    /// after which readers' enumerations end. The last appended event must be the one that ends the response.
    /// </summary>
    /// <param name="response">The final state.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ResponseStoreUnavailableException">The store cannot be reached.</exception>
    ValueTask CompleteAsync(StoredResponse response, CancellationToken cancellationToken);
}
