using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using OpenAiStreaming.Sampling;

namespace OpenAiStreaming.Sampling.Cuda.Tests;

/// <summary>What runs without a GPU: the kernel source, the argument and parameter packing, the unsupported path.</summary>
public sealed partial class CudaSamplerTests
{
    [Fact]
    public void KernelSource_IsEmbeddedWithEveryEntryPoint()
    {
        string source = CudaSampler.KernelSource;
        foreach (string entry in new[] { "sampler_f32", "sampler_f16", "sampler_bf16", "sampler_philox" })
        {
            Assert.Contains($"extern \"C\" __global__ void", source);
            Assert.Contains(entry + "(", source);
        }
    }

    [Fact]
    public void KernelArguments_MatchTheKernelSignature()
    {
        Match match = SignatureRegex().Match(CudaSampler.KernelSource);
        Assert.True(match.Success);
        string[] parameters = match.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries);
        int[] sizes = parameters.Select(p => p.Contains('*') || p.StartsWith("long long", StringComparison.Ordinal) ? 8 : p.StartsWith("int ", StringComparison.Ordinal) ? 4 : -1).ToArray();
        Assert.Equal(KernelArguments.Sizes, sizes);
        Assert.Equal(KernelArguments.Sizes.Sum(), Marshal.SizeOf<KernelArguments>() - 8); // two 4-byte fields padded to 8
    }

    [Fact]
    public unsafe void KernelArguments_FillPointsAtEachFieldInOrder()
    {
        var launch = new CudaSamplingLaunch { Logits = 1, Vocab = 7, Batch = 2, RowParameters = 2, Tokens = 3, TopLogprobs = 4, TopLogprobStride = 5 };
        KernelArguments arguments = KernelArguments.From(launch);
        void** slots = stackalloc void*[11];
        KernelArguments.Fill(&arguments, slots);
        Assert.Equal(1, *(nint*)slots[0]);
        Assert.Equal(7L, *(long*)slots[1]);
        Assert.Equal(7, *(int*)slots[2]);
        Assert.Equal(2, *(nint*)slots[3]);
        Assert.Equal(3, *(nint*)slots[6]);
        Assert.Equal(4, *(nint*)slots[8]);
        Assert.Equal(5, *(int*)slots[10]);
    }

    [Fact]
    public void KernelArguments_RejectMissingPointers()
    {
        Assert.Throws<ArgumentException>(() => KernelArguments.From(new CudaSamplingLaunch { Vocab = 4, Batch = 1 }));
        Assert.Throws<ArgumentException>(() => KernelArguments.From(new CudaSamplingLaunch { Logits = 1, RowParameters = 1, Tokens = 1, Vocab = 4, Batch = 1, RowStride = 3 }));
    }

    [Fact]
    public void CompileOptions_TurnOffFusedMultiplyAdd()
    {
        Assert.Contains("--fmad=false", CudaKernelImage.CompileOptions(9, 0));
        Assert.Contains("--gpu-architecture=compute_90", CudaKernelImage.CompileOptions(9, 0));
    }

    [Fact]
    public void Layout_OfTheParameterStructs()
    {
        Assert.Equal(56, Marshal.SizeOf<CudaRowParameters>());
        Assert.Equal(8, (int)Marshal.OffsetOf<CudaRowParameters>(nameof(CudaRowParameters.Temperature)));
        Assert.Equal(32, (int)Marshal.OffsetOf<CudaRowParameters>(nameof(CudaRowParameters.TopK)));
        Assert.Equal(52, (int)Marshal.OffsetOf<CudaRowParameters>(nameof(CudaRowParameters.TopLogprobs)));
        Assert.Equal(16, Marshal.SizeOf<CudaLogitPatch>());
        Assert.Equal(8, Marshal.SizeOf<TokenLogprob>());
        Assert.Contains("static_assert(sizeof(SamplerRowParams) == 56", CudaSampler.KernelSource);
    }

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
        var rows = new CudaRowParameters[1];
        var patches = new List<CudaLogitPatch>();
        CudaSamplingBatch.Pack([sequence], 10, rows, patches);
        CudaRowParameters row = rows[0];
        Assert.Equal((0x1_0000_0002UL, 0.7f, 5, 0.9f, 0.1f, 2, 0, 3), (row.Seed, row.Temperature, row.TopK, row.TopP, row.MinP, row.Step, row.Flags, row.TopLogprobs));
        Assert.Equal(2, row.PatchCount);
        CudaLogitPatch three = patches.Single(x => x.Token == 3);
        Assert.Equal((2f, 2, CudaLogitPatch.HasBias | CudaLogitPatch.Seen), (three.Bias, three.Count, three.Flags));
        CudaLogitPatch four = patches.Single(x => x.Token == 4);
        Assert.Equal((0, CudaLogitPatch.Seen), (four.Count, four.Flags));
    }

    [Fact]
    public void Pack_LeavesPenaltiesOutWhenNeutral()
    {
        var sequence = new SamplingSequence(new SamplingParams { Seed = 1 });
        sequence.Accept(2);
        var rows = new CudaRowParameters[1];
        var patches = new List<CudaLogitPatch>();
        CudaSamplingBatch.Pack([sequence], 10, rows, patches);
        Assert.Empty(patches);
        Assert.Equal(0, rows[0].PatchCount);
    }

    [Fact]
    public void IsSupported_ExplainsWhyNot()
    {
        if (CudaSampler.IsSupported)
        {
            Assert.Null(CudaSampler.UnsupportedReason);
            return;
        }

        Assert.False(string.IsNullOrWhiteSpace(CudaSampler.UnsupportedReason));
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => new CudaSampler());
        Assert.Contains(CudaSampler.UnsupportedReason!, e.Message, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"void __launch_bounds__\(SAMPLER_THREADS\) sampler_f32\(([^)]*)\)")]
    private static partial Regex SignatureRegex();
}
