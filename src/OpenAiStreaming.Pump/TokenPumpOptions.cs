namespace OpenAiStreaming.Pump;

/// <summary>Options for a <see cref="TokenPump{T}"/>.</summary>
public sealed class TokenPumpOptions
{
    /// <summary>
    /// How many deltas queue separately before new ones are merged into the last. Default 64. The producer never
    /// waits either way; this only bounds the number of objects a slow consumer keeps alive.
    /// </summary>
    public int Capacity { get; set; } = 64;

    /// <summary>
    /// The most bytes of deltas that may wait for the consumer. Default 1 MiB. Past it the stream fails with
    /// <see cref="TokenPumpOverflowException"/> and the producer is cancelled: a client that stopped reading cannot make
    /// the server hold a whole generation in memory.
    /// </summary>
    public long MaxBufferedBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Where the pump reads time for idle waits. Default <see cref="TimeProvider.System"/>; tests pass a fake to drive
    /// heartbeats without real waits.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Whether an enumerable producer (<see cref="TokenPump{T}.Start"/>) waits for the consumer's first
    /// <see cref="TokenPump{T}.WaitAsync"/> and starts there, on the consumer's thread, instead of on the thread pool at
    /// once. Default false. For a consumer that waits right after starting the pump (a request's response), this saves
    /// the thread-pool dispatch, and the thread it wakes, that would otherwise start a producer the wait starts anyway.
    /// A pump disposed before any wait starts its producer cancelled, so that it still ends. Where a
    /// <see cref="SynchronizationContext"/> or a task scheduler of its own is current, the producer starts at once
    /// either way, off that context.
    /// </summary>
    public bool StartOnFirstWait { get; set; }
}
