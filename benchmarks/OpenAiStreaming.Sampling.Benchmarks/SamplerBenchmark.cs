using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace OpenAiStreaming.Sampling.Benchmarks;

/// <summary>
/// What every scenario shares: a row of logits shaped like a language model's, the sort-based baseline, the floor
/// (one SIMD max pass, <see cref="TensorPrimitives.Max{T}(ReadOnlySpan{T})"/>), and the sampler. Each scenario class
/// only states its parameters, so that each gets its own table whose Ratio column is relative to the baseline.
/// </summary>
/// <remarks>
/// The row: 32 "plausible" tokens at logits 16, 15.5, 15, ... spread over the vocabulary, over a bulk drawn from
/// N(0, 2), which leaves about 4% of the mass in the bulk at temperature 1 (a typical, not a flat, step). Each
/// invocation uses the next step, so the random numbers change as in a real loop.
/// </remarks>
[MemoryDiagnoser]
public abstract class SamplerBenchmark
{
    private readonly SortingSampler _baseline = new();
    private readonly CpuSampler _sampler = new();
    private float[] _logits = [];
    private int[] _history = [];
    private SamplingParams _params = new();
    private int _step;

    /// <summary>The vocabulary size.</summary>
    [Params(32_000, 128_256, 256_000)]
    public int Vocabulary { get; set; }

    /// <summary>The history the penalties count (empty unless the scenario has penalties).</summary>
    protected virtual int HistoryLength => 0;

    [GlobalSetup]
    public void Setup()
    {
        _logits = LogitsData.Create(Vocabulary, seed: 42);
        _params = CreateParams();
        var random = new Random(7);
        _history = [.. Enumerable.Range(0, HistoryLength).Select(_ => random.Next(Vocabulary / 4))];
    }

    /// <summary>The naive reference: scalar passes and a sort of the candidates.</summary>
    [Benchmark(Baseline = true)]
    public int SortBased() => _baseline.Sample(_logits, _params, 1234, _step++, _history);

    /// <summary>The floor: one SIMD max pass over the logits, which any sampler needs.</summary>
    [Benchmark]
    public float Floor() => TensorPrimitives.Max<float>(_logits);

    /// <summary>
    /// A stricter floor: a max pass unrolled over four accumulators with the platform's one-instruction max (no NaN
    /// handling at all), at the vector width the runtime prefers on this CPU.
    /// </summary>
    [Benchmark]
    public float FloorUnrolled() => UnrolledMax(_logits);

    /// <summary>The sampler.</summary>
    [Benchmark]
    public int Sampler() => _sampler.Sample(_logits, _params, 1234, _step++, _history);

    private static float UnrolledMax(ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = Vector512.Create(float.NegativeInfinity), a1 = a0, a2 = a0, a3 = a0;
            for (; i <= x.Length - 64; i += 64)
            {
                a0 = Vector512.MaxNative(a0, Vector512.LoadUnsafe(ref r, (nuint)i));
                a1 = Vector512.MaxNative(a1, Vector512.LoadUnsafe(ref r, (nuint)i + 16));
                a2 = Vector512.MaxNative(a2, Vector512.LoadUnsafe(ref r, (nuint)i + 32));
                a3 = Vector512.MaxNative(a3, Vector512.LoadUnsafe(ref r, (nuint)i + 48));
            }

            max = Vector512.Max(Vector512.Max(a0, a1), Vector512.Max(a2, a3)).ToScalar();
        }
        else
        {
            Vector256<float> a0 = Vector256.Create(float.NegativeInfinity), a1 = a0, a2 = a0, a3 = a0;
            for (; i <= x.Length - 32; i += 32)
            {
                a0 = Vector256.MaxNative(a0, Vector256.LoadUnsafe(ref r, (nuint)i));
                a1 = Vector256.MaxNative(a1, Vector256.LoadUnsafe(ref r, (nuint)i + 8));
                a2 = Vector256.MaxNative(a2, Vector256.LoadUnsafe(ref r, (nuint)i + 16));
                a3 = Vector256.MaxNative(a3, Vector256.LoadUnsafe(ref r, (nuint)i + 24));
            }

            Vector256<float> a = Vector256.Max(Vector256.Max(a0, a1), Vector256.Max(a2, a3));
            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                max = Math.Max(max, a[lane]);
            }
        }

        for (; i < x.Length; i++)
        {
            max = Math.Max(max, Unsafe.Add(ref r, i));
        }

        return max;
    }

    /// <summary>The scenario's parameters.</summary>
    protected abstract SamplingParams CreateParams();
}

/// <summary>Greedy (temperature 0): argmax, lowest id on ties.</summary>
public class GreedyBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new() { Temperature = 0f };
}

/// <summary>Temperature only: the race over the whole vocabulary.</summary>
public class TemperatureBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new() { Temperature = 0.8f };
}

/// <summary>top_k = 50.</summary>
public class TopKBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new() { Temperature = 0.8f, TopK = 50 };
}

/// <summary>top_p = 0.9 alone: the mass needs every token.</summary>
public class TopPBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new() { Temperature = 0.8f, TopP = 0.9f };
}

/// <summary>min_p = 0.05.</summary>
public class MinPBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new() { Temperature = 0.8f, MinP = 0.05f };
}

/// <summary>Everything at once: temperature 0.8, min_p 0.05, top_k 50, top_p 0.9.</summary>
public class CombinedBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new() { Temperature = 0.8f, MinP = 0.05f, TopK = 50, TopP = 0.9f };
}

/// <summary>The combined filters plus repetition 1.1, frequency 0.5 and presence 0.5 penalties over 2,000 tokens.</summary>
public class PenaltiesBenchmarks : SamplerBenchmark
{
    /// <inheritdoc />
    protected override int HistoryLength => 2000;

    /// <inheritdoc />
    protected override SamplingParams CreateParams() => new()
    {
        Temperature = 0.8f, MinP = 0.05f, TopK = 50, TopP = 0.9f, RepetitionPenalty = 1.1f, FrequencyPenalty = 0.5f, PresencePenalty = 0.5f,
    };
}
