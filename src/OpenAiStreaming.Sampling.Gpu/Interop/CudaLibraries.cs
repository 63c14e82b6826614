using System.Reflection;
using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Gpu.Interop;

/// <summary>
/// Finds the CUDA driver library with <see cref="NativeLibrary.TryLoad(string, out nint)"/> and resolves
/// the <c>LibraryImport</c>s of this assembly to them. Nothing calls into a library that did not load, so a machine
/// without CUDA never sees a <see cref="DllNotFoundException"/>.
/// </summary>
internal static class CudaLibraries
{
    /// <summary>The name the driver imports use.</summary>
    public const string Driver = "cuda";

    private static readonly Lazy<(nint Handle, string? Error)> s_driver = new(LoadDriver);

    static CudaLibraries()
    {
        NativeLibrary.SetDllImportResolver(typeof(CudaLibraries).Assembly, Resolve);
    }

    /// <summary>The driver library, or 0 with the reason.</summary>
    public static nint DriverHandle(out string? error)
    {
        (nint handle, error) = s_driver.Value;
        return handle;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name switch
    {
        Driver => s_driver.Value.Handle,
        _ => 0,
    };

    private static (nint, string?) LoadDriver()
    {
        string[] names = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];
        return TryLoadAny(names, out nint handle)
            ? (handle, null)
            : (0, $"No CUDA driver: none of {string.Join(", ", names)} could be loaded (no NVIDIA driver installed).");
    }

    private static bool TryLoadAny(IEnumerable<string> names, out nint handle)
    {
        foreach (string name in names)
        {
            if (NativeLibrary.TryLoad(name, out handle))
            {
                return true;
            }
        }

        handle = 0;
        return false;
    }
}
