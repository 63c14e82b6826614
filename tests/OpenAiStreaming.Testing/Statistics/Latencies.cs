using System.Diagnostics;

namespace OpenAiStreaming.Testing.Statistics;

/// <summary>Collects latencies and reports percentiles in the test output (docs/lifecycle.md quotes them).</summary>
public sealed class Latencies
{
    private readonly List<double> _milliseconds = [];

    /// <summary>How many latencies were added.</summary>
    public int Count => _milliseconds.Count;

    /// <summary>Adds the time between two <see cref="Stopwatch"/> timestamps.</summary>
    /// <param name="fromTimestamp">The start.</param>
    /// <param name="toTimestamp">The end.</param>
    public void Add(long fromTimestamp, long toTimestamp) =>
        _milliseconds.Add(Stopwatch.GetElapsedTime(fromTimestamp, toTimestamp).TotalMilliseconds);

    /// <summary>The nearest-rank percentile <paramref name="p"/>, in milliseconds.</summary>
    /// <param name="p">From 0 to 100.</param>
    /// <returns>The latency.</returns>
    public double Percentile(double p)
    {
        var sorted = _milliseconds.Order().ToList();
        int index = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    /// <summary>Writes n, p50, p99 and max to the test's output.</summary>
    /// <param name="what">What was measured.</param>
    public void Report(string what) =>
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{what}: n={Count} p50={Percentile(50):F2} ms p99={Percentile(99):F2} ms max={_milliseconds.Max():F2} ms");
}
