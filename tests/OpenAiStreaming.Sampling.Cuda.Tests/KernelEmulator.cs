using System.Diagnostics;
using System.Runtime.InteropServices;
using OpenAiStreaming.Sampling;

namespace OpenAiStreaming.Sampling.Cuda.Tests;

/// <summary>
/// The kernel (the embedded <c>sampler.cu</c>) compiled as C++ by g++ with <c>Emulation/cuda_emulation.h</c>: each row's
/// block runs as 32 std::threads meeting at a barrier. Built once per test run; null, with a reason, without g++.
/// </summary>
internal sealed unsafe class KernelEmulator
{
    /// <summary>Threads per emulated block (the GPU uses 512).</summary>
    public const int Threads = 32;

    private static readonly Lazy<(KernelEmulator? Emulator, string? Reason)> s_instance = new(Build);

    private readonly delegate* unmanaged<int*, int> _layout;
    private readonly delegate* unmanaged<int, void*, long, int, int, CudaRowParameters*, CudaLogitPatch*, float*, int*, float*, TokenLogprob*, int*, int, void> _sample;
    private readonly delegate* unmanaged<uint*, uint, uint, uint*, int, void> _philox;

    private KernelEmulator(nint library)
    {
        _layout = (delegate* unmanaged<int*, int>)NativeLibrary.GetExport(library, "emu_layout");
        _sample = (delegate* unmanaged<int, void*, long, int, int, CudaRowParameters*, CudaLogitPatch*, float*, int*, float*, TokenLogprob*, int*, int, void>)
            NativeLibrary.GetExport(library, "emu_sample");
        _philox = (delegate* unmanaged<uint*, uint, uint, uint*, int, void>)NativeLibrary.GetExport(library, "emu_philox");
    }

    /// <summary>The emulator, or a skip reason.</summary>
    public static KernelEmulator Get()
    {
        (KernelEmulator? emulator, string? reason) = s_instance.Value;
        if (emulator is null)
        {
            Assert.Skip(reason!);
        }

        return emulator!;
    }

    /// <summary>sizeof and offsetof of the kernel's structs, as emu_layout lists them.</summary>
    public int[] Layout()
    {
        int[] values = new int[32];
        fixed (int* v = values)
        {
            return values[.._layout(v)];
        }
    }

    public (uint, uint, uint, uint) Philox(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        uint* counter = stackalloc uint[] { c0, c1, c2, c3 };
        uint* output = stackalloc uint[4];
        _philox(counter, k0, k1, output, 1);
        return (output[0], output[1], output[2], output[3]);
    }

    /// <summary>Runs the kernel over host memory as the GPU would over device memory; records the tokens in the sequences.</summary>
    public void SampleBatch(ReadOnlySpan<float> logits, IReadOnlyList<SamplingSequence> sequences, Span<SampledToken> results, Span<TokenLogprob> top)
    {
        int batch = sequences.Count;
        int vocab = logits.Length / batch;
        var rows = new CudaRowParameters[batch];
        var patches = new List<CudaLogitPatch>();
        CudaSamplingBatch.Pack(sequences, vocab, rows, patches);
        (int[] tokens, float[] logprobs, TokenLogprob[] tops, int[] counts) = Run(0, logits, vocab, rows, patches);
        int stride = top.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            int written = Math.Min(counts[b], stride);
            tops.AsSpan(b * SamplingParams.MaxTopLogprobs, written).CopyTo(top.Slice(b * stride, written));
            SamplingParams p = sequences[b].Parameters;
            results[b] = new SampledToken(tokens[b], p.Logprobs || p.TopLogprobs > 0 ? logprobs[b] : float.NaN, written);
            sequences[b].Accept(tokens[b]);
        }
    }

    /// <summary>One launch over raw inputs (type 0 fp32, 1 fp16, 2 bf16).</summary>
    public (int[] Tokens, float[] Logprobs, TokenLogprob[] Top, int[] TopCounts) Run<T>(
        int type, ReadOnlySpan<T> logits, int vocab, CudaRowParameters[] rows, List<CudaLogitPatch> patches)
        where T : unmanaged
    {
        int batch = rows.Length;
        int[] tokens = new int[batch];
        float[] logprobs = new float[batch];
        var top = new TokenLogprob[batch * SamplingParams.MaxTopLogprobs];
        int[] counts = new int[batch];
        float[] scratch = new float[patches.Count > 0 ? batch * vocab : 0];
        CudaLogitPatch[] patchArray = [.. patches];
        fixed (T* l = logits)
        fixed (CudaRowParameters* r = rows)
        fixed (CudaLogitPatch* p = patchArray)
        fixed (float* s = scratch)
        fixed (int* t = tokens)
        fixed (float* lp = logprobs)
        fixed (TokenLogprob* tp = top)
        fixed (int* c = counts)
        {
            _sample(type, l, vocab, vocab, batch, r, patchArray.Length > 0 ? p : null, patchArray.Length > 0 ? s : null, t, lp, tp, c, SamplingParams.MaxTopLogprobs);
        }

        return (tokens, logprobs, top, counts);
    }

    private static (KernelEmulator?, string?) Build()
    {
        string? compiler = FindCompiler();
        if (compiler is null)
        {
            return (null, "No C++ compiler (g++ or c++ on PATH; on Debian/Ubuntu: apt-get install g++): the kernel's C++ emulation cannot be built.");
        }

        string directory = Path.Combine(Path.GetTempPath(), "sampler-emulation-" + Environment.ProcessId);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "sampler.cu"), CudaSampler.KernelSource);
        string here = Path.Combine(AppContext.BaseDirectory, "Emulation");
        File.Copy(Path.Combine(here, "cuda_emulation.h"), Path.Combine(directory, "cuda_emulation.h"), overwrite: true);
        File.Copy(Path.Combine(here, "emulation.cpp"), Path.Combine(directory, "emulation.cpp"), overwrite: true);
        string library = Path.Combine(directory, "libsampler_emulation.so");
        var start = new ProcessStartInfo(compiler)
        {
            WorkingDirectory = directory,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string argument in new[] { "-std=c++20", "-O2", "-shared", "-fPIC", "-pthread", $"-DSAMPLER_THREADS={Threads}", "-I.", "emulation.cpp", "-o", library })
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            // A compiler that runs but fails on the kernel is a bug to report, not a reason to skip.
            throw new InvalidOperationException($"{compiler} could not build the emulation:\n{errors}");
        }

        return (new KernelEmulator(NativeLibrary.Load(library)), null);
    }

    private static string? FindCompiler()
    {
        foreach (string name in new[] { "g++", "c++", "clang++" })
        {
            foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                string candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
