namespace OpenAiStreaming.Sampling.Tests;

public partial class CpuSamplerTests
{
    private const int Draws = 4000;

    private readonly CpuSampler _sampler = new();

    [Fact]
    public void Sample_EmptyLogits_ThrowsArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => _sampler.Sample([], new SamplingParams(), 1, 0));
        Assert.Equal("logits", e.ParamName);
    }

    [Fact]
    public void Sample_NullParams_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => _sampler.Sample([1f], null!, 1, 0));
    }

    [Fact]
    public void Sample_InvalidParams_ThrowsArgumentOutOfRangeException()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _sampler.Sample([1f, 2f], new SamplingParams { TopP = 0f }, 1, 0));
        Assert.Equal(nameof(SamplingParams.TopP), e.ParamName);
    }

    [Fact]
    public void Sample_NegativeStep_ThrowsArgumentOutOfRangeException()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _sampler.Sample([1f, 2f], new SamplingParams(), 1, -1));
    }

    [Fact]
    public void Sample_SingleLogit_ReturnsZero()
    {
        Assert.Equal(0, _sampler.Sample([-5f], new SamplingParams(), 42, 3));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1e-5f)]
    public void Sample_GreedyTemperature_ReturnsArgmaxForEverySeed(float temperature)
    {
        float[] logits = [0.1f, 3f, -2f, 2.9f];
        var p = new SamplingParams { Temperature = temperature };

        for (ulong seed = 0; seed < 100; seed++)
        {
            Assert.Equal(1, _sampler.Sample(logits, p, seed, (int)seed));
        }
    }

    [Fact]
    public void Sample_GreedyTies_ReturnsLowestId()
    {
        Assert.Equal(1, _sampler.Sample([1f, 5f, 2f, 5f, 5f], new SamplingParams { Temperature = 0f }, 9, 0));
    }

    [Fact]
    public void Sample_GreedyIgnoresFilters_ReturnsArgmax()
    {
        var p = new SamplingParams { Temperature = 0f, TopK = 1, TopP = 0.01f, MinP = 1f };

        Assert.Equal(2, _sampler.Sample([0f, 1f, 4f, 3f], p, 5, 5));
    }

    [Fact]
    public void Sample_NoFilters_EveryTokenAppears()
    {
        // Probabilities 0.4, 0.3, 0.2, 0.1.
        AssertSupport(Logits(0.4, 0.3, 0.2, 0.1), new SamplingParams(), [0, 1, 2, 3]);
    }

    [Fact]
    public void Sample_TopK_KeepsExactlyTheKMostLikely()
    {
        AssertSupport([1f, 4f, 2f, 3f, 0f], new SamplingParams { TopK = 2 }, [1, 3]);
    }

    [Fact]
    public void Sample_TopKTies_KeepsLowerIds()
    {
        AssertSupport([3f, 1f, 3f, 3f], new SamplingParams { TopK = 2 }, [0, 2]);
    }

    [Fact]
    public void Sample_TopKAtLeastVocabulary_KeepsAll()
    {
        AssertSupport([0f, 0.5f, 1f], new SamplingParams { TopK = 3 }, [0, 1, 2]);
        AssertSupport([0f, 0.5f, 1f], new SamplingParams { TopK = 100 }, [0, 1, 2]);
    }

    [Theory]
    [InlineData(0.45f, new[] { 1 })]        // 0.5 reaches 0.45 alone.
    [InlineData(0.55f, new[] { 1, 3 })]     // 0.5 < 0.55 <= 0.8: the crossing token (0.3) is kept.
    [InlineData(0.81f, new[] { 0, 1, 3 })]  // 0.8 < 0.81 <= 0.95.
    [InlineData(0.96f, new[] { 0, 1, 2, 3 })]
    public void Sample_TopP_KeepsSmallestSetIncludingCrossingToken(float topP, int[] expected)
    {
        // Probabilities by id: 0.15, 0.5, 0.05, 0.3.
        AssertSupport(Logits(0.15, 0.5, 0.05, 0.3), new SamplingParams { TopP = topP }, expected);
    }

    [Fact]
    public void Sample_TopPTies_CrossesWithLowerIdFirst()
    {
        // Probabilities by id: 0.2, 0.2, 0.4, 0.2. Mass 0.4, then one of the 0.2s crosses 0.5: the lowest id, 0.
        AssertSupport(Logits(0.2, 0.2, 0.4, 0.2), new SamplingParams { TopP = 0.5f }, [0, 2]);
    }

    [Fact]
    public void Sample_TopPAfterTopK_UsesRenormalizedMass()
    {
        // top_k = 2 leaves 0.4 and 0.3, renormalized to 0.571 and 0.429: 0.571 alone reaches 0.55. Against the original
        // mass (0.4 < 0.55) the second token would have been kept too.
        var p = new SamplingParams { TopK = 2, TopP = 0.55f };

        AssertSupport(Logits(0.4, 0.3, 0.2, 0.1), p, [0]);
    }

    [Fact]
    public void Sample_MinP_KeepsTokensAtLeastMinPTimesMax()
    {
        // Relative probabilities 1, 0.5, 0.2, 0.09, 0.3; min_p 0.25 keeps 1, 0.5 and 0.3.
        AssertSupport(Logits(1, 0.5, 0.2, 0.09, 0.3), new SamplingParams { MinP = 0.25f }, [0, 1, 4]);
    }

    [Fact]
    public void Sample_MinPAfterTemperature_UsesTemperedProbabilities()
    {
        // T = 2 takes square roots: 1, 0.707, 0.447, 0.3, 0.548; min_p 0.4 drops only the 0.3.
        var p = new SamplingParams { Temperature = 2f, MinP = 0.4f };

        AssertSupport(Logits(1, 0.5, 0.2, 0.09, 0.3), p, [0, 1, 2, 4]);
    }

    [Fact]
    public void Sample_MinPOne_KeepsOnlyTheMostLikely()
    {
        AssertSupport([0.5f, 2f, 1.9f], new SamplingParams { MinP = 1f }, [1]);
    }

    [Fact]
    public void Sample_RepetitionPenaltyOnPositiveLogit_DividesIt()
    {
        float[] logits = [2f, 1.8f, -1f];
        var p = new SamplingParams { Temperature = 0f, RepetitionPenalty = 1.2f };

        Assert.Equal(0, _sampler.Sample(logits, p, 1, 0, [2]));
        Assert.Equal(1, _sampler.Sample(logits, p, 1, 0, [0]));  // 2 / 1.2 = 1.67 < 1.8
    }

    [Fact]
    public void Sample_RepetitionPenaltyOnNegativeLogit_MultipliesIt()
    {
        float[] logits = [-1f, -1.1f];
        var p = new SamplingParams { Temperature = 0f, RepetitionPenalty = 1.2f };

        Assert.Equal(1, _sampler.Sample(logits, p, 1, 0, [0]));  // -1 * 1.2 = -1.2 < -1.1
    }

    [Fact]
    public void Sample_FrequencyPenalty_ScalesWithCount()
    {
        float[] logits = [3f, 2.5f, 0f];
        var p = new SamplingParams { Temperature = 0f, FrequencyPenalty = 0.2f };

        Assert.Equal(0, _sampler.Sample(logits, p, 1, 0, [0, 0]));     // 3 - 0.4 = 2.6 > 2.5
        Assert.Equal(1, _sampler.Sample(logits, p, 1, 0, [0, 0, 0]));  // 3 - 0.6 = 2.4 < 2.5
    }

    [Fact]
    public void Sample_PresencePenalty_IgnoresCount()
    {
        float[] logits = [3f, 2.5f];
        int[] history = [0, 0, 0, 0, 0];

        Assert.Equal(0, _sampler.Sample(logits, new SamplingParams { Temperature = 0f, PresencePenalty = 0.4f }, 1, 0, history));
        Assert.Equal(1, _sampler.Sample(logits, new SamplingParams { Temperature = 0f, PresencePenalty = 0.6f }, 1, 0, history));
    }

    [Fact]
    public void Sample_NegativePenalty_FavoursSeenToken()
    {
        var p = new SamplingParams { Temperature = 0f, PresencePenalty = -1f };

        Assert.Equal(1, _sampler.Sample([3f, 2.5f], p, 1, 0, [1]));
    }

    [Fact]
    public void Sample_OverloadWithoutHistory_IgnoresPenalties()
    {
        var p = new SamplingParams { Temperature = 0f, RepetitionPenalty = 2f, FrequencyPenalty = 2f, PresencePenalty = 2f };

        Assert.Equal(0, _sampler.Sample([2f, 1.5f], p, 1, 0));
        Assert.Equal(0, _sampler.Sample([2f, 1.5f], p, 1, 0, []));
    }

    [Fact]
    public void Sample_HistoryIdsOutOfRange_AreIgnored()
    {
        var p = new SamplingParams { Temperature = 0f, PresencePenalty = 2f };

        Assert.Equal(0, _sampler.Sample([2f, 1.5f], p, 1, 0, [-1, 2, int.MaxValue, int.MinValue]));
    }

    [Fact]
    public void Sample_ConsecutiveCalls_DoNotShareHistory()
    {
        float[] logits = [3f, 2.5f, 0f];
        var p = new SamplingParams { Temperature = 0f, FrequencyPenalty = 0.2f };

        Assert.Equal(1, _sampler.Sample(logits, p, 1, 0, [0, 0, 0]));
        Assert.Equal(0, _sampler.Sample(logits, p, 1, 0, [1]));  // would be 1 if the three zeros were still counted
        Assert.Equal(0, _sampler.Sample(logits, p, 1, 0, [0, 0]));
    }

    [Fact]
    public void Sample_SameSeedAndStep_SameTokenAcrossInstancesAndRowSizes()
    {
        float[] logits = UniformLogits(1000);
        var p = new SamplingParams { Temperature = 0.9f, TopP = 0.95f };
        int first = _sampler.Sample(logits, p, 123, 7);

        _sampler.Sample(UniformLogits(5000), p, 9, 9);  // grows the buffers
        _sampler.Sample(UniformLogits(10), p, 9, 9);    // leaves stale data past the row

        Assert.Equal(first, _sampler.Sample(logits, p, 123, 7));
        Assert.Equal(first, new CpuSampler().Sample(logits, p, 123, 7));
    }

    [Fact]
    public void Sample_DifferentSteps_GiveDifferentDraws()
    {
        // 100 uniform draws from 1000 tokens have about 95 distinct values (sd about 2).
        float[] logits = UniformLogits(1000);
        var p = new SamplingParams();

        var bySteps = new HashSet<int>();
        var bySeeds = new HashSet<int>();
        for (int i = 0; i < 100; i++)
        {
            bySteps.Add(_sampler.Sample(logits, p, 77, i));
            bySeeds.Add(_sampler.Sample(logits, p, (ulong)i << 32 | 5, 0));
        }

        Assert.True(bySteps.Count >= 80, $"{bySteps.Count} distinct tokens over 100 steps");
        Assert.True(bySeeds.Count >= 80, $"{bySeeds.Count} distinct tokens over 100 seeds");
    }

    [Fact]
    public void Sample_Draw_IsExponentialRaceOverPhiloxUniforms()
    {
        var random = new Random(20240601);
        float[] logits = new float[50];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)((random.NextDouble() * 6) - 3);
        }

        const float T = 0.7f;
        const ulong Seed = 0x1234_5678_9ABC_DEF0;
        for (int step = 0; step < 50; step++)
        {
            int expected = -1;
            double best = double.NegativeInfinity;
            for (int i = 0; i < logits.Length; i++)
            {
                double u = (Philox.Generate((uint)step, (uint)i, 0, 0, 0x9ABC_DEF0, 0x1234_5678).X0 + 1.0) / 4294967296.0;
                double key = (logits[i] / (double)T) - Math.Log(-Math.Log(u));
                if (key > best)
                {
                    (best, expected) = (key, i);
                }
            }

            Assert.Equal(expected, _sampler.Sample(logits, new SamplingParams { Temperature = T }, Seed, step));
        }
    }

    [Fact]
    public void Sample_CombinedFilters_MatchExactDistributionByChiSquare()
    {
        float[] logits = [-1f, 1f, float.NaN, 2f, -3f, 0.5f, 1.5f, float.NegativeInfinity, 0f, -0.5f];
        var p = new SamplingParams { Temperature = 0.8f, MinP = 0.06f, TopK = 4, TopP = 0.9f };
        double[] expected = ReferenceDistribution(logits, p);

        // Relative weights at T = 0.8: 1, 0.535, 0.287, 0.153, 0.082, 0.044, ... min_p keeps the first five, top_k the
        // first four; their mass is 0.506, 0.271, 0.145, 0.078, so top_p 0.9 keeps three (logits 2, 1.5 and 1).
        Assert.Equal([1, 3, 6], Enumerable.Range(0, logits.Length).Where(i => expected[i] > 0));

        const int N = 100_000;
        int[] counts = new int[logits.Length];
        for (int step = 0; step < N; step++)
        {
            counts[_sampler.Sample(logits, p, 0xC0FFEE, step)]++;
        }

        double chiSquare = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (expected[i] == 0)
            {
                Assert.Equal(0, counts[i]);
                continue;
            }

            double e = expected[i] * N;
            chiSquare += (counts[i] - e) * (counts[i] - e) / e;
        }

        // Critical value of chi-square with 3 - 1 = 2 degrees of freedom at p = 0.001.
        Assert.True(chiSquare < 13.816, $"chi-square {chiSquare}");
    }

    [Fact]
    public void Sample_NaNLogits_NeverChosen()
    {
        float[] logits = [float.NaN, 1f, float.NaN, 0.5f];

        Assert.Equal(1, _sampler.Sample(logits, new SamplingParams { Temperature = 0f }, 1, 0));
        AssertSupport(logits, new SamplingParams(), [1, 3]);
    }

    [Fact]
    public void Sample_NegativeInfinityLogits_NeverChosen()
    {
        AssertSupport([float.NegativeInfinity, -50f, float.NegativeInfinity], new SamplingParams { TopP = 0.5f }, [1]);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    public void Sample_AllNaNOrNegativeInfinity_ReturnsZero(float temperature)
    {
        var p = new SamplingParams { Temperature = temperature, TopK = 2, TopP = 0.5f, MinP = 0.5f };

        Assert.Equal(0, _sampler.Sample([float.NaN, float.NaN, float.NaN], p, 1, 0));
        Assert.Equal(0, _sampler.Sample([float.NegativeInfinity, float.NaN, float.NegativeInfinity], p, 1, 0));
        Assert.Equal(0, _sampler.Sample([float.NaN, float.NegativeInfinity], p, 1, 0, [0, 1]));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1f)]
    [InlineData(50f)]
    public void Sample_PositiveInfinityLogits_ReturnsLowestInfiniteId(float temperature)
    {
        float[] logits = [1f, float.NaN, 3f, float.PositiveInfinity, 2f, float.PositiveInfinity];
        var p = new SamplingParams { Temperature = temperature };

        for (ulong seed = 0; seed < 200; seed++)
        {
            Assert.Equal(3, _sampler.Sample(logits, p, seed, 0));
        }
    }

    [Fact]
    public void Sample_PositiveInfinityAfterPenalty_StaysInfinite()
    {
        var p = new SamplingParams { Temperature = 0.5f, RepetitionPenalty = 3f, FrequencyPenalty = 2f, PresencePenalty = 2f };

        Assert.Equal(1, _sampler.Sample([5f, float.PositiveInfinity], p, 1, 0, [1, 1, 1]));
    }

    [Fact]
    public void Sample_ExtremeFiniteLogits_ReturnsValidToken()
    {
        var p = new SamplingParams { Temperature = 2e-5f, MinP = 0.1f, TopP = 0.9f };

        Assert.Equal(1, _sampler.Sample([-float.MaxValue, float.MaxValue, 0f], p, 3, 1));
        AssertSupport([float.MaxValue, float.MaxValue, -float.MaxValue], new SamplingParams(), [0, 1]);
    }

    [Fact]
    public void Sample_SteadyState_DoesNotAllocate()
    {
        float[] logits = UniformLogits(4096);
        logits[17] = 3f;
        var p = new SamplingParams { Temperature = 0.8f, TopK = 50, TopP = 0.9f, MinP = 0.01f, FrequencyPenalty = 0.5f };
        int[] history = [1, 2, 17, 17];
        for (int step = 0; step < 10; step++)
        {
            _sampler.Sample(logits, p, 1, step, history);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 0; step < 100; step++)
        {
            _sampler.Sample(logits, p, 1, step, history);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Draws with many seeds and checks that exactly the expected ids appear.</summary>
    private void AssertSupport(float[] logits, SamplingParams p, int[] expected)
    {
        var seen = new SortedSet<int>();
        for (int i = 0; i < Draws; i++)
        {
            int token = _sampler.Sample(logits, p, (ulong)i * 0x9E3779B97F4A7C15, i % 7);
            Assert.InRange(token, 0, logits.Length - 1);
            seen.Add(token);
        }

        Assert.Equal(expected, seen);
    }

    /// <summary>Logits whose softmax at temperature 1 gives the given (relative) probabilities.</summary>
    private static float[] Logits(params double[] probabilities) => [.. probabilities.Select(x => (float)Math.Log(x))];

    private static float[] UniformLogits(int n) => new float[n];

    /// <summary>The filtered distribution straight from the definitions, to compare the sampler against.</summary>
    private static double[] ReferenceDistribution(float[] logits, SamplingParams p)
    {
        double[] weight = [.. logits.Select(l => float.IsNaN(l) ? 0 : Math.Exp(l / (double)p.Temperature))];
        double max = weight.Max();
        var alive = Enumerable.Range(0, logits.Length)
            .Where(i => weight[i] > 0 && weight[i] >= p.MinP * max)
            .OrderByDescending(i => weight[i]).ThenBy(i => i)
            .Take(p.TopK > 0 ? p.TopK : int.MaxValue)
            .ToList();

        double aliveMass = alive.Sum(i => weight[i]);
        var kept = new List<int>();
        double cumulative = 0;
        foreach (int i in alive)
        {
            kept.Add(i);
            cumulative += weight[i] / aliveMass;
            if (cumulative >= p.TopP)
            {
                break;
            }
        }

        double keptMass = kept.Sum(i => weight[i]);
        double[] result = new double[logits.Length];
        foreach (int i in kept)
        {
            result[i] = weight[i] / keptMass;
        }

        return result;
    }
}
