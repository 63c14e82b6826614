namespace OpenAiStreaming.Pump;

/// <summary>
/// Tells a <see cref="TokenPump{T}"/> how to merge deltas that wait for a slow consumer, and how much memory they hold.
/// </summary>
/// <typeparam name="T">The delta type.</typeparam>
/// <remarks>
/// Called on the producer's thread from <see cref="TokenPump{T}.TryWrite"/>, outside the pump's lock: the consumer
/// keeps reading meanwhile, except the delta being merged into. Keep both methods cheap (the producer waits for them),
/// and never call back into the pump.
/// </remarks>
public interface IDeltaMerger<in T>
{
    /// <summary>Appends <paramref name="next"/> to <paramref name="pending"/> when the two can travel as one delta.</summary>
    /// <param name="pending">A delta still waiting for the consumer; the pump owns it and it may be changed.</param>
    /// <param name="next">The delta just written.</param>
    /// <returns>True when <paramref name="next"/> is now part of <paramref name="pending"/>; false to queue it apart.</returns>
    bool TryMerge(T pending, T next);

    /// <summary>The bytes a delta holds while it waits, counted against <see cref="TokenPumpOptions.MaxBufferedBytes"/>.
    /// Asked once per delta, when it is written; the pump adds up the sizes of merged deltas itself.</summary>
    /// <param name="delta">The delta.</param>
    /// <returns>Its size in bytes.</returns>
    long GetSize(T delta);
}
