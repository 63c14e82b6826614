using OpenAiStreaming.LoadGenerator.Reporting;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class MarkdownFormatTests
{
    [Theory]
    [InlineData(54.26, 1, "54.3")]
    [InlineData(0.0421, 3, "0.042")]
    [InlineData(999.94, 1, "999.9")]
    [InlineData(1057.6, 1, "1,058")]
    [InlineData(629182.0, 3, "629,182")]
    [InlineData(-1500.0, 1, "-1,500")]
    public void Number_DecimalsBelowAThousandSeparatorsAbove(double value, int digits, string expected)
    {
        Assert.Equal(expected, MarkdownFormat.Number(value, digits));
    }

    [Fact]
    public void Number_Missing_Dash()
    {
        Assert.Equal("–", MarkdownFormat.Number(null));
    }

    [Theory]
    [InlineData(3.0, 2.0, "1.50×")]
    [InlineData(629182.0, 115513.0, "5.45×")]
    [InlineData(1.0, 0.0, "–")]
    [InlineData(null, 2.0, "–")]
    [InlineData(2.0, null, "–")]
    public void Ratio_TwoDecimalsOrDash(double? a, double? b, string expected)
    {
        Assert.Equal(expected, MarkdownFormat.Ratio(a, b));
    }

    [Fact]
    public void Verdict_Bold()
    {
        Assert.Equal("**holds**", MarkdownFormat.Verdict(true));
        Assert.Equal("**misses**", MarkdownFormat.Verdict(false));
    }
}
