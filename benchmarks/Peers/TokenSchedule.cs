using System.Diagnostics;

namespace Peers;

/// <summary>
/// The synthetic model every peer serves (see /work/spec/bench-protocol.md): token i is WORDS[i % 16] and becomes
/// available at start + i × interval, absolute deadlines so that timer lateness does not accumulate.
/// </summary>
internal sealed class TokenSchedule(double intervalMs)
{
    /// <summary>Tokens when the request sets no <c>max_tokens</c>.</summary>
    public const int DefaultMaxTokens = 16;

    private static readonly string[] s_words =
        [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " It", " was", " not", " a", " bad", " day"];

    /// <summary>Milliseconds between tokens; 0 is an instant backend that never waits.</summary>
    public double IntervalMs { get; } = intervalMs;

    public static string Word(int index) => s_words[index % s_words.Length];

    /// <summary>Waits until token <paramref name="index"/> of a generation begun at <paramref name="start"/> is due.</summary>
    public async ValueTask WaitForTokenAsync(long start, int index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (IntervalMs <= 0 || index == 0)
        {
            return;
        }

        long due = start + (long)(index * IntervalMs * Stopwatch.Frequency / 1000);

        // Timers round and can fire a fraction of a millisecond early: wait again until the deadline has really passed.
        while (Stopwatch.GetTimestamp() < due)
        {
            double remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due).TotalMilliseconds;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(remaining))), cancellationToken).ConfigureAwait(false);
        }
    }
}
