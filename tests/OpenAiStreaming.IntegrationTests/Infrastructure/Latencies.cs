using System.Diagnostics;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>Collects latencies and reports percentiles in the test output (docs/lifecycle.md quotes them).</summary>
public sealed class Latencies
{
    private readonly List<double> _milliseconds = [];

    public int Count => _milliseconds.Count;

    public void Add(long fromTimestamp, long toTimestamp) =>
        _milliseconds.Add(Stopwatch.GetElapsedTime(fromTimestamp, toTimestamp).TotalMilliseconds);

    public double Percentile(double p)
    {
        var sorted = _milliseconds.Order().ToList();
        int index = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    public void Report(string what) =>
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{what}: n={Count} p50={Percentile(50):F2} ms p99={Percentile(99):F2} ms max={_milliseconds.Max():F2} ms");
}
