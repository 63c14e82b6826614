using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>One top log-probability as the kernel writes it: the layout of <see cref="TokenLogprob"/> (token at 0, logprob at 4).</summary>
internal struct TopLogprobEntry
{
    public int Token;
    public float Logprob;
}

/// <summary>Everything a launch reads and writes besides the logits.</summary>
internal struct RowOutputs
{
    /// <summary>One parameter block per row.</summary>
    public ArrayView<GpuRowParameters> Rows;

    /// <summary>The patches the rows point into (may be empty).</summary>
    public ArrayView<GpuLogitPatch> Patches;

    /// <summary><c>batch * vocab</c> floats for patched rows (may be empty when no row has patches).</summary>
    public ArrayView<float> Scratch;

    /// <summary>One token id per row.</summary>
    public ArrayView<int> Tokens;

    /// <summary>One logprob per row, NaN when not asked for (may be empty).</summary>
    public ArrayView<float> Logprobs;

    /// <summary><see cref="TopStride"/> entries per row (may be empty).</summary>
    public ArrayView<TopLogprobEntry> Top;

    /// <summary>How many top entries each row wrote (may be empty).</summary>
    public ArrayView<int> TopCounts;

    /// <summary>Top entries per row in <see cref="Top"/>.</summary>
    public int TopStride;
}

/// <summary>
/// The kernel's single parameter: the logits (row <c>b</c> starts at element <c>b * RowStride</c>) and the outputs. The
/// driver-API path writes the same bytes by hand (<see cref="Interop.PtxArguments"/>); a test pins the layout.
/// </summary>
internal struct KernelArguments
{
    public const int Float32 = 0;
    public const int Float16 = 1;
    public const int BFloat16 = 2;

    /// <summary><see cref="Vectorized"/> flag: the logits are 16-byte (fp32) or 8-byte (16-bit) aligned and the stride a multiple of 4.</summary>
    public const int VectorizedLogits = 1;

    /// <summary><see cref="Vectorized"/> flag: the scratch rows start 16-byte aligned.</summary>
    public const int VectorizedScratch = 2;

    /// <summary>The logits as bytes; the kernel reads them as <see cref="ElementType"/>.</summary>
    public ArrayView<byte> Logits;

    public long RowStride;
    public int Vocab;

    /// <summary><see cref="Float32"/>, <see cref="Float16"/> or <see cref="BFloat16"/>.</summary>
    public int ElementType;

    /// <summary><see cref="VectorizedLogits"/> and <see cref="VectorizedScratch"/>: where the kernel may load four elements at once.</summary>
    public int Vectorized;

    public RowOutputs Outputs;
}
