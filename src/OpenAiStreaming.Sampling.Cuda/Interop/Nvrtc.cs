using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Cuda.Interop;

/// <summary>The NVRTC entry points (<c>nvrtc.h</c>); call only after NVRTC loaded.</summary>
internal static unsafe partial class Nvrtc
{
    public const int Success = 0;

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcVersion(out int major, out int minor);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcGetNumSupportedArchs(out int count);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcGetSupportedArchs(int* archs);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcCreateProgram(out nint program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcCompileProgram(nint program, int optionCount, byte** options);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcGetPTXSize(nint program, out nuint size);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcGetPTX(nint program, byte* ptx);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcGetProgramLogSize(nint program, out nuint size);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcGetProgramLog(nint program, byte* log);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial int nvrtcDestroyProgram(ref nint program);

    [LibraryImport(CudaLibraries.Nvrtc)]
    public static partial byte* nvrtcGetErrorString(int result);
}
