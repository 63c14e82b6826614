using System.Runtime.InteropServices;
using OpenAiStreaming.Sampling;
using OpenAiStreaming.Sampling.Cuda.Interop;

namespace OpenAiStreaming.Sampling.Cuda.Tests;

/// <summary>On a machine with an NVIDIA GPU: the kernel against CpuSampler. Skipped, with the reason, elsewhere.</summary>
public sealed class CudaGpuTests
{
    private static CudaSampler Start()
    {
        Assert.SkipUnless(CudaSampler.IsSupported, $"No GPU: {CudaSampler.UnsupportedReason}");
        return new CudaSampler();
    }

    [Fact]
    public void RandomRows_AgreeWithCpuSampler()
    {
        using CudaSampler gpu = Start();
        var random = new Random(1234);
        var cpu = new CpuSampler();
        var failures = new List<string>();
        // compute-sanitizer runs are slow: run-gpu.sh asks for fewer rows there.
        int rows = int.TryParse(Environment.GetEnvironmentVariable("OPENAI_STREAMING_GPU_TEST_ROWS"), out int r) ? r : 10_000;
        const int Batch = 16;
        for (int start = 0; start < rows; start += Batch)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            int vocab = random.Next(4) == 0 ? random.Next(1, 5000) : random.Next(5000, 140_000);
            RandomRows.Case[] cases = Enumerable.Range(0, Batch).Select(_ => RandomRows.Next(random, vocab)).ToArray();
            float[] logits = cases.SelectMany(c => c.Logits).ToArray();
            var gpuResults = new SampledToken[Batch];
            var gpuTop = new TokenLogprob[Batch * 20];
            gpu.SampleBatch(logits, cases.Select(RandomRows.Sequence).ToArray(), gpuResults, gpuTop);
            for (int b = 0; b < Batch; b++)
            {
                var cpuTop = new TokenLogprob[20];
                SampledToken expected = cpu.Sample(cases[b].Logits, RandomRows.Sequence(cases[b]), cpuTop);
                string? difference = Agreement.Compare(expected, cpuTop, gpuResults[b], gpuTop.AsSpan(b * 20, 20));
                if (difference is not null)
                {
                    SamplingParams p = cases[b].Parameters;
                    failures.Add($"row {start + b} (vocab {vocab}, T {p.Temperature}, k {p.TopK}, p {p.TopP}, min_p {p.MinP}): {difference}");
                }
            }
        }

        TestContext.Current.SendDiagnosticMessage($"{rows - failures.Count} of {rows} rows agree on {gpu.DeviceName}.");
        Assert.True(failures.Count == 0, $"{failures.Count} of {rows} rows differ:\n{string.Join('\n', failures.Take(30))}");
    }

    [Fact]
    public unsafe void Launch_OnDevicePointers_MatchesTheHostPath()
    {
        using CudaSampler gpu = Start();
        const int Batch = 4;
        const int Vocab = 128_256;
        var random = new Random(3);
        float[] logits = new float[Batch * Vocab];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)(random.NextDouble() * 10);
        }

        var p = new SamplingParams { Temperature = 0.8f, TopK = 50, TopP = 0.9f, Seed = 42, Logprobs = true };
        var sequences = Enumerable.Range(0, Batch).Select(_ => new SamplingSequence(p)).ToArray();
        var rows = new CudaRowParameters[Batch];
        CudaSamplingBatch.Pack(sequences, Vocab, rows, []);
        var expected = new SampledToken[Batch];
        new CpuSampler().SampleBatch(logits, Enumerable.Range(0, Batch).Select(_ => new SamplingSequence(p)).ToArray(), expected);

        Assert.Equal(CudaDriver.Success, CudaDriver.cuCtxPushCurrent(gpu.Context));
        try
        {
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dLogits, (nuint)(logits.Length * 4)), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dRows, (nuint)(Batch * sizeof(CudaRowParameters))), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dTokens, Batch * 4), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dLogprobs, Batch * 4), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuStreamCreate(out nint stream, 1), "cuStreamCreate");
            int[] tokens = new int[Batch];
            float[] logprobs = new float[Batch];
            fixed (float* l = logits)
            fixed (CudaRowParameters* r = rows)
            fixed (int* t = tokens)
            fixed (float* lp = logprobs)
            {
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(dLogits, l, (nuint)(logits.Length * 4), stream), "cuMemcpyHtoDAsync");
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(dRows, r, (nuint)(Batch * sizeof(CudaRowParameters)), stream), "cuMemcpyHtoDAsync");
                gpu.Launch(new CudaSamplingLaunch { Logits = dLogits, Vocab = Vocab, Batch = Batch, RowParameters = dRows, Tokens = dTokens, Logprobs = dLogprobs, Stream = stream });
                CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(t, dTokens, Batch * 4, stream), "cuMemcpyDtoHAsync");
                CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(lp, dLogprobs, Batch * 4, stream), "cuMemcpyDtoHAsync");
                CudaDriver.Check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            }

            Assert.Equal(expected.Select(e => e.TokenId), tokens);
            for (int b = 0; b < Batch; b++)
            {
                Assert.Equal(expected[b].Logprob, logprobs[b], 1e-4f);
            }

            CudaDriver.cuStreamDestroy(stream);
            foreach (nint pointer in new[] { dLogits, dRows, dTokens, dLogprobs })
            {
                CudaDriver.cuMemFree(pointer);
            }
        }
        finally
        {
            CudaDriver.cuCtxPopCurrent(out _);
        }
    }

    [Fact]
    public void Sample_OneRow_AdvancesTheSequence()
    {
        using CudaSampler gpu = Start();
        var sequence = new SamplingSequence(new SamplingParams { Temperature = 0, Seed = 1 });
        SampledToken token = gpu.Sample([0f, 3f, 3f, 1f], sequence);
        Assert.Equal(1, token.TokenId);
        Assert.Equal(1, sequence.Step);
    }
}
