namespace OpenAiStreaming.LoadGenerator.Statistics;

/// <summary>
/// Exact order statistics of a set of samples (milliseconds). Percentiles interpolate linearly between the two
/// closest ranks, as numpy's default <c>percentile</c> (and so vLLM's <c>benchmark_serving</c>) does: the p-th
/// percentile of n sorted samples x is x[r] + (x[r+1] − x[r])·(h − r) with h = (n − 1)·p/100 and r = ⌊h⌋.
/// </summary>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="Max">Largest sample.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="Count">Number of samples; the other figures are 0 when it is 0.</param>
/// <param name="Min">Smallest sample.</param>
public readonly record struct Summary(double P50, double P90, double P99, double Max, double Mean, long Count, double Min = 0)
{
    /// <summary>The summary of no samples.</summary>
    public static Summary Empty => default;

    /// <summary>Summarizes <paramref name="samples"/>, sorting them in place.</summary>
    /// <param name="samples">The samples; reordered.</param>
    /// <returns>The summary.</returns>
    public static Summary Of(Span<double> samples)
    {
        if (samples.IsEmpty)
        {
            return Empty;
        }

        samples.Sort();
        double sum = 0;
        foreach (double x in samples)
        {
            sum += x;
        }

        return new Summary(
            Percentile(samples, 50),
            Percentile(samples, 90),
            Percentile(samples, 99),
            samples[^1],
            sum / samples.Length,
            samples.Length,
            samples[0]);
    }

    /// <summary>The <paramref name="percent"/>-th percentile of sorted samples, interpolated linearly.</summary>
    /// <param name="sorted">Samples in ascending order; not empty.</param>
    /// <param name="percent">0 to 100.</param>
    /// <returns>The percentile.</returns>
    public static double Percentile(ReadOnlySpan<double> sorted, double percent)
    {
        if (sorted.IsEmpty)
        {
            throw new ArgumentException("no samples", nameof(sorted));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(percent, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        double h = (sorted.Length - 1) * percent / 100;
        int r = (int)Math.Floor(h);
        return r + 1 < sorted.Length ? sorted[r] + ((sorted[r + 1] - sorted[r]) * (h - r)) : sorted[r];
    }
}
