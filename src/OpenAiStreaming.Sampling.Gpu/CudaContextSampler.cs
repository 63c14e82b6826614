using System.Text;
using ILGPU.Runtime.Cuda;
using OpenAiStreaming.Sampling.Gpu.Interop;
using OpenAiStreaming.Sampling.Gpu.Kernel;
using static OpenAiStreaming.Sampling.Gpu.Interop.CudaDriver;

namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>
/// The sampler kernel on raw CUDA device pointers in the host's own context (TorchSharp, ONNX Runtime, hand-written
/// CUDA): the PTX of <see cref="GpuSampler.GeneratePtx"/> is loaded with <c>cuModuleLoadData</c> into the context that
/// is current when the sampler is created and launched there with <c>cuLaunchKernel</c> on the host's stream. An ILGPU
/// <c>CudaAccelerator</c> cannot do this: it always creates a private context, where the host's memory is not valid.
/// </summary>
/// <remarks>
/// <para>
/// Without a usable driver and device, <see cref="IsSupported"/> is false and <see cref="UnsupportedReason"/> says why;
/// the constructor then throws <see cref="NotSupportedException"/> with that reason. Nothing here ever throws
/// <see cref="DllNotFoundException"/>: the driver is loaded by hand and every import is resolved only after it loaded.
/// </para>
/// <para>Launches are thread-safe (the driver serializes them per stream); <see cref="Dispose"/> is not.</para>
/// </remarks>
public sealed unsafe class CudaContextSampler : IDisposable
{
    private static readonly Lazy<string?> s_probe = new(Probe);
    private static readonly Lazy<byte[]> s_ptx = new(() => [.. Encoding.ASCII.GetBytes(GpuSampler.GeneratePtx(CudaArchitecture.SM_80)), 0]);

    private readonly nint _context;
    private readonly nint _module;
    private readonly nint _function;
    private bool _disposed;

    /// <summary>Loads the kernel into the calling thread's current CUDA context.</summary>
    /// <exception cref="NotSupportedException">No usable driver or device (<see cref="UnsupportedReason"/>), or a device below compute capability 8.0.</exception>
    /// <exception cref="InvalidOperationException">No CUDA context is current on the calling thread.</exception>
    /// <exception cref="CudaException">The driver rejected the module.</exception>
    public CudaContextSampler()
    {
        if (UnsupportedReason is { } reason)
        {
            throw new NotSupportedException($"The CUDA sampler is not available: {reason}");
        }

        Check(cuCtxGetCurrent(out _context), "cuCtxGetCurrent");
        if (_context == 0)
        {
            throw new InvalidOperationException("No CUDA context is current on this thread: make the host's context current first (cuCtxSetCurrent, or any call of its runtime).");
        }

        Check(cuCtxGetDevice(out int device), "cuCtxGetDevice");
        Check(cuDeviceGetAttribute(out int major, AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        if (major < 8)
        {
            throw new NotSupportedException($"The sampler's PTX needs compute capability 8.0 or later; this device has {major}.x.");
        }

        fixed (byte* image = s_ptx.Value)
        {
            Check(cuModuleLoadData(out _module, image), "cuModuleLoadData");
        }

        byte[] name = [.. Encoding.ASCII.GetBytes(EntryPoint), 0];
        fixed (byte* n = name)
        {
            Check(cuModuleGetFunction(out _function, _module, n), "cuModuleGetFunction");
        }
    }

    /// <summary>The name of the kernel's entry point in the PTX.</summary>
    public const string EntryPoint = "Kernel_" + SamplerKernel.EntryPointName;

    /// <summary>Whether a CUDA driver loaded and reports a device.</summary>
    public static bool IsSupported => s_probe.Value is null;

    /// <summary>Why <see cref="IsSupported"/> is false (no driver, no device, the driver would not start); null when supported.</summary>
    public static string? UnsupportedReason => s_probe.Value;

    /// <summary>The <c>CUcontext</c> the kernel was loaded into.</summary>
    public nint Context => _context;

    /// <summary>
    /// Queues the kernel on <see cref="CudaSamplingLaunch.Stream"/> in <see cref="Context"/>; returns without waiting.
    /// The outputs are ready when the stream reaches this point.
    /// </summary>
    /// <param name="launch">The device pointers and sizes.</param>
    /// <exception cref="ArgumentException">A required pointer is missing or a size is out of range.</exception>
    /// <exception cref="CudaException">The launch failed.</exception>
    /// <exception cref="ObjectDisposedException">The sampler was disposed.</exception>
    public void Launch(in CudaSamplingLaunch launch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PtxArguments arguments = PtxArguments.From(launch);
        void* slot = &arguments;
        Check(cuCtxPushCurrent(_context), "cuCtxPushCurrent");
        try
        {
            Check(
                cuLaunchKernel(_function, (uint)launch.Batch, 1, 1, GpuSampler.GroupSize, 1, 1, 0, launch.Stream, &slot, null),
                "cuLaunchKernel");
        }
        finally
        {
            cuCtxPopCurrent(out _);
        }
    }

    /// <summary>Unloads the module; the host's context stays as it is.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (cuCtxPushCurrent(_context) == Success)
        {
            cuModuleUnload(_module);
            cuCtxPopCurrent(out _);
        }
    }

    private static string? Probe()
    {
        try
        {
            if (CudaLibraries.DriverHandle(out string? driverError) == 0)
            {
                return driverError;
            }

            int result = cuInit(0);
            if (result == ErrorNoDevice)
            {
                return "No CUDA device: the driver is installed but reports no GPU (cuInit: CUDA_ERROR_NO_DEVICE).";
            }

            if (result != Success)
            {
                return $"The CUDA driver did not start: {Describe("cuInit", result)}.";
            }

            return cuDeviceGetCount(out int count) != Success || count == 0 ? "No CUDA device: the driver reports none." : null;
        }
        catch (EntryPointNotFoundException e)
        {
            return $"The CUDA driver is too old: {e.Message}";
        }
    }
}
