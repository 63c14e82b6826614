namespace OpenAiStreaming.LoadGenerator.Statistics;

/// <summary>
/// Counts samples (milliseconds) in log-spaced buckets, ten per decade from 1 µs (0.001 ms) up: bucket k holds the
/// samples in (0.001·10^((k−1)/10), 0.001·10^(k/10)] ms, and bucket 0 everything at or below 0.001 ms. For plots of
/// the inter-token gaps, where the interesting part spans microseconds (batched events) to seconds (stalls).
/// </summary>
public sealed class LogHistogram
{
    /// <summary>Buckets per factor of ten.</summary>
    public const int BucketsPerDecade = 10;

    /// <summary>Upper bound of the first bucket, in milliseconds.</summary>
    public const double LowestBoundMs = 0.001;

    /// <summary>Number of buckets: up to 10^7 ms (almost three hours); larger samples land in the last one.</summary>
    public const int BucketCount = (10 * BucketsPerDecade) + 1;

    private readonly long[] _counts = new long[BucketCount];

    /// <summary>The bucket <paramref name="ms"/> falls in.</summary>
    /// <param name="ms">A sample in milliseconds.</param>
    /// <returns>Its bucket index.</returns>
    public static int BucketOf(double ms)
    {
        if (!(ms > LowestBoundMs))
        {
            return 0;
        }

        // The small tolerance keeps exact bounds (1 ms, 10 ms) in their own bucket despite rounding in Log10.
        int k = (int)Math.Ceiling((Math.Log10(ms / LowestBoundMs) * BucketsPerDecade) - 1e-9);
        return Math.Clamp(k, 0, BucketCount - 1);
    }

    /// <summary>The inclusive upper bound of bucket <paramref name="index"/>, in milliseconds, to six significant digits.</summary>
    /// <param name="index">Bucket index.</param>
    /// <returns>The bound.</returns>
    public static double UpperBound(int index)
    {
        double bound = LowestBoundMs * Math.Pow(10, (double)index / BucketsPerDecade);
        double scale = Math.Pow(10, 5 - (int)Math.Floor(Math.Log10(bound)));
        return Math.Round(bound * scale) / scale;
    }

    /// <summary>Counts one sample.</summary>
    /// <param name="ms">The sample in milliseconds.</param>
    public void Add(double ms) => _counts[BucketOf(ms)]++;

    /// <summary>The buckets from the first non-empty one to the last, empty ones between included.</summary>
    /// <returns>(upper bound in ms, count) pairs; empty when no sample was added.</returns>
    public IReadOnlyList<(double UpperBoundMs, long Count)> Buckets()
    {
        int first = Array.FindIndex(_counts, c => c > 0);
        if (first < 0)
        {
            return [];
        }

        int last = Array.FindLastIndex(_counts, c => c > 0);
        var buckets = new List<(double, long)>(last - first + 1);
        for (int k = first; k <= last; k++)
        {
            buckets.Add((UpperBound(k), _counts[k]));
        }

        return buckets;
    }
}
