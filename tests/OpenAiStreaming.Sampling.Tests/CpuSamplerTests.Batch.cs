namespace OpenAiStreaming.Sampling.Tests;

/// <summary>The batched call and the allocation behaviour.</summary>
public partial class CpuSamplerTests
{
    [Fact]
    public void SampleBatch_RowsSameAsAloneWhateverTheBatch()
    {
        var random = new Random(12);
        const int Vocab = 1000;
        float[] logits = [.. Enumerable.Range(0, 6 * Vocab).Select(_ => (float)(random.NextDouble() * 10))];
        SamplingParams[] ps =
        [
            new() { Temperature = 0f, Seed = 1 },
            new() { Temperature = 0.7f, Seed = 2 },
            new() { TopK = 20, Seed = 3, TopLogprobs = 2 },
            new() { TopP = 0.5f, MinP = 0.1f, Seed = 4, Logprobs = true },
            new() { FrequencyPenalty = 1f, Seed = 5 },
            new() { Temperature = 1.3f, TopK = 100, TopP = 0.9f, MinP = 0.01f, Seed = 6 },
        ];
        SamplingSequence[] batched = [.. ps.Select(p => new SamplingSequence(p))];
        SamplingSequence[] alone = [.. ps.Select(p => new SamplingSequence(p))];
        var results = new SampledToken[6];
        for (int round = 0; round < 20; round++)
        {
            _sampler.SampleBatch(logits, batched, results);
            for (int b = 0; b < 6; b++)
            {
                Assert.Equal(new CpuSampler().Sample(logits.AsSpan(b * Vocab, Vocab), alone[b]), results[b]);
            }
        }

        // The same sequence in a batch of one gives its next token exactly as alone.
        _sampler.SampleBatch(logits.AsSpan(3 * Vocab, Vocab), [batched[3]], results);
        Assert.Equal(_sampler.Sample(logits.AsSpan(3 * Vocab, Vocab), alone[3]), results[0]);
    }

    [Fact]
    public void SampleBatch_BadShapes_Throw()
    {
        SamplingSequence[] two = [new(new SamplingParams()), new(new SamplingParams())];

        Assert.Throws<ArgumentNullException>(() => _sampler.SampleBatch(new float[4], null!, new SampledToken[2]));
        Assert.Throws<ArgumentException>(() => _sampler.SampleBatch(new float[5], two, new SampledToken[2]));
        Assert.Throws<ArgumentException>(() => _sampler.SampleBatch(new float[4], two, new SampledToken[1]));
        Assert.Throws<ArgumentException>(() => _sampler.SampleBatch(new float[4], two, new SampledToken[2], new TokenLogprob[3]));
        Assert.Throws<ArgumentNullException>(() => _sampler.SampleBatch(new float[4], [two[0], null!], new SampledToken[2]));
        Assert.Equal(0, two[0].Step);
    }

    [Fact]
    public void SampleBatch_Empty_DoesNothing()
    {
        _sampler.SampleBatch([], [], []);
    }

    [Fact]
    public void Sample_SequenceSteadyState_DoesNotAllocate()
    {
        float[] logits = UniformLogits(4096);
        logits[17] = 3f;
        var p = new SamplingParams { Temperature = 0.8f, TopK = 50, TopP = 0.9f, MinP = 0.01f, FrequencyPenalty = 0.5f, TopLogprobs = 5 };
        p.LogitBias[3] = 1f;
        var sequence = new SamplingSequence(p);
        var top = new TokenLogprob[5];
        // Long enough for the sequence's count table to reach its final size (at most 51 distinct tokens).
        for (int step = 0; step < 400; step++)
        {
            _sampler.Sample(logits, sequence, top);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 0; step < 100; step++)
        {
            _sampler.Sample(logits, sequence, top);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>A history in a field, since a collection expression at the call site allocates in debug builds.</summary>
    private static readonly int[] SmallHistory = [1, 2, 3];

    [Fact]
    public void Sample_LargeRowEveryPathSteadyState_DoesNotAllocate()
    {
        var random = new Random(13);
        float[] logits = [.. Enumerable.Range(0, 20_000).Select(_ => (float)random.NextDouble())];
        SamplingParams[] ps =
        [
            new() { Temperature = 0f },
            new() { Temperature = 0.7f },
            new() { TopK = 3000 },
            new() { TopP = 0.99f },
            new() { MinP = 0.5f, TopP = 0.9f },
        ];
        for (int step = 0; step < 5; step++)
        {
            foreach (SamplingParams p in ps)
            {
                _sampler.Sample(logits, p, 1, step, SmallHistory);
            }
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int step = 0; step < 10; step++)
        {
            foreach (SamplingParams p in ps)
            {
                _sampler.Sample(logits, p, 1, step, SmallHistory);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

/// <summary>Allocation of the batched call, measured over the whole process, so nothing else may run beside it.</summary>
[Collection(nameof(BatchAllocationTests))]
[CollectionDefinition(nameof(BatchAllocationTests), DisableParallelization = true)]
public class BatchAllocationTests
{
    [Fact]
    public void SampleBatch_SteadyState_DoesNotAllocate()
    {
        var sampler = new CpuSampler();
        const int Batch = 8;
        const int Vocab = 5000;
        var random = new Random(14);
        float[] logits = [.. Enumerable.Range(0, Batch * Vocab).Select(_ => (float)(random.NextDouble() * 8))];
        SamplingSequence[] sequences = [.. Enumerable.Range(0, Batch).Select(b => new SamplingSequence(new SamplingParams { TopK = 40, TopP = 0.9f, Seed = (ulong)b }))];
        var results = new SampledToken[Batch];
        // Long enough for the thread pool to have its threads and the code its final tier.
        for (int i = 0; i < 1000; i++)
        {
            sampler.SampleBatch(logits, sequences, results);
        }

        // Other threads of the process may allocate meanwhile (the test runner's; the thread pool adding a worker when a
        // loaded machine delays the batch's work items: about 1 KiB each): the best of five rounds counts, and the bound
        // is one object per call (24 bytes, the smallest there is), which any allocation on the batch's path exceeds.
        const int Calls = 200;
        long allocated = long.MaxValue;
        for (int round = 0; round < 5; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Calls; i++)
            {
                sampler.SampleBatch(logits, sequences, results);
            }

            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        Assert.True(allocated < Calls * 24, $"{allocated} bytes over {Calls} batched calls");
    }
}
