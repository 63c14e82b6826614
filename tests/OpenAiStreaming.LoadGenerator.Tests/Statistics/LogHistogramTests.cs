using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Tests.Statistics;

public sealed class LogHistogramTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.001, 0)]
    [InlineData(0.0011, 1)]
    [InlineData(1, 30)]
    [InlineData(1.0001, 31)]
    [InlineData(10, 40)]
    [InlineData(20, 44)]
    [InlineData(1e12, LogHistogram.BucketCount - 1)]
    public void BucketOf_Value_InclusiveUpperBounds(double ms, int bucket)
    {
        Assert.Equal(bucket, LogHistogram.BucketOf(ms));
        Assert.True(ms <= LogHistogram.UpperBound(bucket) || bucket == LogHistogram.BucketCount - 1);
    }

    [Fact]
    public void UpperBound_TenPerDecade_RoundedToSixDigits()
    {
        Assert.Equal(0.001, LogHistogram.UpperBound(0));
        Assert.Equal(1, LogHistogram.UpperBound(30));
        Assert.Equal(1.25893, LogHistogram.UpperBound(31));
        Assert.Equal(100, LogHistogram.UpperBound(50));
    }

    [Fact]
    public void Buckets_FromFirstToLastNonEmpty_GapsIncluded()
    {
        var histogram = new LogHistogram();
        histogram.Add(1);
        histogram.Add(0.9);
        histogram.Add(10);

        var buckets = histogram.Buckets();

        Assert.Equal(11, buckets.Count);
        Assert.Equal((1.0, 2L), buckets[0]);
        Assert.Equal((10.0, 1L), buckets[^1]);
        Assert.Equal(3, buckets.Sum(b => b.Count));
        Assert.Empty(new LogHistogram().Buckets());
    }
}
