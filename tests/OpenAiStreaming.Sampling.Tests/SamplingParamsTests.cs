namespace OpenAiStreaming.Sampling.Tests;

public class SamplingParamsTests
{
    [Fact]
    public void Constructor_Default_AllFiltersOffAndValid()
    {
        var p = new SamplingParams();

        Assert.Equal(1f, p.Temperature);
        Assert.Equal(0, p.TopK);
        Assert.Equal(1f, p.TopP);
        Assert.Equal(0f, p.MinP);
        Assert.Equal(1f, p.RepetitionPenalty);
        Assert.Equal(0f, p.FrequencyPenalty);
        Assert.Equal(0f, p.PresencePenalty);
        p.Validate();
    }

    [Theory]
    [InlineData(nameof(SamplingParams.Temperature), -0.1f)]
    [InlineData(nameof(SamplingParams.Temperature), float.NaN)]
    [InlineData(nameof(SamplingParams.Temperature), float.PositiveInfinity)]
    [InlineData(nameof(SamplingParams.TopP), 0f)]
    [InlineData(nameof(SamplingParams.TopP), -0.5f)]
    [InlineData(nameof(SamplingParams.TopP), 1.01f)]
    [InlineData(nameof(SamplingParams.TopP), float.NaN)]
    [InlineData(nameof(SamplingParams.MinP), -0.01f)]
    [InlineData(nameof(SamplingParams.MinP), 1.01f)]
    [InlineData(nameof(SamplingParams.MinP), float.NaN)]
    [InlineData(nameof(SamplingParams.RepetitionPenalty), 0f)]
    [InlineData(nameof(SamplingParams.RepetitionPenalty), -1f)]
    [InlineData(nameof(SamplingParams.RepetitionPenalty), float.NaN)]
    [InlineData(nameof(SamplingParams.RepetitionPenalty), float.PositiveInfinity)]
    [InlineData(nameof(SamplingParams.FrequencyPenalty), float.NaN)]
    [InlineData(nameof(SamplingParams.FrequencyPenalty), float.NegativeInfinity)]
    [InlineData(nameof(SamplingParams.PresencePenalty), float.NaN)]
    [InlineData(nameof(SamplingParams.PresencePenalty), float.PositiveInfinity)]
    public void Validate_InvalidValue_ThrowsWithParameterName(string name, float value)
    {
        var p = new SamplingParams();
        switch (name)
        {
            case nameof(SamplingParams.Temperature): p.Temperature = value; break;
            case nameof(SamplingParams.TopP): p.TopP = value; break;
            case nameof(SamplingParams.MinP): p.MinP = value; break;
            case nameof(SamplingParams.RepetitionPenalty): p.RepetitionPenalty = value; break;
            case nameof(SamplingParams.FrequencyPenalty): p.FrequencyPenalty = value; break;
            case nameof(SamplingParams.PresencePenalty): p.PresencePenalty = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }

        var e = Assert.Throws<ArgumentOutOfRangeException>(p.Validate);
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void Validate_NegativeTopK_ThrowsWithParameterName()
    {
        var p = new SamplingParams { TopK = -1 };

        var e = Assert.Throws<ArgumentOutOfRangeException>(p.Validate);
        Assert.Equal(nameof(SamplingParams.TopK), e.ParamName);
    }

    [Fact]
    public void Validate_BoundaryValues_DoesNotThrow()
    {
        new SamplingParams { Temperature = 0f, TopK = 0, TopP = 1f, MinP = 0f, RepetitionPenalty = 1e-3f }.Validate();
        new SamplingParams { Temperature = 100f, TopK = int.MaxValue, TopP = 1e-6f, MinP = 1f, RepetitionPenalty = 5f }.Validate();
        new SamplingParams { FrequencyPenalty = -2f, PresencePenalty = 2f }.Validate();
    }
}

public class SamplingParamsNewOptionsTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(21)]
    public void Validate_TopLogprobsOutOfRange_Throws(int value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(new SamplingParams { TopLogprobs = value }.Validate);
        Assert.Equal(nameof(SamplingParams.TopLogprobs), e.ParamName);
    }

    [Fact]
    public void Validate_LogitBiasNegativeIdOrNaN_Throws()
    {
        var negative = new SamplingParams();
        negative.LogitBias[-1] = 1f;
        var nan = new SamplingParams();
        nan.LogitBias[3] = float.NaN;

        Assert.Equal(nameof(SamplingParams.LogitBias), Assert.Throws<ArgumentOutOfRangeException>(negative.Validate).ParamName);
        Assert.Equal(nameof(SamplingParams.LogitBias), Assert.Throws<ArgumentOutOfRangeException>(nan.Validate).ParamName);
    }

    [Fact]
    public void Validate_NewOptionsAtBounds_DoesNotThrow()
    {
        var p = new SamplingParams { TopLogprobs = SamplingParams.MaxTopLogprobs, Logprobs = true, Seed = ulong.MaxValue };
        p.LogitBias[0] = float.NegativeInfinity;
        p.LogitBias[int.MaxValue] = 100f;

        p.Validate();
        Assert.Equal(20, SamplingParams.MaxTopLogprobs);
    }

    [Fact]
    public void Constructor_Default_NewOptionsOff()
    {
        var p = new SamplingParams();

        Assert.Null(p.Seed);
        Assert.False(p.Logprobs);
        Assert.Equal(0, p.TopLogprobs);
        Assert.Empty(p.LogitBias);
    }
}
