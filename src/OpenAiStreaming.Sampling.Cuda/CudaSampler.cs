using System.Runtime.InteropServices;
using System.Text;
using OpenAiStreaming.Sampling.Cuda.Interop;
using static OpenAiStreaming.Sampling.Cuda.Interop.CudaDriver;

namespace OpenAiStreaming.Sampling.Cuda;

/// <summary>
/// Chooses tokens from rows of logits on an NVIDIA GPU with exactly the rules of <see cref="CpuSampler"/> (see
/// <c>docs/sampling.md</c>): the same logits, parameters, seed and step give the same token. One thread block per row,
/// no sort; the kernel is CUDA C compiled at run time by NVRTC (or shipped PTX) and launched through the driver API.
/// </summary>
/// <remarks>
/// <para>
/// Two ways in: <see cref="Launch"/> takes device pointers and a <c>CUstream</c> (the logits stay where the model left
/// them, nothing is synchronized); <see cref="SampleBatch"/> mirrors <see cref="CpuSampler.SampleBatch"/> from host
/// arrays and <see cref="SamplingSequence"/>s, copies in and out and waits.
/// </para>
/// <para>
/// Without a usable GPU, <see cref="IsSupported"/> is false and <see cref="UnsupportedReason"/> says why; the constructor
/// then throws <see cref="NotSupportedException"/> with that reason, and nothing crashes. Callers fall back to
/// <see cref="CpuSampler"/>. An instance is not thread-safe (one per thread, like <see cref="CpuSampler"/>).
/// </para>
/// </remarks>
public sealed unsafe class CudaSampler : IDisposable
{
    /// <summary>The most top log-probabilities a row reports.</summary>
    public const int MaxTopLogprobs = SamplingParams.MaxTopLogprobs;

    private static readonly Lazy<Probe> s_probe = new(RunProbe);

    private readonly nint _context;
    private readonly int _device;
    private readonly bool _primary;
    private readonly nint _module;
    private readonly nint[] _functions = new nint[3];
    private readonly nint _stream;
    private bool _disposed;

    // Host path: buffers grown to the largest batch seen, reused.
    private readonly DeviceBuffer _logits = new();
    private readonly DeviceBuffer _rows = new();
    private readonly DeviceBuffer _patches = new();
    private readonly DeviceBuffer _scratch = new();
    private readonly DeviceBuffer _tokens = new();
    private readonly DeviceBuffer _logprobs = new();
    private readonly DeviceBuffer _top = new();
    private readonly DeviceBuffer _topCounts = new();
    private CudaRowParameters[] _hostRows = [];
    private readonly List<CudaLogitPatch> _hostPatches = [];
    private int[] _hostTokens = [];
    private float[] _hostLogprobs = [];
    private TokenLogprob[] _hostTop = [];
    private int[] _hostTopCounts = [];
    private readonly SamplingSequence[] _one = new SamplingSequence[1];
    private readonly SampledToken[] _oneResult = new SampledToken[1];

    /// <summary>Whether a CUDA driver, a device and a way to build the kernel (NVRTC or matching PTX) were found and the kernel loaded.</summary>
    public static bool IsSupported => s_probe.Value.Reason is null;

    /// <summary>Why <see cref="IsSupported"/> is false (no driver, no device, no NVRTC and no matching PTX, ...); null when supported.</summary>
    public static string? UnsupportedReason => s_probe.Value.Reason;

    /// <summary>The CUDA C source of the kernel, as compiled at run time.</summary>
    public static string KernelSource => CudaKernelImage.Source;

    /// <summary>Starts a sampler on the primary context of device 0.</summary>
    /// <exception cref="NotSupportedException"><see cref="IsSupported"/> is false.</exception>
    /// <exception cref="CudaException">A driver call failed.</exception>
    public CudaSampler()
        : this(new CudaSamplerOptions())
    {
    }

    /// <summary>Starts a sampler on the given device or context.</summary>
    /// <param name="options">The device or the host's context.</param>
    /// <exception cref="NotSupportedException"><see cref="IsSupported"/> is false.</exception>
    /// <exception cref="CudaException">A driver call failed or NVRTC could not compile for the context's device.</exception>
    public CudaSampler(CudaSamplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IsSupported)
        {
            throw new NotSupportedException($"The CUDA sampler is not available: {UnsupportedReason}");
        }

        if (options.Context == 0)
        {
            Check(cuDeviceGet(out _device, options.Device), "cuDeviceGet");
            Check(cuDevicePrimaryCtxRetain(out _context, _device), "cuDevicePrimaryCtxRetain");
            _primary = true;
        }
        else
        {
            _context = options.Context;
        }

        Check(cuCtxPushCurrent(_context), "cuCtxPushCurrent");
        try
        {
            if (!_primary)
            {
                Check(cuCtxGetDevice(out _device), "cuCtxGetDevice");
            }

            (int major, int minor) = ComputeCapability(_device);
            byte[] ptx = CudaKernelImage.GetPtx(major, minor, out string? error) ?? throw new CudaException(error ?? "No PTX.");
            fixed (byte* image = ptx)
            {
                Check(cuModuleLoadData(out _module, image), "cuModuleLoadData");
            }

            for (int i = 0; i < _functions.Length; i++)
            {
                byte[] name = [.. Encoding.ASCII.GetBytes(CudaKernelImage.EntryPoints[i]), 0];
                fixed (byte* n = name)
                {
                    Check(cuModuleGetFunction(out _functions[i], _module, n), "cuModuleGetFunction");
                }
            }

            Check(cuStreamCreate(out _stream, 1), "cuStreamCreate");
            DeviceName = ReadDeviceName(_device);
            ComputeCapabilityMajor = major;
            ComputeCapabilityMinor = minor;
        }
        finally
        {
            cuCtxPopCurrent(out _);
        }
    }

    /// <summary>The <c>CUcontext</c> the sampler launches in.</summary>
    public nint Context => _context;

    /// <summary>The device's name.</summary>
    public string DeviceName { get; } = "";

    /// <summary>The device's compute capability, major part.</summary>
    public int ComputeCapabilityMajor { get; }

    /// <summary>The device's compute capability, minor part.</summary>
    public int ComputeCapabilityMinor { get; }

    /// <summary>The size in bytes of the scratch a launch with patched rows needs (<see cref="CudaSamplingLaunch.Scratch"/>).</summary>
    /// <param name="batch">Rows.</param>
    /// <param name="vocab">Elements per row.</param>
    /// <returns><c>batch * vocab * 4</c>.</returns>
    public static long ScratchBytes(int batch, int vocab) => (long)batch * vocab * sizeof(float);

    /// <summary>
    /// Queues the kernel on <see cref="CudaSamplingLaunch.Stream"/> over device memory; returns without waiting. The
    /// outputs are ready when the stream reaches this point (synchronize it, record an event, or queue the next step on it).
    /// </summary>
    /// <param name="launch">The device pointers and sizes.</param>
    /// <exception cref="ArgumentException">A required pointer is missing or a size is out of range.</exception>
    /// <exception cref="CudaException">The launch failed.</exception>
    /// <exception cref="ObjectDisposedException">The sampler was disposed.</exception>
    public void Launch(in CudaSamplingLaunch launch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        KernelArguments arguments = KernelArguments.From(launch);
        Check(cuCtxPushCurrent(_context), "cuCtxPushCurrent");
        try
        {
            LaunchCore(&arguments, launch.LogitsType, launch.Batch, launch.Stream);
        }
        finally
        {
            cuCtxPopCurrent(out _);
        }
    }

    /// <summary>
    /// Samples the next token of every sequence from its row of <paramref name="logits"/> on the GPU and records it in the
    /// sequence, exactly as <see cref="CpuSampler.SampleBatch"/> does (same arguments, same results); waits for the GPU.
    /// </summary>
    /// <param name="logits"><c>sequences.Count</c> rows of equal length, one after the other.</param>
    /// <param name="sequences">One distinct sequence per row.</param>
    /// <param name="results">Receives one result per row.</param>
    /// <param name="topLogprobs">Empty, or <c>sequences.Count</c> equal slices for each row's top log-probabilities.</param>
    /// <exception cref="ArgumentNullException"><paramref name="sequences"/> or one of its elements is null.</exception>
    /// <exception cref="ArgumentException">The spans' lengths do not fit the number of sequences.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter of a sequence is out of range.</exception>
    /// <exception cref="CudaException">A driver call failed.</exception>
    public void SampleBatch(
        ReadOnlySpan<float> logits, IReadOnlyList<SamplingSequence> sequences, Span<SampledToken> results, Span<TokenLogprob> topLogprobs = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(sequences);
        int batch = sequences.Count;
        if (batch == 0)
        {
            return;
        }

        BatchSpans.Check(logits.Length, batch, results.Length, topLogprobs.Length);

        int vocab = logits.Length / batch;
        int stride = topLogprobs.Length / batch;
        int deviceStride = Math.Min(stride, MaxTopLogprobs);
        if (_hostRows.Length < batch)
        {
            _hostRows = new CudaRowParameters[batch];
            _hostTokens = new int[batch];
            _hostLogprobs = new float[batch];
            _hostTopCounts = new int[batch];
            _hostTop = new TokenLogprob[batch * MaxTopLogprobs];
        }

        CudaSamplingBatch.Pack(sequences, vocab, _hostRows, _hostPatches);
        Check(cuCtxPushCurrent(_context), "cuCtxPushCurrent");
        try
        {
            nint stream = _stream;
            fixed (float* l = logits)
            fixed (CudaRowParameters* r = _hostRows)
            {
                Upload(_logits, l, (long)logits.Length * sizeof(float), stream);
                Upload(_rows, r, (long)batch * sizeof(CudaRowParameters), stream);
                Span<CudaLogitPatch> patches = CollectionsMarshal.AsSpan(_hostPatches);
                fixed (CudaLogitPatch* p = patches)
                {
                    if (patches.Length > 0)
                    {
                        Upload(_patches, p, (long)patches.Length * sizeof(CudaLogitPatch), stream);
                        _scratch.Ensure(ScratchBytes(batch, vocab));
                    }

                    _tokens.Ensure(batch * sizeof(int));
                    _logprobs.Ensure(batch * sizeof(float));
                    if (deviceStride > 0)
                    {
                        _top.Ensure((long)batch * deviceStride * sizeof(TokenLogprob));
                        _topCounts.Ensure(batch * sizeof(int));
                    }

                    var arguments = KernelArguments.From(new CudaSamplingLaunch
                    {
                        Logits = _logits.Pointer,
                        Vocab = vocab,
                        Batch = batch,
                        RowParameters = _rows.Pointer,
                        Patches = patches.Length > 0 ? _patches.Pointer : 0,
                        Scratch = patches.Length > 0 ? _scratch.Pointer : 0,
                        Tokens = _tokens.Pointer,
                        Logprobs = _logprobs.Pointer,
                        TopLogprobs = deviceStride > 0 ? _top.Pointer : 0,
                        TopLogprobCounts = deviceStride > 0 ? _topCounts.Pointer : 0,
                        TopLogprobStride = deviceStride,
                    });
                    LaunchCore(&arguments, CudaLogitsType.Float32, batch, stream);

                    // The copies must finish before the pinned spans are released.
                    fixed (int* tokens = _hostTokens)
                    fixed (float* logprobs = _hostLogprobs)
                    fixed (TokenLogprob* top = _hostTop)
                    fixed (int* topCounts = _hostTopCounts)
                    {
                        Check(cuMemcpyDtoHAsync(tokens, _tokens.Pointer, (nuint)(batch * sizeof(int)), stream), "cuMemcpyDtoHAsync");
                        Check(cuMemcpyDtoHAsync(logprobs, _logprobs.Pointer, (nuint)(batch * sizeof(float)), stream), "cuMemcpyDtoHAsync");
                        if (deviceStride > 0)
                        {
                            Check(cuMemcpyDtoHAsync(top, _top.Pointer, (nuint)(batch * deviceStride * sizeof(TokenLogprob)), stream), "cuMemcpyDtoHAsync");
                            Check(cuMemcpyDtoHAsync(topCounts, _topCounts.Pointer, (nuint)(batch * sizeof(int)), stream), "cuMemcpyDtoHAsync");
                        }

                        Check(cuStreamSynchronize(stream), "cuStreamSynchronize");
                    }
                }
            }
        }
        finally
        {
            cuCtxPopCurrent(out _);
        }

        for (int b = 0; b < batch; b++)
        {
            SamplingParams p = sequences[b].Parameters;
            bool wants = p.Logprobs || p.TopLogprobs > 0;
            int written = deviceStride > 0 ? Math.Min(_hostTopCounts[b], Math.Min(stride, p.TopLogprobs)) : 0;
            for (int j = 0; j < written; j++)
            {
                topLogprobs[(b * stride) + j] = _hostTop[(b * deviceStride) + j];
            }

            results[b] = new SampledToken(_hostTokens[b], wants ? _hostLogprobs[b] : float.NaN, written);
            sequences[b].Accept(_hostTokens[b]);
        }
    }

    /// <summary>One row: the GPU counterpart of <see cref="CpuSampler.Sample(ReadOnlySpan{float}, SamplingSequence, Span{TokenLogprob})"/>.</summary>
    /// <param name="logits">One logit per vocabulary entry.</param>
    /// <param name="sequence">The sequence's state; its step advances.</param>
    /// <param name="topLogprobs">Receives the top log-probabilities; may be empty.</param>
    /// <returns>The token, with its log-probability when asked for.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sequence"/> is null.</exception>
    /// <exception cref="CudaException">A driver call failed.</exception>
    public SampledToken Sample(ReadOnlySpan<float> logits, SamplingSequence sequence, Span<TokenLogprob> topLogprobs = default)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        _one[0] = sequence;
        try
        {
            SampleBatch(logits, _one, _oneResult, topLogprobs);
            return _oneResult[0];
        }
        finally
        {
            _one[0] = null!;
        }
    }

    /// <summary>Frees the device buffers, the module and the stream, and releases the primary context if it was retained.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (cuCtxPushCurrent(_context) == Success)
        {
            foreach (DeviceBuffer buffer in new[] { _logits, _rows, _patches, _scratch, _tokens, _logprobs, _top, _topCounts })
            {
                buffer.Free();
            }

            cuStreamDestroy(_stream);
            cuModuleUnload(_module);
            cuCtxPopCurrent(out _);
        }

        if (_primary)
        {
            cuDevicePrimaryCtxRelease(_device);
        }
    }

    private void LaunchCore(KernelArguments* arguments, CudaLogitsType type, int batch, nint stream)
    {
        void** slots = stackalloc void*[KernelArguments.Sizes.Length];
        KernelArguments.Fill(arguments, slots);
        Check(
            cuLaunchKernel(_functions[(int)type], (uint)batch, 1, 1, CudaKernelImage.Threads, 1, 1, 0, stream, slots, null),
            "cuLaunchKernel");
    }

    private static void Upload(DeviceBuffer buffer, void* source, long bytes, nint stream)
    {
        buffer.Ensure(bytes);
        Check(cuMemcpyHtoDAsync(buffer.Pointer, source, (nuint)bytes, stream), "cuMemcpyHtoDAsync");
    }

    private static (int Major, int Minor) ComputeCapability(int device)
    {
        Check(cuDeviceGetAttribute(out int major, AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        Check(cuDeviceGetAttribute(out int minor, AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        return (major, minor);
    }

    private static string ReadDeviceName(int device)
    {
        byte* name = stackalloc byte[256];
        return cuDeviceGetName(name, 256, device) == Success ? Marshal.PtrToStringUTF8((nint)name) ?? "" : "";
    }

    /// <summary>Loads the driver, finds device 0, builds the kernel and loads it once: the answer to <see cref="IsSupported"/>.</summary>
    private static Probe RunProbe()
    {
        try
        {
            if (CudaLibraries.DriverHandle(out string? driverError) == 0)
            {
                return new Probe(driverError);
            }

            int result = cuInit(0);
            if (result == ErrorNoDevice)
            {
                return new Probe("No CUDA device: the driver is installed but reports no GPU (cuInit: CUDA_ERROR_NO_DEVICE).");
            }

            if (result != Success)
            {
                return new Probe($"The CUDA driver did not start: {Describe("cuInit", result)}.");
            }

            if (cuDeviceGetCount(out int count) != Success || count == 0)
            {
                return new Probe("No CUDA device: the driver reports none.");
            }

            Check(cuDeviceGet(out int device, 0), "cuDeviceGet");
            (int major, int minor) = ComputeCapability(device);
            if (major < 6)
            {
                return new Probe($"The GPU's compute capability {major}.{minor} is below 6.0 (double-precision atomics).");
            }

            if (CudaKernelImage.GetPtx(major, minor, out string? error) is not { } ptx)
            {
                return new Probe(error);
            }

            Check(cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
            try
            {
                Check(cuCtxPushCurrent(context), "cuCtxPushCurrent");
                try
                {
                    fixed (byte* image = ptx)
                    {
                        result = cuModuleLoadData(out nint module, image);
                        if (result != Success)
                        {
                            return new Probe($"The driver cannot load the kernel's PTX (a driver older than NVRTC?): {Describe("cuModuleLoadData", result)}.");
                        }

                        cuModuleUnload(module);
                    }
                }
                finally
                {
                    cuCtxPopCurrent(out _);
                }
            }
            finally
            {
                cuDevicePrimaryCtxRelease(device);
            }

            return new Probe(null);
        }
        catch (CudaException e)
        {
            return new Probe(e.Message);
        }
        catch (EntryPointNotFoundException e)
        {
            return new Probe($"The CUDA driver is too old: {e.Message}");
        }
    }

    private sealed record Probe(string? Reason);

    /// <summary>A device allocation that only grows.</summary>
    private sealed class DeviceBuffer
    {
        public nint Pointer { get; private set; }

        private long _bytes;

        public void Ensure(long bytes)
        {
            if (bytes <= _bytes)
            {
                return;
            }

            Free();
            Check(cuMemAlloc(out nint pointer, (nuint)bytes), "cuMemAlloc");
            Pointer = pointer;
            _bytes = bytes;
        }

        public void Free()
        {
            if (Pointer != 0)
            {
                cuMemFree(Pointer);
                Pointer = 0;
                _bytes = 0;
            }
        }
    }
}
