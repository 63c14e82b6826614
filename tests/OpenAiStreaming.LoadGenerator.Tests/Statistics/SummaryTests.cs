using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Tests.Statistics;

public sealed class SummaryTests
{
    [Fact]
    public void Of_OneToHundred_LinearInterpolationLikeNumpy()
    {
        double[] samples = Enumerable.Range(1, 100).Select(i => (double)i).Reverse().ToArray();

        var summary = Summary.Of(samples);

        // numpy.percentile(range(1, 101), [50, 90, 99]) == [50.5, 90.1, 99.01]
        Assert.Equal(50.5, summary.P50, 9);
        Assert.Equal(90.1, summary.P90, 9);
        Assert.Equal(99.01, summary.P99, 9);
        Assert.Equal(100, summary.Max);
        Assert.Equal(50.5, summary.Mean, 9);
        Assert.Equal(100, summary.Count);
    }

    [Fact]
    public void Of_OneSample_EveryFigureIsThatSample()
    {
        var summary = Summary.Of(new[] { 7.25 });

        Assert.Equal(new Summary(7.25, 7.25, 7.25, 7.25, 7.25, 1, 7.25), summary);
    }

    [Fact]
    public void Of_SkewedSamples_PercentilesFromSortedOrder()
    {
        double[] samples = [1000, 1, 2, 3, 4, 5, 6, 7, 8, 9];

        var summary = Summary.Of(samples);

        Assert.Equal(5.5, summary.P50, 9);
        Assert.Equal(9 + ((1000 - 9) * 0.1), summary.P90, 9);
        Assert.Equal(1000, summary.Max);
        Assert.Equal(104.5, summary.Mean, 9);
    }

    [Fact]
    public void Of_NoSamples_CountZero()
    {
        Assert.Equal(Summary.Empty, Summary.Of(Span<double>.Empty));
        Assert.Equal(0, Summary.Of(Array.Empty<double>()).Count);
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(100, 40)]
    [InlineData(25, 17.5)]
    public void Percentile_Bounds_Exact(double percent, double expected)
    {
        Assert.Equal(expected, Summary.Percentile([10, 20, 30, 40], percent), 9);
    }

    [Fact]
    public void Percentile_OutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Summary.Percentile([1.0], 101));
        Assert.Throws<ArgumentException>(() => Summary.Percentile([], 50));
    }
}
