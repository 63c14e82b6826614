namespace OpenAiStreaming.Pump;

/// <summary>Options for a <see cref="TokenPump{T}"/>.</summary>
public sealed class TokenPumpOptions
{
    /// <summary>
    /// How many deltas the channel between producer and consumer holds before the producer waits. Default 256: a
    /// slow client briefly lags behind, a stalled one makes the producer wait instead of filling memory.
    /// </summary>
    public int Capacity { get; set; } = 256;
}
