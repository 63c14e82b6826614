using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>
/// One row's sampling parameters as the kernel reads them: 64 bytes, little-endian, fields at the offsets given on each.
/// <see cref="GpuSamplingBatch.Pack"/> fills them from <see cref="SamplingSequence"/>s; hosts that launch on raw device
/// pointers copy an array of them to the device.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
public struct GpuRowParameters
{
    /// <summary>The flag that asks for the chosen token's log-probability.</summary>
    public const int WantLogprob = 1;

    /// <summary>Offset 0: the seed of the random numbers (Philox key: low word, high word).</summary>
    public ulong Seed;

    /// <summary>
    /// Offset 8: <c>(double)Temperature * Math.Log(MinP)</c>, computed on the host so that the min_p floor is the CPU's
    /// to the last bit (a device logarithm may round differently); ignored when <see cref="MinP"/> is 0.
    /// </summary>
    public double MinPLogitOffset;

    /// <summary>Offset 16: the temperature; at or below <c>1e-5</c> the row is greedy.</summary>
    public float Temperature;

    /// <summary>Offset 20: top_p in (0, 1]; 1 is off.</summary>
    public float TopP;

    /// <summary>Offset 24: min_p in [0, 1]; 0 is off.</summary>
    public float MinP;

    /// <summary>Offset 28: the repetition penalty (applies to patches flagged seen).</summary>
    public float RepetitionPenalty;

    /// <summary>Offset 32: the frequency penalty (times each patch's count).</summary>
    public float FrequencyPenalty;

    /// <summary>Offset 36: the presence penalty (for patches with a count above 0).</summary>
    public float PresencePenalty;

    /// <summary>Offset 40: top_k; 0 is off.</summary>
    public int TopK;

    /// <summary>Offset 44: the step of the token being generated (Philox counter word 0).</summary>
    public int Step;

    /// <summary>Offset 48: the index of the row's first patch in the patch array.</summary>
    public int PatchOffset;

    /// <summary>Offset 52: how many patches the row has (0: the kernel reads the logits as they are).</summary>
    public int PatchCount;

    /// <summary>Offset 56: <see cref="WantLogprob"/> or 0.</summary>
    public int Flags;

    /// <summary>Offset 60: how many top log-probabilities to report (0 to 20).</summary>
    public int TopLogprobs;
}
