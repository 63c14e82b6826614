using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Gpu.Interop;

/// <summary>
/// The kernel's single parameter as ILGPU's PTX backend lays it out (<c>Kernel.KernelArguments</c>): every
/// <c>ArrayView</c> is a device pointer followed by its 64-bit length. 160 bytes; a test reads the offsets back from
/// the generated PTX.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct PtxArguments
{
    public const int Size = 160;

    [FieldOffset(0)] public nint Logits;
    [FieldOffset(8)] public long LogitsBytes;
    [FieldOffset(16)] public long RowStride;
    [FieldOffset(24)] public int Vocab;
    [FieldOffset(28)] public int ElementType;
    [FieldOffset(32)] public int Vectorized;
    [FieldOffset(40)] public nint Rows;
    [FieldOffset(48)] public long RowsLength;
    [FieldOffset(56)] public nint Patches;
    [FieldOffset(64)] public long PatchesLength;
    [FieldOffset(72)] public nint Scratch;
    [FieldOffset(80)] public long ScratchLength;
    [FieldOffset(88)] public nint Tokens;
    [FieldOffset(96)] public long TokensLength;
    [FieldOffset(104)] public nint Logprobs;
    [FieldOffset(112)] public long LogprobsLength;
    [FieldOffset(120)] public nint Top;
    [FieldOffset(128)] public long TopLength;
    [FieldOffset(136)] public nint TopCounts;
    [FieldOffset(144)] public long TopCountsLength;
    [FieldOffset(152)] public int TopStride;

    /// <summary>Checks a launch and turns it into the argument block.</summary>
    /// <exception cref="ArgumentException">A required pointer is 0 or a size is out of range.</exception>
    public static PtxArguments From(in CudaSamplingLaunch launch)
    {
        if (launch.Vocab <= 0 || launch.Batch <= 0)
        {
            throw new ArgumentException("Vocab and Batch must be positive.", nameof(launch));
        }

        if (launch.Logits == 0 || launch.RowParameters == 0 || launch.Tokens == 0)
        {
            throw new ArgumentException("Logits, RowParameters and Tokens are required device pointers.", nameof(launch));
        }

        long stride = launch.RowStride == 0 ? launch.Vocab : launch.RowStride;
        if (stride < launch.Vocab)
        {
            throw new ArgumentException("RowStride must be 0 or at least Vocab.", nameof(launch));
        }

        if (launch.TopLogprobStride < 0 || (launch.TopLogprobs != 0 && (launch.TopLogprobStride == 0 || launch.TopLogprobCounts == 0)))
        {
            throw new ArgumentException("TopLogprobs needs a positive TopLogprobStride and TopLogprobCounts.", nameof(launch));
        }

        int elementSize = launch.LogitsType switch
        {
            CudaLogitsType.Float32 => 4,
            CudaLogitsType.Float16 or CudaLogitsType.BFloat16 => 2,
            _ => throw new ArgumentException("Unknown logits type.", nameof(launch)),
        };

        long batch = launch.Batch;
        bool top = launch.TopLogprobs != 0;
        return new PtxArguments
        {
            Logits = launch.Logits,
            LogitsBytes = (((batch - 1) * stride) + launch.Vocab) * elementSize,
            RowStride = stride,
            Vocab = launch.Vocab,
            ElementType = (int)launch.LogitsType,

            // Four elements per load when every row starts on a 4-element boundary of a suitably aligned pointer.
            Vectorized = (stride % 4 == 0 && launch.Logits % (4 * elementSize) == 0 ? Kernel.KernelArguments.VectorizedLogits : 0)
                | (launch.Scratch % 16 == 0 ? Kernel.KernelArguments.VectorizedScratch : 0),
            Rows = launch.RowParameters,
            RowsLength = batch,

            // The kernel reads patches only through the offsets of the rows; the length is never checked.
            Patches = launch.Patches,
            PatchesLength = launch.Patches == 0 ? 0 : int.MaxValue,
            Scratch = launch.Scratch,
            ScratchLength = launch.Scratch == 0 ? 0 : batch * launch.Vocab,
            Tokens = launch.Tokens,
            TokensLength = batch,
            Logprobs = launch.Logprobs,
            LogprobsLength = launch.Logprobs == 0 ? 0 : batch,
            Top = top ? launch.TopLogprobs : 0,
            TopLength = top ? batch * launch.TopLogprobStride : 0,
            TopCounts = top ? launch.TopLogprobCounts : 0,
            TopCountsLength = top ? batch : 0,
            TopStride = top ? launch.TopLogprobStride : 0,
        };
    }
}
