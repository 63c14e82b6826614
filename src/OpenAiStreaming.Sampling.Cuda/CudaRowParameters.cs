using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Cuda;

/// <summary>
/// One row's sampling parameters as the kernel reads them (<c>SamplerRowParams</c> in <c>Kernels/sampler.cu</c>):
/// 56 bytes, little-endian, fields at the offsets given on each. Fill an array of them with
/// <see cref="CudaSamplingBatch.Pack"/> and copy it to the device.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 56)]
public struct CudaRowParameters
{
    /// <summary>Offset 0: the seed of the random numbers (Philox key: low word, high word).</summary>
    public ulong Seed;

    /// <summary>Offset 8: the temperature; at or below <c>1e-5</c> the row is greedy.</summary>
    public float Temperature;

    /// <summary>Offset 12: top_p in (0, 1]; 1 is off.</summary>
    public float TopP;

    /// <summary>Offset 16: min_p in [0, 1]; 0 is off.</summary>
    public float MinP;

    /// <summary>Offset 20: the repetition penalty (applies to patches flagged seen).</summary>
    public float RepetitionPenalty;

    /// <summary>Offset 24: the frequency penalty (times each patch's count).</summary>
    public float FrequencyPenalty;

    /// <summary>Offset 28: the presence penalty (for patches with a count above 0).</summary>
    public float PresencePenalty;

    /// <summary>Offset 32: top_k; 0 is off.</summary>
    public int TopK;

    /// <summary>Offset 36: the step of the token being generated (Philox counter word 0).</summary>
    public int Step;

    /// <summary>Offset 40: the index of the row's first patch in the patch array.</summary>
    public int PatchOffset;

    /// <summary>Offset 44: how many patches the row has (0: the kernel reads the logits as they are).</summary>
    public int PatchCount;

    /// <summary>Offset 48: <see cref="WantLogprob"/> or 0.</summary>
    public int Flags;

    /// <summary>Offset 52: how many top log-probabilities to report (0 to 20).</summary>
    public int TopLogprobs;

    /// <summary>The flag that asks for the chosen token's log-probability.</summary>
    public const int WantLogprob = 1;
}

/// <summary>
/// A change to one logit of one row (<c>SamplerPatch</c> in <c>Kernels/sampler.cu</c>): 16 bytes, token at 0, bias at
/// 4, count at 8, flags at 12. The kernel adds the bias (flag <see cref="HasBias"/>), then applies the repetition
/// penalty (flag <see cref="Seen"/>), then subtracts <c>frequency * count + presence</c> when the count is above 0.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct CudaLogitPatch
{
    /// <summary>Offset 0: the token id (ids outside the row are ignored).</summary>
    public int Token;

    /// <summary>Offset 4: the logit bias.</summary>
    public float Bias;

    /// <summary>Offset 8: how often the token occurred in the output.</summary>
    public int Count;

    /// <summary>Offset 12: <see cref="HasBias"/> and/or <see cref="Seen"/>.</summary>
    public int Flags;

    /// <summary>The patch carries a logit bias.</summary>
    public const int HasBias = 1;

    /// <summary>The token was seen (prompt or output): the penalties apply.</summary>
    public const int Seen = 2;
}
