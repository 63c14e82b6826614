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
        MaxConcurrent = maxConcurrent;
    }

    /// <summary>The model's limit, or null.</summary>
    public int? MaxConcurrent { get; }

    /// <summary>
    /// Held by the one waiting request that needs several slots (<c>n</c> > 1) while it gathers them, so that no two
    /// such requests each hold part of what they need and wait on each other.
    /// </summary>
    public SemaphoreSlim MultiSlotGate { get; } = new(1, 1);
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

        return TryEnterQueue();
    }

    /// <summary>Takes a place in the queue, if one is free.</summary>
    public AdmissionResult TryEnterQueue()
    {
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

    /// <summary>Takes <paramref name="count"/> more slots at once, or none.</summary>
    /// <returns>True when all were taken.</returns>
    public bool TryTakeMore(int count)
    {
        if (_slots is null)
        {
            return true;
        }

        for (int taken = 0; taken < count; taken++)
        {
            if (!_slots.Wait(0))
            {
                if (taken > 0)
                {
                    _slots.Release(taken);
                }

                return false;
            }
        }

        return true;
    }

    /// <summary>Waits up to <paramref name="timeout"/> for one more slot for a request that already holds one.</summary>
    public Task<bool> WaitMoreAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _slots?.WaitAsync(timeout, cancellationToken) ?? Task.FromResult(true);

    /// <summary>Gives back <paramref name="count"/> slots taken with <see cref="TryTakeMore"/> or <see cref="WaitMoreAsync"/>.</summary>
    public void GiveBack(int count)
    {
        if (count > 0)
        {
            _slots?.Release(count);
        }
    }

    /// <summary>A queued request gives up waiting (its client left, the host is stopping).</summary>
    public void LeaveQueue() => Interlocked.Decrement(ref _queued);

    /// <summary>Gives back the slot of an admitted request.</summary>
    public void Leave() => _slots?.Release();
}
