using System.Globalization;
using OpenAiStreaming.Sampling;
using OpenAiStreaming.Sampling.Gpu;
using OpenAiStreaming.Sampling.Gpu.Interop;

namespace OpenAiStreaming.Sampling.Gpu.Benchmarks;

/// <summary>
/// Times the kernel through the driver-API path (CudaContextSampler.Launch on device pointers in the primary context,
/// where TorchSharp and ONNX Runtime keep their tensors) with CUDA events, as a model loop would call it.
/// Output: CSV (scenario,batch,vocab,us_per_call,gb_per_s,percent_of_peak) on stdout; the same shapes as torch_sampler.py.
/// </summary>
public static class GpuBenchmark
{
    /// <summary>Runs every shape; <c>args[0]</c> is the number of timed launches per shape (default 100).</summary>
    /// <returns>0, or 2 without a GPU.</returns>
    public static int Run(string[] args)
    {
        if (!CudaContextSampler.IsSupported)
        {
            Console.Error.WriteLine($"No GPU: {CudaContextSampler.UnsupportedReason}");
            return 2;
        }

        CudaDriver.Check(CudaDriver.cuDeviceGet(out int device, 0), "cuDeviceGet");
        CudaDriver.Check(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        CudaDriver.Check(CudaDriver.cuCtxPushCurrent(context), "cuCtxPushCurrent");
        using var sampler = new CudaContextSampler();
        int iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        double peak = PeakBandwidth(device);
        Console.WriteLine($"# device: {DeviceName(device)}, peak {peak / 1e9:F0} GB/s from memory clock x bus width");
        Console.WriteLine("scenario,batch,vocab,us_per_call,gb_per_s,percent_of_peak");
        var scenarios = new (string Name, SamplingParams Parameters)[]
        {
            ("greedy", new SamplingParams { Temperature = 0 }),
            ("top_k50", new SamplingParams { TopK = 50 }),
            ("top_p0.9", new SamplingParams { TopP = 0.9f }),
            ("combined_T0.8_k50_p0.9_minp0.05", new SamplingParams { Temperature = 0.8f, TopK = 50, TopP = 0.9f, MinP = 0.05f }),
        };

        foreach (int vocab in new[] { 128_256, 256_000 })
        {
            foreach (int batch in new[] { 1, 16, 64, 256 })
            {
                foreach ((string name, SamplingParams p) in scenarios)
                {
                    double seconds = Time(sampler, p, batch, vocab, iterations);
                    double bytes = (double)batch * vocab * sizeof(float);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{name},{batch},{vocab},{seconds * 1e6:F1},{bytes / seconds / 1e9:F0},{100 * bytes / seconds / peak:F1}"));
                }
            }
        }

        return 0;
    }

    private static unsafe double Time(CudaContextSampler sampler, SamplingParams p, int batch, int vocab, int iterations)
    {
        p.Seed = 1;
        var rows = new GpuRowParameters[batch];
        GpuSamplingBatch.Pack(Enumerable.Range(0, batch).Select(_ => new SamplingSequence(p)).ToArray(), vocab, rows, []);

        // A language model's step: 32 plausible tokens at 16, 15.5, ... over a N(0, 2) bulk (as the CPU benchmarks).
        var random = new Random(1);
        float[] logits = new float[batch * vocab];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()) * 2);
        }

        for (int b = 0; b < batch; b++)
        {
            for (int j = 0; j < 32; j++)
            {
                logits[(b * vocab) + random.Next(vocab)] = 16 - (0.5f * j);
            }
        }

        {
            CudaDriver.Check(CudaDriver.cuStreamCreate(out nint stream, 1), "cuStreamCreate");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dLogits, (nuint)(logits.Length * 4L)), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dRows, (nuint)(batch * sizeof(GpuRowParameters))), "cuMemAlloc");
            CudaDriver.Check(CudaDriver.cuMemAlloc(out nint dTokens, (nuint)(batch * 4)), "cuMemAlloc");
            fixed (float* l = logits)
            fixed (GpuRowParameters* r = rows)
            {
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(dLogits, l, (nuint)(logits.Length * 4L), stream), "cuMemcpyHtoDAsync");
                CudaDriver.Check(CudaDriver.cuMemcpyHtoDAsync(dRows, r, (nuint)(batch * sizeof(GpuRowParameters)), stream), "cuMemcpyHtoDAsync");
                CudaDriver.Check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            }

            var launch = new CudaSamplingLaunch { Logits = dLogits, Vocab = vocab, Batch = batch, RowParameters = dRows, Tokens = dTokens, Stream = stream };
            for (int i = 0; i < 5; i++)
            {
                sampler.Launch(launch);
            }

            CudaDriver.Check(CudaDriver.cuEventCreate(out nint start, 0), "cuEventCreate");
            CudaDriver.Check(CudaDriver.cuEventCreate(out nint end, 0), "cuEventCreate");
            CudaDriver.Check(CudaDriver.cuEventRecord(start, stream), "cuEventRecord");
            for (int i = 0; i < iterations; i++)
            {
                sampler.Launch(launch);
            }

            CudaDriver.Check(CudaDriver.cuEventRecord(end, stream), "cuEventRecord");
            CudaDriver.Check(CudaDriver.cuEventSynchronize(end), "cuEventSynchronize");
            CudaDriver.Check(CudaDriver.cuEventElapsedTime(out float milliseconds, start, end), "cuEventElapsedTime");
            CudaDriver.cuEventDestroy(start);
            CudaDriver.cuEventDestroy(end);
            CudaDriver.cuMemFree(dLogits);
            CudaDriver.cuMemFree(dRows);
            CudaDriver.cuMemFree(dTokens);
            CudaDriver.cuStreamDestroy(stream);
            return milliseconds / 1e3 / iterations;
        }
    }

    private static unsafe string DeviceName(int device)
    {
        byte* name = stackalloc byte[256];
        return CudaDriver.cuDeviceGetName(name, 256, device) == CudaDriver.Success ? System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)name) ?? "" : "";
    }

    private static double PeakBandwidth(int device)
    {
        // Double data rate: two transfers per memory clock (kHz) over the bus width (bits).
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int clockKHz, CudaDriver.AttributeMemoryClockRate, device), "cuDeviceGetAttribute");
        CudaDriver.Check(CudaDriver.cuDeviceGetAttribute(out int busBits, CudaDriver.AttributeGlobalMemoryBusWidth, device), "cuDeviceGetAttribute");
        return 2.0 * clockKHz * 1e3 * busBits / 8;
    }
}
