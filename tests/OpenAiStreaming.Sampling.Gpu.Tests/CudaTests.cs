using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OpenAiStreaming.Sampling.Gpu.Interop;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>
/// On a machine with an NVIDIA GPU: the kernel on ILGPU's CUDA accelerator and through the driver-API path against
/// <see cref="CpuSampler"/>. Without one, only the explanation of why not runs; the rest skip with the reason.
/// </summary>
public sealed class CudaTests
{
    private const int TopStride = SamplingParams.MaxTopLogprobs;

    [Fact]
    public void WithoutGpu_SaysWhyAndNeverThrowsDllNotFound()
    {
        Assert.SkipWhen(CudaContextSampler.IsSupported, "This machine has a GPU.");
        Assert.False(string.IsNullOrWhiteSpace(CudaContextSampler.UnsupportedReason));
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => new CudaContextSampler());
        Assert.Contains(CudaContextSampler.UnsupportedReason!, e.Message, StringComparison.Ordinal);
        using Context context = Context.Create(builder => builder.Cuda());
        Assert.Equal(0, context.GetCudaDevices().Count);
    }

    [Fact]
    public void CudaAccelerator_RandomRows_AgreeWithCpuSampler()
    {
        SkipWithoutGpu();
        using Context context = Context.Create(builder => builder.Cuda());
        using Accelerator accelerator = context.GetCudaDevices()[0].CreateAccelerator(context);
        using var gpu = new GpuSampler(accelerator);
        var random = new Random(1234);
        var cpu = new CpuSampler();
        var differences = new List<string>();

        // compute-sanitizer runs are slow: run-gpu.sh asks for fewer rows there.
        int rows = int.TryParse(Environment.GetEnvironmentVariable("OPENAI_STREAMING_GPU_TEST_ROWS"), out int r) ? r : 10_000;
        const int Batch = 16;
        for (int start = 0; start < rows; start += Batch)
        {
            TestContext.Current.CancellationToken.ThrowIfCancellationRequested();
            int vocab = random.Next(4) == 0 ? random.Next(2, 5000) : random.Next(5000, 260_000);
            RandomRows.Case[] cases = Enumerable.Range(0, Batch).Select(_ => RandomRows.Next(random, vocab)).ToArray();
            float[] logits = cases.SelectMany(c => c.Logits).ToArray();
            var results = new SampledToken[Batch];
            var top = new TokenLogprob[Batch * TopStride];
            gpu.SampleBatch(logits, cases.Select(RandomRows.Sequence).ToArray(), results, top);
            if (start == 0)
            {
                // Repeated runs give identical bits on the device too.
                var again = new SampledToken[Batch];
                gpu.SampleBatch(logits, cases.Select(RandomRows.Sequence).ToArray(), again, new TokenLogprob[Batch * TopStride]);
                Assert.Equal(results, again);
            }

            for (int b = 0; b < Batch; b++)
            {
                var cpuTop = new TokenLogprob[TopStride];
                SampledToken expected = cpu.Sample(cases[b].Logits, RandomRows.Sequence(cases[b]), cpuTop);
                if (Agreement.Compare(expected, cpuTop, results[b], top.AsSpan(b * TopStride, TopStride)) is { } difference)
                {
                    SamplingParams p = cases[b].Parameters;
                    differences.Add($"row {start + b} (vocab {vocab}, T {p.Temperature}, k {p.TopK}, p {p.TopP}, min_p {p.MinP}): {difference}");
                }
            }
        }

        foreach (string difference in differences)
        {
            TestContext.Current.SendDiagnosticMessage(difference);
        }

        TestContext.Current.SendDiagnosticMessage($"{rows - differences.Count} of {rows} rows agree on {accelerator.Name}.");
        Assert.True(differences.Count <= rows / 1000, $"{differences.Count} of {rows} rows differ:\n{string.Join('\n', differences.Take(30))}");
    }

    [Theory]
    [InlineData(CudaLogitsType.Float32)]
    [InlineData(CudaLogitsType.Float16)]
    [InlineData(CudaLogitsType.BFloat16)]
    public unsafe void DriverPath_DevicePointersInThePrimaryContext_MatchCpuSampler(CudaLogitsType type)
    {
        SkipWithoutGpu();
        const int Batch = 4;
        const int Vocab = 128_256;
        const int Stride = 128_260;
        var random = new Random(3 + (int)type);
        int elementSize = type == CudaLogitsType.Float32 ? 4 : 2;
        byte[] raw = new byte[Batch * Stride * elementSize];
        float[] rowsAsFloat = new float[Batch * Vocab];
        for (int b = 0; b < Batch; b++)
        {
            for (int i = 0; i < Vocab; i++)
            {
                float value = (float)(random.NextDouble() * 10);
                int at = ((b * Stride) + i) * elementSize;
                switch (type)
                {
                    case CudaLogitsType.Float32:
                        BitConverter.TryWriteBytes(raw.AsSpan(at), value);
                        rowsAsFloat[(b * Vocab) + i] = value;
                        break;
                    case CudaLogitsType.Float16:
                        BitConverter.TryWriteBytes(raw.AsSpan(at), (System.Half)value);
                        rowsAsFloat[(b * Vocab) + i] = (float)(System.Half)value;
                        break;
                    default:
                        ushort bits = (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16);
                        BitConverter.TryWriteBytes(raw.AsSpan(at), bits);
                        rowsAsFloat[(b * Vocab) + i] = BitConverter.UInt32BitsToSingle((uint)bits << 16);
                        break;
                }
            }
        }

        var p = new SamplingParams { Temperature = 0.8f, TopK = 50, TopP = 0.9f, Seed = 42, Logprobs = true };
        var rows = new GpuRowParameters[Batch];
        GpuSamplingBatch.Pack(Enumerable.Range(0, Batch).Select(_ => new SamplingSequence(p)).ToArray(), Vocab, rows, []);
        var expected = new SampledToken[Batch];
        new CpuSampler().SampleBatch(rowsAsFloat, Enumerable.Range(0, Batch).Select(_ => new SamplingSequence(p)).ToArray(), expected);

        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, 0), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        CudaDriver.Check(CudaDriver.cuCtxPushCurrent(context), "cuCtxPushCurrent");
        try
        {
            using var sampler = new CudaContextSampler();
            Assert.Equal(context, sampler.Context);
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dLogits, (nuint)raw.Length), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dRows, (nuint)(Batch * sizeof(GpuRowParameters))), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dTokens, Batch * 4), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dLogprobs, Batch * 4), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuStreamCreate(out nint stream, 1), "cuStreamCreate");
            int[] tokens = new int[Batch];
            float[] logprobs = new float[Batch];
            fixed (byte* l = raw)
            fixed (GpuRowParameters* rp = rows)
            fixed (int* t = tokens)
            fixed (float* lp = logprobs)
            {
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(dLogits, l, (nuint)raw.Length, stream), "cuMemcpyHtoDAsync");
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(dRows, rp, (nuint)(Batch * sizeof(GpuRowParameters)), stream), "cuMemcpyHtoDAsync");
                sampler.Launch(new CudaSamplingLaunch
                {
                    Logits = dLogits,
                    LogitsType = type,
                    RowStride = Stride,
                    Vocab = Vocab,
                    Batch = Batch,
                    RowParameters = dRows,
                    Tokens = dTokens,
                    Logprobs = dLogprobs,
                    Stream = stream,
                });
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
            CudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    private static void SkipWithoutGpu() =>
        Assert.SkipUnless(CudaContextSampler.IsSupported, $"No GPU: {CudaContextSampler.UnsupportedReason}");
}
