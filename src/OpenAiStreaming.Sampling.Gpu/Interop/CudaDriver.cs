using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Gpu.Interop;

/// <summary>The CUDA driver API entry points the sampler uses (<c>cuda.h</c>); call only after the driver loaded.</summary>
internal static unsafe partial class CudaDriver
{
    public const int Success = 0;
    public const int ErrorNoDevice = 100;

    public const int AttributeMemoryClockRate = 36;
    public const int AttributeGlobalMemoryBusWidth = 37;
    public const int AttributeComputeCapabilityMajor = 75;

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuInit(uint flags);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuDeviceGetCount(out int count);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuDeviceGet(out int device, int ordinal);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuDevicePrimaryCtxRetain")]
    public static partial int cuDevicePrimaryCtxRetain(out nint context, int device);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    public static partial int cuDevicePrimaryCtxRelease(int device);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuCtxGetCurrent(out nint context);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuCtxGetDevice(out int device);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuCtxPushCurrent_v2")]
    public static partial int cuCtxPushCurrent(nint context);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuCtxPopCurrent_v2")]
    public static partial int cuCtxPopCurrent(out nint context);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuModuleLoadData(out nint module, byte* image);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuModuleUnload(nint module);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuModuleGetFunction(out nint function, nint module, byte* name);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuLaunchKernel(
        nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ, uint sharedBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuMemAlloc_v2")]
    public static partial int cuMemAlloc(out nint pointer, nuint bytes);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuMemFree_v2")]
    public static partial int cuMemFree(nint pointer);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    public static partial int cuMemcpyHtoDAsync(nint destination, void* source, nuint bytes, nint stream);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    public static partial int cuMemcpyDtoHAsync(void* destination, nint source, nuint bytes, nint stream);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuStreamCreate(out nint stream, uint flags);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuStreamDestroy_v2")]
    public static partial int cuStreamDestroy(nint stream);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuStreamSynchronize(nint stream);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuEventCreate(out nint @event, uint flags);

    [LibraryImport(CudaLibraries.Driver, EntryPoint = "cuEventDestroy_v2")]
    public static partial int cuEventDestroy(nint @event);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuEventRecord(nint @event, nint stream);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuEventSynchronize(nint @event);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuEventElapsedTime(out float milliseconds, nint start, nint end);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuGetErrorName(int error, out byte* name);

    [LibraryImport(CudaLibraries.Driver)]
    public static partial int cuGetErrorString(int error, out byte* text);

    /// <summary>"cuXxx failed: CUDA_ERROR_NAME (description)".</summary>
    public static string Describe(string call, int error)
    {
        string name = $"CUresult {error}";
        string text = "";
        try
        {
            if (cuGetErrorName(error, out byte* n) == Success && n != null)
            {
                name = Marshal.PtrToStringUTF8((nint)n) ?? name;
            }

            if (cuGetErrorString(error, out byte* s) == Success && s != null)
            {
                text = Marshal.PtrToStringUTF8((nint)s) ?? "";
            }
        }
        catch (EntryPointNotFoundException)
        {
        }

        return text.Length == 0 ? $"{call} failed: {name}" : $"{call} failed: {name} ({text})";
    }

    /// <summary>Throws a <see cref="CudaException"/> unless <paramref name="error"/> is success.</summary>
    public static void Check(int error, string call)
    {
        if (error != Success)
        {
            throw new CudaException(Describe(call, error), error);
        }
    }
}
