namespace OpenAiStreaming.Sampling.Tests;

/// <summary>
/// Chi-square tests: 100,000 draws (steps 0 to 99,999 of one seed) against the exact filtered distribution of the
/// reference, for each filter and their combination, with rows long enough to run the vector code paths.
/// </summary>
public partial class CpuSamplerTests
{
    private const int ChiSquareDraws = 100_000;

    [Fact]
    public void Sample_TemperatureOnly_MatchesExactDistributionByChiSquare()
    {
        AssertChiSquare(RandomRow(40, 1, spread: 5), new SamplingParams { Temperature = 0.7f });
    }

    [Fact]
    public void Sample_MinP_MatchesExactDistributionByChiSquare()
    {
        AssertChiSquare(RandomRow(100, 2, spread: 5), new SamplingParams { Temperature = 1.2f, MinP = 0.1f });
    }

    [Fact]
    public void Sample_TopK_MatchesExactDistributionByChiSquare()
    {
        // 40 survivors: more than the scalar race handles, so the vector race over candidates runs.
        AssertChiSquare(RandomRow(100, 3, spread: 2), new SamplingParams { TopK = 40 });
    }

    [Fact]
    public void Sample_TopP_MatchesExactDistributionByChiSquare()
    {
        AssertChiSquare(RandomRow(100, 4, spread: 3), new SamplingParams { Temperature = 0.9f, TopP = 0.8f });
    }

    [Fact]
    public void Sample_TopPByRadixSelect_MatchesExactDistributionByChiSquare()
    {
        var sampler = new CpuSampler { TopPSortLimit = 0 };

        AssertChiSquare(RandomRow(100, 5, spread: 3), new SamplingParams { Temperature = 0.9f, TopP = 0.7f }, sampler: sampler);
    }

    [Fact]
    public void Sample_AllFiltersAndPenalties_MatchExactDistributionByChiSquare()
    {
        float[] logits = RandomRow(200, 6, spread: 4);
        logits[7] = float.NaN;
        logits[8] = float.NegativeInfinity;
        var p = new SamplingParams
        {
            Temperature = 0.8f, MinP = 0.02f, TopK = 30, TopP = 0.9f, RepetitionPenalty = 1.2f, FrequencyPenalty = 0.3f, PresencePenalty = 0.1f,
        };
        p.LogitBias[11] = 2f;
        p.LogitBias[12] = -2f;
        int[] history = [.. Enumerable.Range(0, 500).Select(i => (i * 37) % 150)];

        AssertChiSquare(logits, p, history);
    }

    /// <summary>Draws <see cref="ChiSquareDraws"/> tokens and compares them with the reference distribution.</summary>
    private void AssertChiSquare(float[] logits, SamplingParams p, int[]? history = null, CpuSampler? sampler = null)
    {
        sampler ??= _sampler;
        double[] expected = ReferenceSampler.Distribution(logits, p, history);
        int[] counts = new int[logits.Length];
        for (int step = 0; step < ChiSquareDraws; step++)
        {
            counts[sampler.Sample(logits, p, 0xC0FFEE, step, history ?? [])]++;
        }

        // Cells expected fewer than 5 times are pooled into one, as the test requires.
        double chiSquare = 0;
        int cells = 0;
        double pooledExpected = 0;
        int pooledCount = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"token {i} is outside the support but was drawn {counts[i]} times");
                continue;
            }

            double e = expected[i] * ChiSquareDraws;
            if (e < 5)
            {
                pooledExpected += e;
                pooledCount += counts[i];
                continue;
            }

            cells++;
            chiSquare += (counts[i] - e) * (counts[i] - e) / e;
        }

        if (pooledExpected > 0)
        {
            cells++;
            chiSquare += (pooledCount - pooledExpected) * (pooledCount - pooledExpected) / pooledExpected;
        }

        Assert.True(cells >= 3, $"{cells} cells: the test needs a real distribution");
        double critical = ChiSquareCritical(cells - 1);
        Assert.True(chiSquare < critical, $"chi-square {chiSquare:F1} >= {critical:F1} with {cells - 1} degrees of freedom");
    }

    /// <summary>The p = 0.001 critical value of chi-square (Wilson-Hilferty, accurate to about 1% here).</summary>
    private static double ChiSquareCritical(int degrees)
    {
        const double Z = 3.0902;
        double k = degrees;
        double a = 2.0 / (9 * k);
        return k * Math.Pow(1 - a + (Z * Math.Sqrt(a)), 3);
    }

    private static float[] RandomRow(int length, int seed, double spread)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * spread))];
    }
}
