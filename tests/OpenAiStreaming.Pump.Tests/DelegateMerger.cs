namespace OpenAiStreaming.Pump.Tests;

/// <summary>Merges as a test scripts it (to throw or call back into the pump), sizes one byte a char, and counts the sizing calls.</summary>
/// <param name="tryMerge">What <see cref="TryMerge"/> does.</param>
internal sealed class DelegateMerger(Func<TextDelta, TextDelta, bool> tryMerge) : IDeltaMerger<TextDelta>
{
    private int _sizeCalls;

    /// <summary>How many times the pump has asked for a size.</summary>
    public int SizeCalls => Volatile.Read(ref _sizeCalls);

    public bool TryMerge(TextDelta pending, TextDelta next) => tryMerge(pending, next);

    public long GetSize(TextDelta delta)
    {
        Interlocked.Increment(ref _sizeCalls);
        return delta.Text.Length;
    }
}
