namespace OpenAiStreaming.Pump;

/// <summary>
/// Tells a <see cref="TokenPump{T}"/> how to merge deltas that wait for a slow consumer, and how much memory they hold.
/// </summary>
/// <typeparam name="T">The delta type.</typeparam>
/// <remarks>Called by the pump under its lock: keep both methods cheap, and never call back into the pump.</remarks>
public interface IDeltaMerger<in T>
{
    /// <summary>Appends <paramref name="next"/> to <paramref name="pending"/> when the two can travel as one delta.</summary>
    /// <param name="pending">A delta still waiting for the consumer; the pump owns it and it may be changed.</param>
    /// <param name="next">The delta just written.</param>
    /// <returns>True when <paramref name="next"/> is now part of <paramref name="pending"/>; false to queue it apart.</returns>
    bool TryMerge(T pending, T next);

    /// <summary>The bytes a delta holds while it waits, counted against <see cref="TokenPumpOptions.MaxBufferedBytes"/>.
    /// A merged delta must count the sum of its parts.</summary>
    /// <param name="delta">The delta.</param>
    /// <returns>Its size in bytes.</returns>
    long GetSize(T delta);
}
