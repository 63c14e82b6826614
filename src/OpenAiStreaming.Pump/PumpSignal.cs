namespace OpenAiStreaming.Pump;

/// <summary>What a consumer's wait on a <see cref="TokenPump{T}"/> ended with.</summary>
public enum PumpSignal
{
    /// <summary>Deltas are ready: drain them with <see cref="TokenPump{T}.TryRead"/>.</summary>
    Data,

    /// <summary>Nothing arrived within the idle timeout: a good moment for a heartbeat.</summary>
    Idle,

    /// <summary>The producer finished and every delta has been read.</summary>
    Completed,
}
