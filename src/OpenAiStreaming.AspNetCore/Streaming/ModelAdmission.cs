namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// One model's concurrency limit (<see cref="OpenAiStreamingOptions.MaxConcurrentStreams"/>) and the bounded queue
/// in front of it (<see cref="OpenAiStreamingOptions.MaxQueuedStreams"/>). Queued requests are admitted in arrival order.
/// </summary>
internal sealed class ModelAdmission
{
    /// <summary>Free slots; null when the model has no limit.</summary>
    private readonly SemaphoreSlim? _slots;

    private readonly int _maxQueued;

    /// <summary>Requests between a <see cref="AdmissionResult.Queued"/> answer and their admission or departure.</summary>
    private int _queued;

    public ModelAdmission(int? maxConcurrent, int maxQueued)
    {
        _slots = maxConcurrent is { } max ? new SemaphoreSlim(max, max) : null;
        _maxQueued = maxQueued;
    }

    /// <summary>
    /// True when the next request would get 429: every slot taken and the queue full. A readiness check reports it, so
    /// a load balancer sends new work elsewhere before requests are turned away.
    /// </summary>
    public bool IsSaturated => _slots is { CurrentCount: 0 } && Volatile.Read(ref _queued) >= _maxQueued;

    public AdmissionResult TryEnter()
    {
        if (_slots is null || _slots.Wait(0))
        {
            return AdmissionResult.Admitted;
        }

        if (Interlocked.Increment(ref _queued) <= _maxQueued)
        {
            return AdmissionResult.Queued;
        }

        Interlocked.Decrement(ref _queued);
        return AdmissionResult.Rejected;
    }

    /// <summary>After <see cref="AdmissionResult.Queued"/>: waits up to <paramref name="timeout"/> for a slot.</summary>
    /// <returns>True when admitted (the request has left the queue); false when still queued after the timeout.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled; call <see cref="LeaveQueue"/>.</exception>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!await _slots!.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        Interlocked.Decrement(ref _queued);
        return true;
    }

    /// <summary>A queued request gives up waiting (its client left, the host is stopping).</summary>
    public void LeaveQueue() => Interlocked.Decrement(ref _queued);

    /// <summary>Gives back the slot of an admitted request.</summary>
    public void Leave() => _slots?.Release();
}
