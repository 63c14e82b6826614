using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OpenAiStreaming.Sampling.Gpu.Kernel;

namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>
/// Chooses tokens from rows of logits with one ILGPU kernel that follows <see cref="CpuSampler"/>'s rules exactly (see
/// <c>docs/sampling.md</c>): the same logits, parameters, seed and step give the same token, up to the documented
/// last-bit limits. The kernel runs on any ILGPU accelerator: CUDA on a GPU, or ILGPU's CPU accelerator.
/// </summary>
/// <remarks>
/// <para>
/// Ways in: <see cref="Launch(AcceleratorStream, ArrayView{float}, in GpuBatchViews)"/> and its fp16/bf16 siblings
/// sample straight from a host's own <see cref="ArrayView{T}"/>s on its stream, with no copy and no wait;
/// <see cref="Sample(ReadOnlySpan{float}, SamplingParams, ulong, int)"/> and <see cref="SampleBatch"/> take host arrays
/// like <see cref="CpuSampler"/>, copy in and out and wait. Raw CUDA device pointers in the host's own context go
/// through <see cref="CudaContextSampler"/>, which launches the PTX of <see cref="GeneratePtx"/>.
/// </para>
/// <para>
/// The accelerator stays the caller's: the sampler never disposes it. An instance is not thread-safe (one per thread,
/// like <see cref="CpuSampler"/>).
/// </para>
/// </remarks>
public sealed class GpuSampler : IDisposable
{
    /// <summary>Threads per group (one group per row) on a GPU.</summary>
    public const int GroupSize = SamplerKernel.GroupSize;

    private readonly Accelerator _accelerator;
    private readonly Action<AcceleratorStream, KernelConfig, KernelArguments> _kernel;
    private readonly HostBuffers _host;

    /// <summary>Compiles the kernel for <paramref name="accelerator"/> (owned by the caller).</summary>
    /// <param name="accelerator">Any ILGPU accelerator whose warp size is a power of two and which allows <see cref="GroupThreads"/> threads per group.</param>
    /// <exception cref="ArgumentNullException"><paramref name="accelerator"/> is null.</exception>
    /// <exception cref="NotSupportedException">The accelerator cannot run groups of <see cref="GroupThreads"/> threads.</exception>
    public GpuSampler(Accelerator accelerator)
    {
        ArgumentNullException.ThrowIfNull(accelerator);

        // ILGPU's CPU accelerator runs every group thread as an OS thread and pays for each barrier with all of them:
        // two warps keep the cross-warp merges under test at a fraction of the cost.
        GroupThreads = accelerator.AcceleratorType == AcceleratorType.CPU ? Math.Min(GroupSize, 2 * accelerator.WarpSize) : GroupSize;
        if (accelerator.MaxNumThreadsPerGroup < GroupThreads)
        {
            throw new NotSupportedException(
                $"The accelerator '{accelerator.Name}' allows {accelerator.MaxNumThreadsPerGroup} threads per group; the sampler needs {GroupThreads}.");
        }

        _accelerator = accelerator;
        _kernel = accelerator.LoadKernel<KernelArguments>(SamplerKernel.SampleRows);
        _host = new HostBuffers(accelerator);
    }

    /// <summary>Threads per group on this accelerator: <see cref="GroupSize"/>, or two warps on ILGPU's CPU accelerator.</summary>
    public int GroupThreads { get; }

    /// <summary>The accelerator the sampler launches on.</summary>
    public Accelerator Accelerator => _accelerator;

    /// <summary>
    /// Returns the kernel's PTX for <paramref name="architecture"/> without a GPU: one entry point named
    /// <c>SampleRows</c> with one parameter, the argument block that <see cref="CudaContextSampler"/> fills.
    /// </summary>
    /// <param name="architecture">The lowest architecture to target (sm_80 or later; the driver compiles it for newer ones).</param>
    /// <returns>The PTX module as text.</returns>
    /// <exception cref="NotSupportedException">The architecture is below sm_80 (the kernel's 64-bit shared atomics and PTX ISA 8.0).</exception>
    public static string GeneratePtx(CudaArchitecture architecture)
    {
        if (architecture < CudaArchitecture.SM_80)
        {
            throw new NotSupportedException($"The sampler's PTX targets sm_80 or later, not {architecture}.");
        }

        using Context context = Context.Create(builder => builder.Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture, CudaInstructionSet.ISA_80, null);
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(typeof(SamplerKernel).GetMethod(nameof(SamplerKernel.SampleRows))!);
        var kernel = (PTXCompiledKernel)backend.Compile(entry, default);
        return kernel.PTXAssembly;
    }

    /// <summary>
    /// Queues the kernel on <paramref name="stream"/> over fp32 logits already on the accelerator; returns without waiting.
    /// The outputs are ready when the stream reaches this point.
    /// </summary>
    /// <param name="stream">A stream of <see cref="Accelerator"/>.</param>
    /// <param name="logits">The rows: row <c>b</c> starts at element <c>b * views.RowStride</c>.</param>
    /// <param name="views">Row parameters, patches, outputs and sizes.</param>
    /// <exception cref="ArgumentException">A view is missing or too short for the batch.</exception>
    public void Launch(AcceleratorStream stream, ArrayView<float> logits, in GpuBatchViews views) =>
        LaunchBytes(stream, logits.Cast<byte>(), sizeof(float), KernelArguments.Float32, views);

    /// <summary>As <see cref="Launch(AcceleratorStream, ArrayView{float}, in GpuBatchViews)"/>, over fp16 logits.</summary>
    /// <param name="stream">A stream of <see cref="Accelerator"/>.</param>
    /// <param name="logits">The rows: row <c>b</c> starts at element <c>b * views.RowStride</c>.</param>
    /// <param name="views">Row parameters, patches, outputs and sizes.</param>
    /// <exception cref="ArgumentException">A view is missing or too short for the batch.</exception>
    public void Launch(AcceleratorStream stream, ArrayView<ILGPU.Half> logits, in GpuBatchViews views) =>
        LaunchBytes(stream, logits.Cast<byte>(), sizeof(ushort), KernelArguments.Float16, views);

    /// <summary>As <see cref="Launch(AcceleratorStream, ArrayView{float}, in GpuBatchViews)"/>, over bf16 logits given by their bits.</summary>
    /// <param name="stream">A stream of <see cref="Accelerator"/>.</param>
    /// <param name="logits">The rows as raw bf16 bits: row <c>b</c> starts at element <c>b * views.RowStride</c>.</param>
    /// <param name="views">Row parameters, patches, outputs and sizes.</param>
    /// <exception cref="ArgumentException">A view is missing or too short for the batch.</exception>
    public void LaunchBFloat16(AcceleratorStream stream, ArrayView<ushort> logits, in GpuBatchViews views) =>
        LaunchBytes(stream, logits.Cast<byte>(), sizeof(ushort), KernelArguments.BFloat16, views);

    /// <summary>Samples one token, ignoring the penalties (there is no history to apply them to); exactly <see cref="CpuSampler.Sample(ReadOnlySpan{float}, SamplingParams, ulong, int)"/>.</summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="p">The sampling parameters; validated on every call. <see cref="SamplingParams.Seed"/> is not read.</param>
    /// <param name="seed">The request's seed; it keys the random numbers.</param>
    /// <param name="step">The position of the token being generated (0 for the first). Must not be negative.</param>
    /// <returns>A token id in [0, <c>logits.Length</c>).</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="step"/> is negative.</exception>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("The logits must not be empty.", nameof(logits));
        }

        ArgumentNullException.ThrowIfNull(p);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        _host.Patches.Clear();
        _host.Rows[0] = GpuSamplingBatch.PackRow(p, seed, step, logits.Length, _host.Patches);
        return _host.Run(this, logits, 1, 0).Tokens[0];
    }

    /// <summary>
    /// Samples the next token of <paramref name="sequence"/> and records it, exactly as
    /// <see cref="CpuSampler.Sample(ReadOnlySpan{float}, SamplingSequence, Span{TokenLogprob})"/> does.
    /// </summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="sequence">The sequence's state; its step advances.</param>
    /// <param name="topLogprobs">Receives the top log-probabilities; may be empty.</param>
    /// <returns>The token, with its log-probability when asked for.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sequence"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter of the sequence is out of range.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads",
        Justification = "The overloads take different types (a sequence, or parameters with a seed and step), as CpuSampler's do.")]
    public SampledToken Sample(ReadOnlySpan<float> logits, SamplingSequence sequence, Span<TokenLogprob> topLogprobs = default)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        Span<SampledToken> result = stackalloc SampledToken[1];
        SampleBatch(logits, [sequence], result, topLogprobs);
        return result[0];
    }

    /// <summary>
    /// Samples the next token of every sequence from its row of <paramref name="logits"/> and records it in the sequence,
    /// exactly as <see cref="CpuSampler.SampleBatch"/> does (same arguments, same results); copies in and out and waits.
    /// </summary>
    /// <param name="logits"><c>sequences.Count</c> rows of equal length, one after the other.</param>
    /// <param name="sequences">One distinct sequence per row.</param>
    /// <param name="results">Receives one result per row; at least <c>sequences.Count</c> long.</param>
    /// <param name="topLogprobs">Empty, or <c>sequences.Count</c> equal slices that receive each row's top log-probabilities.</param>
    /// <exception cref="ArgumentNullException"><paramref name="sequences"/> or one of its elements is null.</exception>
    /// <exception cref="ArgumentException">The spans' lengths do not fit the number of sequences.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter of a sequence is out of range.</exception>
    public void SampleBatch(
        ReadOnlySpan<float> logits, IReadOnlyList<SamplingSequence> sequences, Span<SampledToken> results, Span<TokenLogprob> topLogprobs = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int batch = sequences.Count;
        if (batch == 0)
        {
            return;
        }

        if (logits.IsEmpty || logits.Length % batch != 0)
        {
            throw new ArgumentException("The logits must hold one non-empty row of equal length per sequence.", nameof(logits));
        }

        if (results.Length < batch)
        {
            throw new ArgumentException("There must be room for one result per sequence.", nameof(results));
        }

        if (topLogprobs.Length % batch != 0)
        {
            throw new ArgumentException("The top-logprobs span must be empty or hold one equal slice per sequence.", nameof(topLogprobs));
        }

        int vocab = logits.Length / batch;
        int stride = topLogprobs.Length / batch;
        _host.EnsureRows(batch);
        GpuSamplingBatch.Pack(sequences, vocab, _host.Rows, _host.Patches);
        HostBuffers.Outputs outputs = _host.Run(this, logits, batch, Math.Min(stride, SamplingParams.MaxTopLogprobs));
        for (int b = 0; b < batch; b++)
        {
            SamplingParams p = sequences[b].Parameters;
            bool wants = p.Logprobs || p.TopLogprobs > 0;
            int written = stride > 0 ? Math.Min(outputs.TopCounts[b], Math.Min(stride, p.TopLogprobs)) : 0;
            for (int j = 0; j < written; j++)
            {
                topLogprobs[(b * stride) + j] = outputs.Top[(b * outputs.TopStride) + j];
            }

            results[b] = new SampledToken(outputs.Tokens[b], wants ? outputs.Logprobs[b] : float.NaN, written);
            sequences[b].Accept(outputs.Tokens[b]);
        }
    }

    /// <summary>Frees the sampler's buffers for the host-array calls; the accelerator stays open.</summary>
    public void Dispose() => _host.Dispose();

    private void LaunchBytes(AcceleratorStream stream, ArrayView<byte> logits, int elementSize, int elementType, in GpuBatchViews views)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long stride = views.RowStride == 0 ? views.Vocab : views.RowStride;
        views.Check(logits.Length / elementSize, stride);
        int vectorized = (stride % 4 == 0 && Aligned(logits, 4 * elementSize) ? KernelArguments.VectorizedLogits : 0)
            | (Aligned(views.Scratch.Cast<byte>(), 16) ? KernelArguments.VectorizedScratch : 0);
        _kernel(stream, new KernelConfig(views.Batch, GroupThreads), new KernelArguments
        {
            Logits = logits,
            RowStride = stride,
            Vocab = views.Vocab,
            ElementType = elementType,
            Vectorized = vectorized,
            Outputs = views.ToOutputs(),
        });
    }

    /// <summary>Whether a view starts on a multiple of <paramref name="bytes"/> (ILGPU's buffers do; a sub-view may not).</summary>
    private static bool Aligned(ArrayView<byte> view, int bytes) => view.Length == 0 || view.LoadEffectiveAddressAsPtr() % bytes == 0;

    /// <summary>The device buffers of the host-array calls, grown to the largest batch seen and reused.</summary>
    private sealed class HostBuffers(Accelerator accelerator) : IDisposable
    {
        private MemoryBuffer1D<float, Stride1D.Dense>? _logits;
        private MemoryBuffer1D<GpuRowParameters, Stride1D.Dense>? _rows;
        private MemoryBuffer1D<GpuLogitPatch, Stride1D.Dense>? _patches;
        private MemoryBuffer1D<float, Stride1D.Dense>? _scratch;
        private MemoryBuffer1D<int, Stride1D.Dense>? _tokens;
        private MemoryBuffer1D<float, Stride1D.Dense>? _logprobs;
        private MemoryBuffer1D<TokenLogprob, Stride1D.Dense>? _top;
        private MemoryBuffer1D<int, Stride1D.Dense>? _topCounts;

        private int[] _hostTokens = [];
        private float[] _hostLogprobs = [];
        private TokenLogprob[] _hostTop = [];
        private int[] _hostTopCounts = [];

        public GpuRowParameters[] Rows { get; private set; } = new GpuRowParameters[1];

        public List<GpuLogitPatch> Patches { get; } = [];

        public void EnsureRows(int batch)
        {
            if (Rows.Length < batch)
            {
                Rows = new GpuRowParameters[batch];
            }
        }

        /// <summary>What a host-array call reads back.</summary>
        public readonly record struct Outputs(int[] Tokens, float[] Logprobs, TokenLogprob[] Top, int[] TopCounts, int TopStride);

        public Outputs Run(GpuSampler sampler, ReadOnlySpan<float> logits, int batch, int topStride)
        {
            int vocab = logits.Length / batch;
            AcceleratorStream stream = accelerator.DefaultStream;
            Ensure(ref _logits, logits.Length).View.SubView(0, logits.Length).CopyFromCPU(stream, logits);
            Ensure(ref _rows, batch).View.SubView(0, batch).CopyFromCPU(stream, Rows.AsSpan(0, batch));
            int patchCount = Patches.Count;
            ArrayView<GpuLogitPatch> patches = default;
            ArrayView<float> scratch = default;
            if (patchCount > 0)
            {
                patches = Ensure(ref _patches, patchCount).View.SubView(0, patchCount);
                patches.CopyFromCPU(stream, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Patches));
                scratch = Ensure(ref _scratch, logits.Length).View.SubView(0, logits.Length);
            }

            var views = new GpuBatchViews
            {
                Vocab = vocab,
                Batch = batch,
                RowParameters = _rows!.View.SubView(0, batch),
                Patches = patches,
                Scratch = scratch,
                Tokens = Ensure(ref _tokens, batch).View.SubView(0, batch),
                Logprobs = Ensure(ref _logprobs, batch).View.SubView(0, batch),
                TopLogprobs = topStride > 0 ? Ensure(ref _top, batch * topStride).View.SubView(0, batch * topStride) : default,
                TopLogprobCounts = topStride > 0 ? Ensure(ref _topCounts, batch).View.SubView(0, batch) : default,
                TopLogprobStride = topStride,
            };
            sampler.Launch(stream, _logits!.View.SubView(0, logits.Length), views);
            Read(views.Tokens, stream, ref _hostTokens, batch);
            Read(views.Logprobs, stream, ref _hostLogprobs, batch);
            if (topStride > 0)
            {
                Read(views.TopLogprobs, stream, ref _hostTop, batch * topStride);
                Read(views.TopLogprobCounts, stream, ref _hostTopCounts, batch);
            }

            return new Outputs(_hostTokens, _hostLogprobs, _hostTop, _hostTopCounts, topStride);
        }

        public void Dispose()
        {
            _logits?.Dispose();
            _rows?.Dispose();
            _patches?.Dispose();
            _scratch?.Dispose();
            _tokens?.Dispose();
            _logprobs?.Dispose();
            _top?.Dispose();
            _topCounts?.Dispose();
        }

        /// <summary>Copies a view back into a host array grown to fit (the copy waits for the stream).</summary>
        private static void Read<T>(ArrayView<T> view, AcceleratorStream stream, ref T[] host, int length)
            where T : unmanaged
        {
            if (host.Length < length)
            {
                host = new T[length];
            }

            view.SubView(0, length).CopyToCPU(stream, host.AsSpan(0, length));
        }

        private MemoryBuffer1D<T, Stride1D.Dense> Ensure<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length)
            where T : unmanaged
        {
            if (buffer is null || buffer.Length < length)
            {
                buffer?.Dispose();
                buffer = accelerator.Allocate1D<T>(length);
            }

            return buffer;
        }
    }
}
