namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>The element type of the logits a launch reads.</summary>
public enum CudaLogitsType
{
    /// <summary>32-bit IEEE floats.</summary>
    Float32,

    /// <summary>16-bit IEEE halves (converted exactly to float on load).</summary>
    Float16,

    /// <summary>bfloat16 (converted exactly to float on load).</summary>
    BFloat16,
}

/// <summary>
/// One kernel launch over device memory, for <see cref="CudaContextSampler.Launch"/>. Every pointer is a CUDA device
/// pointer (<c>CUdeviceptr</c>) valid in the sampler's context; page-locked host memory mapped into the device's address space
/// (<c>cuMemHostAlloc</c> with <c>CU_MEMHOSTALLOC_DEVICEMAP</c>, or <c>cuMemHostRegister</c>) works for the outputs.
/// </summary>
public readonly record struct CudaSamplingLaunch
{
    /// <summary>Row <c>b</c> of the logits starts at element <c>b * RowStride</c>; <see cref="Vocab"/> elements per row.</summary>
    public nint Logits { get; init; }

    /// <summary>The element type of <see cref="Logits"/>. Default <see cref="CudaLogitsType.Float32"/>.</summary>
    public CudaLogitsType LogitsType { get; init; }

    /// <summary>Elements between row starts; 0 (the default) means <see cref="Vocab"/>.</summary>
    public long RowStride { get; init; }

    /// <summary>The vocabulary size: elements per row.</summary>
    public int Vocab { get; init; }

    /// <summary>The number of rows (one group of 256 threads each).</summary>
    public int Batch { get; init; }

    /// <summary><see cref="Batch"/> packed <see cref="GpuRowParameters"/> (64 bytes each).</summary>
    public nint RowParameters { get; init; }

    /// <summary>The <see cref="GpuLogitPatch"/> array the rows point into; 0 when no row has patches.</summary>
    public nint Patches { get; init; }

    /// <summary>
    /// <c>Batch * Vocab</c> floats the kernel copies patched rows into (the logits are never written); required when a
    /// row has patches, else 0, and then patches are ignored.
    /// </summary>
    public nint Scratch { get; init; }

    /// <summary>Receives one 32-bit token id per row.</summary>
    public nint Tokens { get; init; }

    /// <summary>Receives one float per row: the chosen token's log-probability, NaN when not asked for; 0 for none.</summary>
    public nint Logprobs { get; init; }

    /// <summary>Receives <see cref="TopLogprobStride"/> (token, logprob) pairs of 8 bytes per row; 0 for none.</summary>
    public nint TopLogprobs { get; init; }

    /// <summary>Receives one 32-bit count of written top entries per row; 0 for none.</summary>
    public nint TopLogprobCounts { get; init; }

    /// <summary>Top entries per row in <see cref="TopLogprobs"/> (at most 20 are written).</summary>
    public int TopLogprobStride { get; init; }

    /// <summary>The <c>CUstream</c> to launch on; 0 is the context's default stream.</summary>
    public nint Stream { get; init; }
}
