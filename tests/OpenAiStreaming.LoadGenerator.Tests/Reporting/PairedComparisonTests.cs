using OpenAiStreaming.LoadGenerator.Reporting;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class PairedComparisonTests
{
    [Fact]
    public void Of_GeometricMeanWithStudentsIntervalOnTheLogs()
    {
        // Logs of 0.9, 1.0, 1.2, 1.1: mean 0.04309, standard deviation 0.12506; t(3) = 3.182, half-width 0.19897.
        var comparison = PairedComparison.Of([0.9, 1.0, 1.2, 1.1])!.Value;

        Assert.Equal(4, comparison.Rounds);
        Assert.Equal(1.04401, comparison.GeometricMean, 4);
        Assert.Equal(0.85731, comparison.Low, 4);
        Assert.Equal(1.27137, comparison.High, 4);
        Assert.Equal(1, comparison.OursLower);
        Assert.Equal("1.044× (95% CI 0.857–1.271) over 4 rounds; ours lower in 1", comparison.ToString());
    }

    [Fact]
    public void Of_ManyRounds_IntervalNarrowsAroundTheMean()
    {
        // Beyond the table (31 degrees of freedom) the interval still holds the mean and narrows as rounds are added.
        double[] ratios = [.. Enumerable.Range(0, 32).Select(i => i % 2 == 0 ? 0.95 : 1.05)];
        var few = PairedComparison.Of(ratios[..8])!.Value;
        var many = PairedComparison.Of(ratios)!.Value;

        Assert.InRange(many.GeometricMean, many.Low, many.High);
        Assert.True(many.High - many.Low < few.High - few.Low);
        Assert.Equal(16, many.OursLower);
    }

    [Fact]
    public void Of_FewerThanTwoRounds_Null()
    {
        Assert.Null(PairedComparison.Of([]));
        Assert.Null(PairedComparison.Of([1.1]));
    }
}
