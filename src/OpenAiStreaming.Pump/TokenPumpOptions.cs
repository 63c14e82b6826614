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
}
