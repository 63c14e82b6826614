using ILGPU;
using OpenAiStreaming.Sampling.Gpu.Kernel;

namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>
/// One launch over a host's own ILGPU views (<see cref="GpuSampler.Launch(ILGPU.Runtime.AcceleratorStream, ArrayView{float}, in GpuBatchViews)"/>):
/// the row parameters, the patches and the outputs, all on the sampler's accelerator.
/// </summary>
public readonly record struct GpuBatchViews
{
    /// <summary>The vocabulary size: elements per row.</summary>
    public int Vocab { get; init; }

    /// <summary>The number of rows (one group each).</summary>
    public int Batch { get; init; }

    /// <summary>Elements between row starts; 0 (the default) means <see cref="Vocab"/>.</summary>
    public long RowStride { get; init; }

    /// <summary><see cref="Batch"/> parameter blocks (<see cref="GpuSamplingBatch.Pack"/>).</summary>
    public ArrayView<GpuRowParameters> RowParameters { get; init; }

    /// <summary>The patches the rows point into; empty when no row has any.</summary>
    public ArrayView<GpuLogitPatch> Patches { get; init; }

    /// <summary>
    /// <c>Batch * Vocab</c> floats where patched rows are copied and changed (the logits are never written); required
    /// when a row has patches, else empty, and then patches are ignored.
    /// </summary>
    public ArrayView<float> Scratch { get; init; }

    /// <summary>Receives one token id per row.</summary>
    public ArrayView<int> Tokens { get; init; }

    /// <summary>Receives one log-probability per row (NaN when not asked for); may be empty.</summary>
    public ArrayView<float> Logprobs { get; init; }

    /// <summary>Receives <see cref="TopLogprobStride"/> entries per row; may be empty.</summary>
    public ArrayView<TokenLogprob> TopLogprobs { get; init; }

    /// <summary>Receives how many top entries each row wrote; empty exactly when <see cref="TopLogprobs"/> is.</summary>
    public ArrayView<int> TopLogprobCounts { get; init; }

    /// <summary>Top entries per row in <see cref="TopLogprobs"/> (at most 20 are written).</summary>
    public int TopLogprobStride { get; init; }

    /// <summary>Throws unless every view fits the batch.</summary>
    internal void Check(long logitElements, long stride)
    {
        if (Vocab <= 0 || Batch <= 0)
        {
            throw new ArgumentException("Vocab and Batch must be positive.");
        }

        if (stride < Vocab || logitElements < ((Batch - 1) * stride) + Vocab)
        {
            throw new ArgumentException("The logits must hold Batch rows of Vocab elements, RowStride apart (RowStride 0 or at least Vocab).");
        }

        if (RowParameters.Length < Batch || Tokens.Length < Batch)
        {
            throw new ArgumentException("RowParameters and Tokens must hold one entry per row.");
        }

        if (Logprobs.Length is > 0 and var l && l < Batch)
        {
            throw new ArgumentException("Logprobs must be empty or hold one entry per row.");
        }

        if (Scratch.Length > 0 && Scratch.Length < (long)Batch * Vocab)
        {
            throw new ArgumentException("Scratch must be empty or hold Batch * Vocab floats.");
        }

        if (TopLogprobs.Length > 0 && (TopLogprobStride <= 0 || TopLogprobs.Length < (long)Batch * TopLogprobStride || TopLogprobCounts.Length < Batch))
        {
            throw new ArgumentException("TopLogprobs needs a positive TopLogprobStride, Batch * TopLogprobStride entries and one count per row.");
        }
    }

    internal RowOutputs ToOutputs() => new()
    {
        Rows = RowParameters,
        Patches = Patches,
        Scratch = Scratch,
        Tokens = Tokens,
        Logprobs = Logprobs,
        Top = TopLogprobs.Length > 0 ? TopLogprobs.Cast<TopLogprobEntry>() : default,
        TopCounts = TopLogprobs.Length > 0 ? TopLogprobCounts : default,
        TopStride = TopLogprobs.Length > 0 ? TopLogprobStride : 0,
    };
}
