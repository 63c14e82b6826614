namespace OpenAiStreaming.Sampling.Tests;

/// <summary>Exact tests of logit bias, log-probabilities, sequences and edge values.</summary>
public partial class CpuSamplerTests
{
    [Fact]
    public void Sample_LogitBias_ShiftsLogitBeforeGreedy()
    {
        var p = new SamplingParams { Temperature = 0f };
        p.LogitBias[2] = 1.5f;

        Assert.Equal(2, _sampler.Sample([1f, 2f, 0.6f], p, 1, 0));
    }

    [Fact]
    public void Sample_LogitBiasNegativeInfinity_BansToken()
    {
        var p = new SamplingParams();
        p.LogitBias[1] = float.NegativeInfinity;

        AssertSupport([0f, 5f, 0f], p, [0, 2]);
    }

    [Fact]
    public void Sample_LogitBiasPositiveInfinity_ForcesToken()
    {
        var p = new SamplingParams { TopK = 1 };
        p.LogitBias[2] = float.PositiveInfinity;

        AssertSupport([0f, 5f, -3f], p, [2]);
    }

    [Fact]
    public void Sample_LogitBiasIdBeyondVocabulary_IsIgnored()
    {
        var p = new SamplingParams { Temperature = 0f };
        p.LogitBias[3] = 100f;

        Assert.Equal(1, _sampler.Sample([1f, 2f, 0f], p, 1, 0));
    }

    [Fact]
    public void Sample_LogitBiasBeforePenalties_PenaltyAppliesToBiasedLogit()
    {
        // Bias first: (2 - 1) / 2 = 0.5 > 0.25. Penalty first would give 2 / 2 - 1 = 0 < 0.25.
        var p = new SamplingParams { Temperature = 0f, RepetitionPenalty = 2f };
        p.LogitBias[0] = -1f;

        Assert.Equal(0, _sampler.Sample([2f, 0.25f], p, 1, 0, [0]));
    }

    [Fact]
    public void Sample_Sequence_ReportsChosenLogprobAtTemperatureOne()
    {
        float[] logits = [1f, 2f, 0.5f, float.NaN, float.NegativeInfinity];
        var p = new SamplingParams { Temperature = 0f, Logprobs = true };
        double[] expected = ReferenceSampler.Logprobs(logits, p);

        SampledToken token = _sampler.Sample(logits, new SamplingSequence(p));

        Assert.Equal(1, token.TokenId);
        Assert.Equal(expected[1], token.Logprob, 5);
        Assert.Equal(0, token.TopLogprobCount);
    }

    [Fact]
    public void Sample_Sequence_WritesTopLogprobsMostLikelyFirstTiesByLowerId()
    {
        float[] logits = [1f, 3f, 2f, 3f, float.NaN, -1f];
        var p = new SamplingParams { TopLogprobs = 4, TopP = 0.1f };
        double[] expected = ReferenceSampler.Logprobs(logits, p);
        var top = new TokenLogprob[10];

        SampledToken token = _sampler.Sample(logits, new SamplingSequence(p), top);

        Assert.Equal(4, token.TopLogprobCount);
        Assert.Equal([1, 3, 2, 0], top[..4].Select(t => t.TokenId));
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(expected[top[i].TokenId], top[i].Logprob, 5);
        }

        Assert.Equal(1, token.TokenId);  // top_p 0.1 keeps the first of the tied best
        Assert.Equal(expected[1], token.Logprob, 5);
    }

    [Fact]
    public void Sample_TopLogprobsMoreThanTokens_WritesOnlyFiniteOnes()
    {
        var p = new SamplingParams { TopLogprobs = 20 };
        var top = new TokenLogprob[20];

        SampledToken token = _sampler.Sample([0f, float.NaN, float.NegativeInfinity, 0f], new SamplingSequence(p), top);

        Assert.Equal(2, token.TopLogprobCount);
        Assert.Equal(new TokenLogprob(0, MathF.Log(0.5f)), top[0]);
        Assert.Equal(3, top[1].TokenId);
    }

    [Fact]
    public void Sample_TopLogprobsShortSpan_WritesSpanLength()
    {
        var p = new SamplingParams { TopLogprobs = 5 };
        var top = new TokenLogprob[2];

        SampledToken token = _sampler.Sample([0f, 1f, 2f, 3f, 4f, 5f], new SamplingSequence(p), top);

        Assert.Equal(2, token.TopLogprobCount);
        Assert.Equal([5, 4], top.Select(t => t.TokenId));
    }

    [Fact]
    public void Sample_LogprobsNotRequested_ReportsNaN()
    {
        SampledToken token = _sampler.Sample([0f, 1f], new SamplingSequence(new SamplingParams()));

        Assert.True(float.IsNaN(token.Logprob));
        Assert.Equal(0, token.TopLogprobCount);
    }

    [Fact]
    public void Sample_LogprobsWithPositiveInfinity_ShareMassAmongInfinities()
    {
        var p = new SamplingParams { Logprobs = true, TopLogprobs = 3 };
        var top = new TokenLogprob[3];

        SampledToken token = _sampler.Sample([float.PositiveInfinity, 1f, float.PositiveInfinity], new SamplingSequence(p), top);

        Assert.Equal(0, token.TokenId);
        Assert.Equal(-MathF.Log(2), token.Logprob, 6);
        Assert.Equal([0, 2, 1], top.Select(t => t.TokenId));
        Assert.Equal(float.NegativeInfinity, top[2].Logprob);
    }

    [Fact]
    public void Sample_LogprobsAllNaN_TokenZeroWithNegativeInfinity()
    {
        var p = new SamplingParams { Logprobs = true, TopLogprobs = 2 };

        SampledToken token = _sampler.Sample([float.NaN, float.NegativeInfinity], new SamplingSequence(p), new TokenLogprob[2]);

        Assert.Equal(new SampledToken(0, float.NegativeInfinity, 0), token);
    }

    [Fact]
    public void Sample_LogprobsLargeRow_MatchReference()
    {
        var random = new Random(5);
        float[] logits = [.. Enumerable.Range(0, 50_000).Select(_ => (float)((random.NextDouble() * 20) - 10))];
        var p = new SamplingParams { TopLogprobs = 20, FrequencyPenalty = 1f };
        int[] history = [.. Enumerable.Range(0, 300).Select(_ => random.Next(100))];
        var sequence = new SamplingSequence(p);
        foreach (int t in history)
        {
            sequence.Accept(t);
        }

        double[] expected = ReferenceSampler.Logprobs(logits, p, history);
        var top = new TokenLogprob[20];
        SampledToken token = _sampler.Sample(logits, sequence, top);

        Assert.Equal(expected[token.TokenId], token.Logprob, 4);
        int[] best = [.. Enumerable.Range(0, logits.Length).OrderByDescending(i => expected[i]).ThenBy(i => i).Take(20)];
        Assert.Equal(best, top.Select(t => t.TokenId));
        Assert.All(top, t => Assert.Equal(expected[t.TokenId], t.Logprob, 4));
    }

    [Fact]
    public void Sample_Sequence_AdvancesStepAndCountsPenalties()
    {
        float[] logits = [3f, 2.5f, 0f];
        var sequence = new SamplingSequence(new SamplingParams { Temperature = 0f, FrequencyPenalty = 0.2f, Seed = 5 });

        int[] tokens = [.. Enumerable.Range(0, 5).Select(_ => _sampler.Sample(logits, sequence).TokenId)];

        // 3 - 0.2 n against 2.5 - 0.2 m: 0, 0, 0, then 1 (3 - 0.6 = 2.4 < 2.5), then 0 (2.4 > 2.3).
        Assert.Equal([0, 0, 0, 1, 0], tokens);
        Assert.Equal(5, sequence.Step);
        Assert.Equal(4, sequence.GetOutputCount(0));
        Assert.Equal(5UL, sequence.Seed);
    }

    [Fact]
    public void Sample_Sequence_SameAsStatelessCallWithHistory()
    {
        var random = new Random(11);
        float[] logits = [.. Enumerable.Range(0, 300).Select(_ => (float)(random.NextDouble() * 6))];
        var p = new SamplingParams { Temperature = 0.9f, TopK = 40, RepetitionPenalty = 1.3f, FrequencyPenalty = 0.4f, PresencePenalty = 0.3f, Seed = 99 };
        var sequence = new SamplingSequence(p);
        var history = new List<int>();

        for (int step = 0; step < 200; step++)
        {
            int expected = new CpuSampler().Sample(logits, p, 99, step, history.ToArray());
            Assert.Equal(expected, _sampler.Sample(logits, sequence).TokenId);
            history.Add(expected);
        }
    }

    [Fact]
    public void Sample_SequencePromptTokens_OnlyRepetitionPenaltyApplies()
    {
        float[] logits = [2f, 1.8f];
        var p = new SamplingParams { Temperature = 0f, FrequencyPenalty = 5f, PresencePenalty = 5f };
        var sequence = new SamplingSequence(p);
        sequence.AddPromptTokens([0, 0, 0]);

        Assert.Equal(0, _sampler.Sample(logits, sequence).TokenId);

        p.RepetitionPenalty = 1.2f;  // 2 / 1.2 = 1.67 < 1.8
        var second = new SamplingSequence(p);
        second.AddPromptTokens([0]);
        Assert.Equal(1, _sampler.Sample(logits, second).TokenId);
    }

    [Fact]
    public void Sample_SequenceWithPromptAndOutput_MatchesReference()
    {
        var random = new Random(3);
        float[] logits = [.. Enumerable.Range(0, 64).Select(_ => (float)((random.NextDouble() * 8) - 4))];
        var p = new SamplingParams { Temperature = 0.7f, RepetitionPenalty = 1.5f, FrequencyPenalty = 0.3f, PresencePenalty = 0.2f, MinP = 0.02f, Seed = 7 };
        int[] prompt = [.. Enumerable.Range(0, 40).Select(_ => random.Next(64))];
        var sequence = new SamplingSequence(p);
        sequence.AddPromptTokens(prompt);
        var output = new List<int>();

        for (int step = 0; step < 100; step++)
        {
            int expected = ReferenceSampler.Sample(logits, p, 7, step, output, prompt);
            Assert.Equal(expected, _sampler.Sample(logits, sequence).TokenId);
            output.Add(expected);
        }
    }

    [Fact]
    public void Sample_NullSequence_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => _sampler.Sample([1f], (SamplingSequence)null!));
    }

    [Fact]
    public void Sample_MinusZeroAndPlusZero_TieByLowerId()
    {
        Assert.Equal(0, _sampler.Sample([-0f, 0f, -1f], new SamplingParams { Temperature = 0f }, 1, 0));
        AssertSupport([-0f, 0f, -1f], new SamplingParams { TopK = 1 }, [0]);
    }

    [Fact]
    public void Sample_TinyTemperatureAboveGreedy_StillValid()
    {
        var p = new SamplingParams { Temperature = 1.1e-5f };

        for (int step = 0; step < 50; step++)
        {
            Assert.Equal(1, _sampler.Sample([0f, 1f, 0.99f], p, 3, step));
        }
    }
}

/// <summary>Exact tests of the large-row code paths: radix top_p, top_k compaction, and the vector race.</summary>
public partial class CpuSamplerTests
{
    [Fact]
    public void Sample_TopPRadixOnTies_TakesLowestIdsUntilMassReached()
    {
        var sampler = new CpuSampler { TopPSortLimit = 0 };
        float[] logits = new float[10];

        // Ten equal tokens of mass 0.1: 0.3 < 0.35 <= 0.4, so four tokens, the lowest ids.
        AssertSupport(logits, new SamplingParams { TopP = 0.35f }, [0, 1, 2, 3], sampler);
    }

    [Fact]
    public void Sample_TopPRadixMixedBuckets_MatchesSortedPath()
    {
        var radix = new CpuSampler { TopPSortLimit = 0 };
        float[] logits = [3f, 1f, 1f, 2f, 1f, 0f, 2f, 1f, 3f, -1f, 1f, 1f];
        for (float topP = 0.05f; topP < 1f; topP += 0.05f)
        {
            var p = new SamplingParams { TopP = topP };
            List<int> expected = ReferenceSampler.Survivors(logits, p, out _)!;
            expected.Sort();

            AssertSupport(logits, p, [.. expected], radix, draws: 600);
        }
    }

    [Fact]
    public void Sample_TopPOnLargeUniformRow_KeepsLowestIds()
    {
        float[] logits = new float[20_000];
        var p = new SamplingParams { TopP = 0.25f };
        int highest = 0;
        for (int step = 0; step < 300; step++)
        {
            int token = _sampler.Sample(logits, p, 9, step);
            Assert.InRange(token, 0, 4999);
            highest = Math.Max(highest, token);
        }

        // 300 uniform draws from 5000 all below 4500: chance 0.9^300.
        Assert.True(highest >= 4500, $"highest {highest}");
    }

    [Fact]
    public void Sample_TopKOnLargeRow_KeepsExactlyTheKBest()
    {
        var random = new Random(8);
        float[] logits = [.. Enumerable.Range(0, 30_000).Select(_ => (float)random.NextDouble())];
        var p = new SamplingParams { TopK = 50 };
        int[] expected = [.. ReferenceSampler.Survivors(logits, p, out _)!.Order()];

        AssertSupport(logits, p, expected);
        AssertSupport(logits, p, expected, new CpuSampler { TopKCompactAt = 60 });
    }

    [Fact]
    public void Sample_TemperatureOnlyOnLargeRow_SameAsReference()
    {
        var random = new Random(9);
        float[] logits = [.. Enumerable.Range(0, 30_011).Select(_ => (float)(random.NextDouble() * 12))];
        logits[30_000] = float.NaN;
        var p = new SamplingParams { Temperature = 0.6f };

        for (int step = 0; step < 20; step++)
        {
            ulong seed = 0xFEDC_BA98_7654_3210UL + (ulong)step;
            Assert.Equal(ReferenceSampler.Sample(logits, p, seed, step), _sampler.Sample(logits, p, seed, step));
        }
    }

    [Fact]
    public void Sample_ManySurvivorsAfterFilters_SameAsReference()
    {
        var random = new Random(10);
        float[] logits = [.. Enumerable.Range(0, 5000).Select(_ => (float)(random.NextDouble() * 3))];
        var p = new SamplingParams { Temperature = 1.5f, TopK = 3000, TopP = 0.95f, MinP = 0.2f };

        for (int step = 0; step < 50; step++)
        {
            Assert.Equal(ReferenceSampler.Sample(logits, p, 77, step), _sampler.Sample(logits, p, 77, step));
        }
    }

    private static void AssertSupport(float[] logits, SamplingParams p, int[] expected, CpuSampler sampler, int draws = Draws)
    {
        var seen = new SortedSet<int>();
        for (int i = 0; i < draws; i++)
        {
            seen.Add(sampler.Sample(logits, p, (ulong)i * 0x9E3779B97F4A7C15, i % 7));
        }

        Assert.Equal(expected, seen);
    }
}
