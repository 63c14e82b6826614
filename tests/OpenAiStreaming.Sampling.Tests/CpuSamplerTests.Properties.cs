using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace OpenAiStreaming.Sampling.Tests;

/// <summary>
/// Property tests: on random rows (ties, NaN, infinities, signed zeros included) and random parameters, the fast
/// sampler chooses exactly the reference's token, with the default tuning and with tiny limits that force the radix
/// top_p and the top_k compaction onto small rows.
/// </summary>
public partial class CpuSamplerTests
{
    private static readonly Config PropertyConfig = Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true);

    [Fact]
    public void Sample_RandomCases_SameTokenAsReference()
    {
        var tuned = new CpuSampler { TopPSortLimit = 0, TopKCompactAt = 1 };
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue).Select(SamplingCase.Create)), c =>
        {
            foreach (CpuSampler sampler in new[] { _sampler, tuned })
            {
                for (int draw = 0; draw < 3; draw++)
                {
                    ulong seed = c.Seed + (ulong)draw;
                    int step = c.Step + (draw * 1000);
                    int expected = ReferenceSampler.Sample(c.Logits, c.Params, seed, step, c.History);
                    int actual = sampler.Sample(c.Logits, c.Params, seed, step, c.History);
                    if (expected != actual)
                    {
                        throw new InvalidOperationException($"expected {expected}, got {actual} for {c}");
                    }
                }
            }

            return true;
        }).Check(PropertyConfig);
    }

    [Fact]
    public void SampleBatch_RandomCases_SameAsSingleRows()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            int vocab = random.Next(1, 300);
            int batch = random.Next(1, 9);
            float[] logits = new float[batch * vocab];
            var batched = new SamplingSequence[batch];
            var single = new SamplingSequence[batch];
            for (int b = 0; b < batch; b++)
            {
                SamplingCase c = SamplingCase.Create(random.Next(), vocab);
                c.Logits.CopyTo(logits, b * vocab);
                batched[b] = new SamplingSequence(c.Params);
                single[b] = new SamplingSequence(c.Params);
            }

            var results = new SampledToken[batch];
            var top = new TokenLogprob[batch * 3];
            for (int round = 0; round < 3; round++)
            {
                _sampler.SampleBatch(logits, batched, results, top);
                for (int b = 0; b < batch; b++)
                {
                    var expectedTop = new TokenLogprob[3];
                    SampledToken expected = new CpuSampler().Sample(logits.AsSpan(b * vocab, vocab), single[b], expectedTop);
                    Assert.Equal(expected, results[b]);
                    Assert.Equal(expectedTop.AsSpan(0, expected.TopLogprobCount), top.AsSpan(b * 3, expected.TopLogprobCount));
                }
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40).WithQuietOnSuccess(true));
    }

    /// <summary>One random row with random parameters, built from a seed so that a failure names its input.</summary>
    private sealed record SamplingCase(int CaseSeed, float[] Logits, SamplingParams Params, int[] History, ulong Seed, int Step)
    {
        public static SamplingCase Create(int caseSeed) => Create(caseSeed, vocabulary: 0);

        public static SamplingCase Create(int caseSeed, int vocabulary)
        {
            var random = new Random(caseSeed);
            int v = vocabulary > 0 ? vocabulary : random.Next(5) == 0 ? random.Next(1, 8) : random.Next(1, 400);

            // A small palette makes ties common; the rest are continuous.
            float[] palette = [.. Enumerable.Range(0, 1 + random.Next(6)).Select(_ => (float)Math.Round((random.NextDouble() * 10) - 5, 1))];
            float[] logits = new float[v];
            double spread = 1 + (random.NextDouble() * 15);
            for (int i = 0; i < v; i++)
            {
                int kind = random.Next(100);
                logits[i] = kind switch
                {
                    < 30 => palette[random.Next(palette.Length)],
                    < 33 => float.NaN,
                    < 36 => float.NegativeInfinity,
                    < 37 => random.Next(20) == 0 ? float.PositiveInfinity : -0f,
                    < 38 => 0f,
                    _ => (float)((random.NextDouble() - 0.5) * spread),
                };
            }

            var p = new SamplingParams
            {
                Temperature = random.Next(8) switch
                {
                    0 => 0f,
                    1 => 1e-5f,
                    2 => 2e-4f,
                    _ => (float)(0.05 + (random.NextDouble() * 2.5)),
                },
                TopK = random.Next(3) == 0 ? 0 : random.Next(1, v + 5),
                TopP = random.Next(3) == 0 ? 1f : (float)(0.01 + (random.NextDouble() * 0.99)),
                MinP = random.Next(3) == 0 ? 0f : (float)Math.Pow(random.NextDouble(), 3),
            };

            if (random.Next(3) == 0)
            {
                p.RepetitionPenalty = (float)(0.5 + random.NextDouble());
                p.FrequencyPenalty = (float)((random.NextDouble() * 4) - 2);
                p.PresencePenalty = (float)((random.NextDouble() * 4) - 2);
            }

            int biases = random.Next(4) == 0 ? random.Next(1, 5) : 0;
            for (int i = 0; i < biases; i++)
            {
                p.LogitBias[random.Next(v + 2)] = (float)((random.NextDouble() * 20) - 10);
            }

            p.TopLogprobs = random.Next(4);
            int[] history = [.. Enumerable.Range(0, random.Next(30)).Select(_ => random.Next(-2, v + 2))];
            ulong seed = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
            p.Seed = seed;
            return new SamplingCase(caseSeed, logits, p, history, seed, random.Next(1_000_000));
        }

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"case {CaseSeed}: V={Logits.Length} T={Params.Temperature} k={Params.TopK} p={Params.TopP} minp={Params.MinP} rep={Params.RepetitionPenalty} freq={Params.FrequencyPenalty} pres={Params.PresencePenalty} bias={Params.LogitBias.Count} history={History.Length}");
    }
}
