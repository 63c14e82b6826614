namespace OpenAiStreaming.Sampling.Cuda;

/// <summary>
/// The kernel's parameter list in declaration order (<c>sampler_f32</c> and its siblings in <c>Kernels/sampler.cu</c>),
/// held in fields whose addresses <c>cuLaunchKernel</c> reads.
/// </summary>
internal struct KernelArguments
{
    /// <summary>The size in bytes of each parameter, in order; the tests compare it with the kernel's signature.</summary>
    public static readonly int[] Sizes = [8, 8, 4, 8, 8, 8, 8, 8, 8, 8, 4];

    public nint Logits;
    public long RowStride;
    public int Vocab;
    public nint RowParameters;
    public nint Patches;
    public nint Scratch;
    public nint Tokens;
    public nint Logprobs;
    public nint TopLogprobs;
    public nint TopLogprobCounts;
    public int TopLogprobStride;

    /// <summary>Checks a launch and turns it into arguments.</summary>
    /// <exception cref="ArgumentException">A required pointer is 0 or a size is out of range.</exception>
    public static KernelArguments From(in CudaSamplingLaunch launch)
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

        if (launch.TopLogprobStride < 0 || (launch.TopLogprobs != 0 && launch.TopLogprobStride == 0))
        {
            throw new ArgumentException("TopLogprobStride must be positive when TopLogprobs is set.", nameof(launch));
        }

        if (launch.LogitsType is not (CudaLogitsType.Float32 or CudaLogitsType.Float16 or CudaLogitsType.BFloat16))
        {
            throw new ArgumentException("Unknown logits type.", nameof(launch));
        }

        return new KernelArguments
        {
            Logits = launch.Logits,
            RowStride = stride,
            Vocab = launch.Vocab,
            RowParameters = launch.RowParameters,
            Patches = launch.Patches,
            Scratch = launch.Scratch,
            Tokens = launch.Tokens,
            Logprobs = launch.Logprobs,
            TopLogprobs = launch.TopLogprobs,
            TopLogprobCounts = launch.TopLogprobCounts,
            TopLogprobStride = launch.TopLogprobs == 0 ? 0 : launch.TopLogprobStride,
        };
    }

    /// <summary>Writes the address of every field, in parameter order, to <paramref name="slots"/> (11 entries).</summary>
    public static unsafe void Fill(KernelArguments* a, void** slots)
    {
        slots[0] = &a->Logits;
        slots[1] = &a->RowStride;
        slots[2] = &a->Vocab;
        slots[3] = &a->RowParameters;
        slots[4] = &a->Patches;
        slots[5] = &a->Scratch;
        slots[6] = &a->Tokens;
        slots[7] = &a->Logprobs;
        slots[8] = &a->TopLogprobs;
        slots[9] = &a->TopLogprobCounts;
        slots[10] = &a->TopLogprobStride;
    }
}
