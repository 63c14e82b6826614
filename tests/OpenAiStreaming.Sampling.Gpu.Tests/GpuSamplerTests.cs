using ILGPU;
using ILGPU.Runtime;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>
/// The kernel on ILGPU's CPU accelerator against <see cref="CpuSampler"/>: the very kernel code a GPU runs, executed
/// group by group with real barriers and warp shuffles.
/// </summary>
public sealed class GpuSamplerTests(CpuAcceleratorFixture fixture) : IClassFixture<CpuAcceleratorFixture>
{
    private const int TopStride = SamplingParams.MaxTopLogprobs;

    [Fact]
    public void RandomRows_AgreeWithCpuSampler()
    {
        var random = new Random(20261201);
        var failures = new List<string>();
        int rows = 0;

        // Vocabularies from 2 to 32,000 (log-uniform, one per batch of 32 rows), then a few rows of Llama 3's 128,256.
        for (int batch = 0; batch < 10; batch++)
        {
            int vocab = batch == 0 ? 2 : (int)Math.Exp(random.NextDouble() * Math.Log(32_000));
            rows += Compare(random, Math.Max(2, vocab), 32, failures);
        }

        rows += Compare(random, 128_256, 3, failures);
        TestContext.Current.SendDiagnosticMessage($"{rows - failures.Count} of {rows} rows agree.");
        Assert.True(failures.Count == 0, $"{failures.Count} of {rows} rows differ:\n{string.Join('\n', failures.Take(30))}");
    }

    [Fact]
    public void FlatRows_WideNucleus_AgreeWithCpuSampler()
    {
        // Nearly flat rows put thousands of tokens in the nucleus and in top_k: the cut searches descend past the
        // shared-memory capacity and decide inside one radix bucket, against the exact mass above it.
        var random = new Random(17);
        var cpu = new CpuSampler();
        const int Batch = 12;
        const int Vocab = 20_000;
        float[] logits = new float[Batch * Vocab];
        var sequences = new SamplingSequence[Batch];
        for (int b = 0; b < Batch; b++)
        {
            for (int i = 0; i < Vocab; i++)
            {
                logits[(b * Vocab) + i] = (float)(random.NextDouble() * (0.5 + b));
            }

            sequences[b] = new SamplingSequence(new SamplingParams
            {
                Temperature = 0.5f + (0.25f * (b % 4)),
                TopP = b % 3 == 2 ? 1f : 0.5f + (0.04f * b),
                TopK = b % 3 == 0 ? 0 : 2500 + (700 * b),
                Seed = (ulong)b,
                TopLogprobs = 2,
            });
        }

        var results = new SampledToken[Batch];
        var top = new TokenLogprob[Batch * 2];
        fixture.Sampler.SampleBatch(logits, sequences, results, top);
        for (int b = 0; b < Batch; b++)
        {
            var cpuTop = new TokenLogprob[2];
            SampledToken expected = cpu.Sample(logits.AsSpan(b * Vocab, Vocab), new SamplingSequence(sequences[b].Parameters), cpuTop);
            Assert.Null(Agreement.Compare(expected, cpuTop, results[b], top.AsSpan(b * 2, 2)));
        }
    }

    [Fact]
    public void SampleBatch_MixedParameters_GivesWhatEachRowGivesAlone()
    {
        var random = new Random(7);
        const int Batch = 8;
        const int Vocab = 3000;
        RandomRows.Case[] cases = Enumerable.Range(0, Batch).Select(_ => RandomRows.Next(random, Vocab)).ToArray();
        (SampledToken[] batched, TokenLogprob[] batchedTop) = RunBatch(cases);
        for (int b = 0; b < Batch; b++)
        {
            var top = new TokenLogprob[TopStride];
            SampledToken alone = fixture.Sampler.Sample(cases[b].Logits, RandomRows.Sequence(cases[b]), top);
            Assert.Equal(batched[b], alone);
            Assert.Equal(batchedTop.AsSpan(b * TopStride, alone.TopLogprobCount).ToArray(), top.AsSpan(0, alone.TopLogprobCount).ToArray());
        }
    }

    [Fact]
    public void SampleBatch_RunTwice_GivesIdenticalBits()
    {
        var random = new Random(11);
        RandomRows.Case[] cases = Enumerable.Range(0, 8).Select(_ => RandomRows.Next(random, 20_000)).ToArray();
        foreach (RandomRows.Case c in cases)
        {
            // The paths whose sums decide a token: top_p over a whole row and after top_k, and the logprob normalizer.
            c.Parameters.Temperature = 0.9f;
            c.Parameters.TopP = 0.8f;
            c.Parameters.Logprobs = true;
        }

        (SampledToken[] first, TokenLogprob[] firstTop) = RunBatch(cases);
        (SampledToken[] second, TokenLogprob[] secondTop) = RunBatch(cases);
        Assert.Equal(first, second);
        Assert.Equal(firstTop, secondTop);
    }

    [Fact]
    public void Sample_Stateless_MatchesCpuSampler()
    {
        var random = new Random(5);
        var cpu = new CpuSampler();
        for (int i = 0; i < 6; i++)
        {
            RandomRows.Case c = RandomRows.Next(random, 500);
            Assert.Equal(cpu.Sample(c.Logits, c.Parameters, c.Seed, i), fixture.Sampler.Sample(c.Logits, c.Parameters, c.Seed, i));
        }
    }

    [Fact]
    public void Sample_GreedyTies_TakeTheLowestId()
    {
        var p = new SamplingParams { Temperature = 0 };
        Assert.Equal(1, fixture.Sampler.Sample([0f, 3f, -0f, 3f, 1f], p, 1, 0));
        Assert.Equal(2, fixture.Sampler.Sample([float.NaN, float.NegativeInfinity, float.PositiveInfinity, float.PositiveInfinity], new SamplingParams(), 1, 0));
        Assert.Equal(0, fixture.Sampler.Sample([float.NaN, float.NegativeInfinity], new SamplingParams(), 1, 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Launch_HalfBFloat16AndStridedRows_MatchCpuSamplerOnTheConvertedRows(int elementType)
    {
        const int Batch = 4;
        const int Vocab = 1001;
        const int Stride = 1040;
        var random = new Random(13 + elementType);
        ushort[] bits = new ushort[Batch * Stride];
        float[] rowsAsFloat = new float[Batch * Vocab];
        for (int b = 0; b < Batch; b++)
        {
            for (int i = 0; i < Vocab; i++)
            {
                float value = (float)(random.NextDouble() * 12 - 6);
                ushort raw = elementType == 1 ? BitConverter.HalfToUInt16Bits((System.Half)value) : (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16);
                bits[(b * Stride) + i] = raw;
                rowsAsFloat[(b * Vocab) + i] = elementType == 1 ? (float)BitConverter.UInt16BitsToHalf(raw) : BitConverter.UInt32BitsToSingle((uint)raw << 16);
            }
        }

        var p = new SamplingParams { Temperature = 0.7f, TopK = 40, TopP = 0.95f, MinP = 0.01f, TopLogprobs = 3 };
        var sequences = Enumerable.Range(0, Batch).Select(b => new SamplingSequence(new SamplingParams { Temperature = p.Temperature, TopK = p.TopK, TopP = p.TopP, MinP = p.MinP, TopLogprobs = p.TopLogprobs, Seed = (ulong)b })).ToArray();
        var rows = new GpuRowParameters[Batch];
        GpuSamplingBatch.Pack(sequences, Vocab, rows, []);

        Accelerator accelerator = fixture.Accelerator;
        using MemoryBuffer1D<GpuRowParameters, Stride1D.Dense> rowBuffer = accelerator.Allocate1D(rows);
        using MemoryBuffer1D<int, Stride1D.Dense> tokens = accelerator.Allocate1D<int>(Batch);
        using MemoryBuffer1D<float, Stride1D.Dense> logprobs = accelerator.Allocate1D<float>(Batch);
        using MemoryBuffer1D<TokenLogprob, Stride1D.Dense> top = accelerator.Allocate1D<TokenLogprob>(Batch * 3);
        using MemoryBuffer1D<int, Stride1D.Dense> topCounts = accelerator.Allocate1D<int>(Batch);
        var views = new GpuBatchViews
        {
            Vocab = Vocab,
            Batch = Batch,
            RowStride = Stride,
            RowParameters = rowBuffer.View,
            Tokens = tokens.View,
            Logprobs = logprobs.View,
            TopLogprobs = top.View,
            TopLogprobCounts = topCounts.View,
            TopLogprobStride = 3,
        };
        if (elementType == 0)
        {
            float[] strided = new float[Batch * Stride];
            for (int b = 0; b < Batch; b++)
            {
                rowsAsFloat.AsSpan(b * Vocab, Vocab).CopyTo(strided.AsSpan(b * Stride));
            }

            using MemoryBuffer1D<float, Stride1D.Dense> logits = accelerator.Allocate1D(strided);
            fixture.Sampler.Launch(accelerator.DefaultStream, logits.View, views);
            accelerator.Synchronize();
        }
        else
        {
            using MemoryBuffer1D<ushort, Stride1D.Dense> logits = accelerator.Allocate1D(bits);
            if (elementType == 1)
            {
                fixture.Sampler.Launch(accelerator.DefaultStream, ((ArrayView<ushort>)logits.View).Cast<ILGPU.Half>(), views);
            }
            else
            {
                fixture.Sampler.LaunchBFloat16(accelerator.DefaultStream, logits.View, views);
            }

            accelerator.Synchronize();
        }

        int[] gpuTokens = tokens.GetAsArray1D();
        float[] gpuLogprobs = logprobs.GetAsArray1D();
        TokenLogprob[] gpuTop = top.GetAsArray1D();
        var cpu = new CpuSampler();
        for (int b = 0; b < Batch; b++)
        {
            var cpuTop = new TokenLogprob[3];
            SampledToken expected = cpu.Sample(rowsAsFloat.AsSpan(b * Vocab, Vocab), new SamplingSequence(sequences[b].Parameters), cpuTop);
            Assert.Null(Agreement.Compare(expected, cpuTop, new SampledToken(gpuTokens[b], gpuLogprobs[b], 3), gpuTop.AsSpan(b * 3, 3)));
        }
    }

    [Fact]
    public void Launch_ViewsTooShort_ThrowsArgumentException()
    {
        Accelerator accelerator = fixture.Accelerator;
        using MemoryBuffer1D<float, Stride1D.Dense> logits = accelerator.Allocate1D<float>(100);
        using MemoryBuffer1D<int, Stride1D.Dense> tokens = accelerator.Allocate1D<int>(1);
        using MemoryBuffer1D<GpuRowParameters, Stride1D.Dense> rows = accelerator.Allocate1D<GpuRowParameters>(2);
        var views = new GpuBatchViews { Vocab = 50, Batch = 2, RowParameters = rows.View, Tokens = tokens.View };
        Assert.Throws<ArgumentException>(() => fixture.Sampler.Launch(accelerator.DefaultStream, logits.View, views));
        Assert.Throws<ArgumentException>(() => fixture.Sampler.Launch(accelerator.DefaultStream, logits.View, views with { Vocab = 60, Tokens = ((ArrayView<GpuRowParameters>)rows.View).Cast<int>() }));
    }

    /// <summary>Samples one batch of random cases of one vocabulary on the kernel and on the CPU; returns the row count.</summary>
    private int Compare(Random random, int vocab, int batch, List<string> failures)
    {
        RandomRows.Case[] cases = Enumerable.Range(0, batch).Select(_ => RandomRows.Next(random, vocab)).ToArray();
        (SampledToken[] results, TokenLogprob[] top) = RunBatch(cases);
        var cpu = new CpuSampler();
        for (int b = 0; b < batch; b++)
        {
            var cpuTop = new TokenLogprob[TopStride];
            SampledToken expected = cpu.Sample(cases[b].Logits, RandomRows.Sequence(cases[b]), cpuTop);
            if (Agreement.Compare(expected, cpuTop, results[b], top.AsSpan(b * TopStride, TopStride)) is { } difference)
            {
                SamplingParams p = cases[b].Parameters;
                failures.Add($"vocab {vocab} (T {p.Temperature}, k {p.TopK}, p {p.TopP}, min_p {p.MinP}): {difference}");
            }
        }

        return batch;
    }

    private (SampledToken[] Results, TokenLogprob[] Top) RunBatch(RandomRows.Case[] cases)
    {
        float[] logits = cases.SelectMany(c => c.Logits).ToArray();
        var results = new SampledToken[cases.Length];
        var top = new TokenLogprob[cases.Length * TopStride];
        fixture.Sampler.SampleBatch(logits, cases.Select(RandomRows.Sequence).ToArray(), results, top);
        return (results, top);
    }
}
