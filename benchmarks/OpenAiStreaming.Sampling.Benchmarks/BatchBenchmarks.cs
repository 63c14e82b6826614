using BenchmarkDotNet.Attributes;

namespace OpenAiStreaming.Sampling.Benchmarks;

/// <summary>
/// Eight rows with the combined filters: one sampler row after row (the baseline) against the batched call, which
/// spreads rows over the cores (two on the machines the numbers in docs/sampling.md come from).
/// </summary>
[MemoryDiagnoser]
public class BatchBenchmarks
{
    private const int Batch = 8;
    private readonly CpuSampler _sampler = new();
    private float[] _logits = [];
    private SamplingSequence[] _sequences = [];
    private readonly SampledToken[] _results = new SampledToken[Batch];

    /// <summary>The vocabulary size.</summary>
    [Params(32_000, 128_256, 256_000)]
    public int Vocabulary { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _logits = new float[Batch * Vocabulary];
        for (int b = 0; b < Batch; b++)
        {
            LogitsData.Create(Vocabulary, seed: b).CopyTo(_logits, b * Vocabulary);
        }

        _sequences = [.. Enumerable.Range(0, Batch).Select(b => new SamplingSequence(
            new SamplingParams { Temperature = 0.8f, MinP = 0.05f, TopK = 50, TopP = 0.9f, Seed = (ulong)b }))];
    }

    /// <summary>Row after row on one thread.</summary>
    [Benchmark(Baseline = true)]
    public void RowByRow()
    {
        for (int b = 0; b < Batch; b++)
        {
            _results[b] = _sampler.Sample(_logits.AsSpan(b * Vocabulary, Vocabulary), _sequences[b]);
        }
    }

    /// <summary>The batched call.</summary>
    [Benchmark]
    public void Batched() => _sampler.SampleBatch(_logits, _sequences, _results);
}
