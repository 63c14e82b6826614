using ILGPU;
using ILGPU.Runtime;
using OpenAiStreaming.Sampling.Gpu.Interop;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>
/// The three ways in, as docs/sampling.md shows them: compiled and run here (the raw-pointer one on a GPU only), so
/// the documentation cannot drift from the API.
/// </summary>
public sealed class WaysInExamples(CpuAcceleratorFixture fixture) : IClassFixture<CpuAcceleratorFixture>
{
    [Fact]
    public void HostWhoseModelRunsOnIlgpu_SamplesStraightFromItsViews()
    {
        Accelerator accelerator = fixture.Accelerator;   // the host's own accelerator (CUDA on a GPU)
        const int Batch = 2, Vocab = 1000;
        using MemoryBuffer1D<float, Stride1D.Dense> logits = accelerator.Allocate1D<float>(Batch * Vocab);
        logits.View.CopyFromCPU(Enumerable.Range(0, Batch * Vocab).Select(i => (float)Math.Sin(i)).ToArray());

        // Once per step: the sequences' parameters, packed on the CPU and copied to the device.
        SamplingSequence[] sequences = [new(new SamplingParams { Temperature = 0.7f, TopP = 0.9f, Seed = 1 }), new(new SamplingParams { Temperature = 0 })];
        var rows = new GpuRowParameters[Batch];
        GpuSamplingBatch.Pack(sequences, Vocab, rows, []);
        using MemoryBuffer1D<GpuRowParameters, Stride1D.Dense> rowBuffer = accelerator.Allocate1D(rows);
        using MemoryBuffer1D<int, Stride1D.Dense> tokens = accelerator.Allocate1D<int>(Batch);

        // Queued on the host's stream, after the kernel that wrote the logits; nothing is copied.
        var sampler = fixture.Sampler;                    // new GpuSampler(accelerator), once
        sampler.Launch(accelerator.DefaultStream, logits.View, new GpuBatchViews
        {
            Vocab = Vocab,
            Batch = Batch,
            RowParameters = rowBuffer.View,
            Tokens = tokens.View,
        });
        accelerator.DefaultStream.Synchronize();

        int[] chosen = tokens.GetAsArray1D();
        var cpu = new CpuSampler();
        float[] host = logits.GetAsArray1D();
        Assert.Equal(cpu.Sample(host.AsSpan(0, Vocab), sequences[0].Parameters, 1, 0), chosen[0]);
        Assert.Equal(cpu.Sample(host.AsSpan(Vocab, Vocab), sequences[1].Parameters, sequences[1].Seed, 0), chosen[1]);
    }

    [Fact]
    public void HostArrays_LikeCpuSampler()
    {
        var sampler = fixture.Sampler;                    // new GpuSampler(accelerator), on any accelerator
        float[] logits = [0.5f, 2f, 1.5f, -1f];
        var p = new SamplingParams { Temperature = 0.8f, TopK = 3 };
        int token = sampler.Sample(logits, p, seed: 42, step: 0);
        Assert.Equal(new CpuSampler().Sample(logits, p, 42, 0), token);

        var sequence = new SamplingSequence(new SamplingParams { Temperature = 0, Logprobs = true, Seed = 3 });
        SampledToken next = sampler.Sample(logits, sequence);
        Assert.Equal((1, 1), (next.TokenId, sequence.Step));
    }

    [Fact]
    public unsafe void TorchSharpOrOnnxRuntime_DevicePointersInTheHostsContext()
    {
        Assert.SkipUnless(CudaContextSampler.IsSupported, $"No GPU: {CudaContextSampler.UnsupportedReason}");

        // A host such as TorchSharp has made its (primary) context current and owns these device buffers; here the
        // driver API stands in for it.
        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, 0), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        CudaDriver.Check(CudaDriver.cuCtxPushCurrent(context), "cuCtxPushCurrent");
        try
        {
            const int Vocab = 4;
            float[] hostLogits = [0.5f, 2f, 1.5f, -1f];
            var rows = new GpuRowParameters[1];
            GpuSamplingBatch.Pack([new SamplingSequence(new SamplingParams { Temperature = 0 })], Vocab, rows, []);
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint logits, Vocab * 4), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint rowParameters, (nuint)sizeof(GpuRowParameters)), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint tokens, 4), "cuMemAlloc");
            int token;
            fixed (float* l = hostLogits)
            fixed (GpuRowParameters* r = rows)
            {
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(logits, l, Vocab * 4, 0), "cuMemcpyHtoDAsync");
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(rowParameters, r, (nuint)sizeof(GpuRowParameters), 0), "cuMemcpyHtoDAsync");

                // The example proper: load once in the current context, then launch per step on the host's stream.
                using var sampler = new CudaContextSampler();
                sampler.Launch(new CudaSamplingLaunch
                {
                    Logits = logits,                          // e.g. (nint)tensor.data_ptr() in TorchSharp
                    LogitsType = CudaLogitsType.Float32,      // Float16 and BFloat16 too; RowStride for padded rows
                    Vocab = Vocab,
                    Batch = 1,
                    RowParameters = rowParameters,
                    Tokens = tokens,
                    Stream = 0,                               // the host's CUstream
                });
                CudaDriver.Check(CudaDriver.cuMemcpyDtoHAsync(&token, tokens, 4, 0), "cuMemcpyDtoHAsync");
                CudaDriver.Check(CudaDriver.cuStreamSynchronize(0), "cuStreamSynchronize");
            }

            Assert.Equal(1, token);
            CudaDriver.cuMemFree(logits);
            CudaDriver.cuMemFree(rowParameters);
            CudaDriver.cuMemFree(tokens);
        }
        finally
        {
            CudaDriver.cuCtxPopCurrent(out _);
            CudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }
}
