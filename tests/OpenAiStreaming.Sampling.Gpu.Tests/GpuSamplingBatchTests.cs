using System.Runtime.CompilerServices;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

public sealed class GpuSamplingBatchTests
{
    [Fact]
    public void Pack_MergesBiasAndPenaltiesPerToken()
    {
        var p = new SamplingParams { Temperature = 0.7f, TopK = 5, TopP = 0.9f, MinP = 0.1f, RepetitionPenalty = 1.2f, FrequencyPenalty = 0.5f, Seed = 0x1_0000_0002, TopLogprobs = 3 };
        p.LogitBias[3] = 2f;
        p.LogitBias[99] = 1f; // beyond the vocabulary: dropped, as the CPU ignores it
        var sequence = new SamplingSequence(p);
        sequence.AddPromptTokens([4]);
        sequence.Accept(3);
        sequence.Accept(3);
        var rows = new GpuRowParameters[1];
        var patches = new List<GpuLogitPatch>();
        GpuSamplingBatch.Pack([sequence], 10, rows, patches);
        GpuRowParameters row = rows[0];
        Assert.Equal((0x1_0000_0002UL, 0.7f, 5, 0.9f, 0.1f, 2, 0, 3), (row.Seed, row.Temperature, row.TopK, row.TopP, row.MinP, row.Step, row.Flags, row.TopLogprobs));
        Assert.Equal(0.7f * Math.Log(0.1f), row.MinPLogitOffset);
        Assert.Equal(2, row.PatchCount);
        GpuLogitPatch three = patches.Single(x => x.Token == 3);
        Assert.Equal((2f, 2, GpuLogitPatch.HasBias | GpuLogitPatch.Seen), (three.Bias, three.Count, three.Flags));
        GpuLogitPatch four = patches.Single(x => x.Token == 4);
        Assert.Equal((0, GpuLogitPatch.Seen), (four.Count, four.Flags));
    }

    [Fact]
    public void Pack_LeavesPenaltiesOutWhenNeutral()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });
        sequence.Accept(2);
        var rows = new GpuRowParameters[1];
        var patches = new List<GpuLogitPatch>();
        GpuSamplingBatch.Pack([sequence], 10, rows, patches);
        Assert.Empty(patches);
        Assert.Equal(0, rows[0].PatchCount);
    }

    [Fact]
    public void Layout_OfTheParameterStructs_IsWhatTheKernelReads()
    {
        Assert.Equal(64, Unsafe.SizeOf<GpuRowParameters>());
        Assert.Equal(16, Unsafe.SizeOf<GpuLogitPatch>());
        Assert.Equal(8, Unsafe.SizeOf<TokenLogprob>());
        Assert.Equal(Unsafe.SizeOf<TokenLogprob>(), Unsafe.SizeOf<Kernel.TopLogprobEntry>());
    }
}
