using System.Reflection;
using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Cuda.Interop;

/// <summary>
/// Finds the CUDA driver and NVRTC libraries with <see cref="NativeLibrary.TryLoad(string, out nint)"/> and resolves
/// the <c>LibraryImport</c>s of this assembly to them. Nothing calls into a library that did not load, so a machine
/// without CUDA never sees a <see cref="DllNotFoundException"/>.
/// </summary>
internal static class CudaLibraries
{
    /// <summary>The name the driver imports use.</summary>
    public const string Driver = "cuda";

    /// <summary>The name the NVRTC imports use.</summary>
    public const string Nvrtc = "nvrtc";

    /// <summary>An explicit NVRTC library path (the pip wheels of PyTorch put it under site-packages).</summary>
    public const string NvrtcPathVariable = "OPENAI_STREAMING_NVRTC";

    private static readonly Lazy<(nint Handle, string? Error)> s_driver = new(LoadDriver);
    private static readonly Lazy<(nint Handle, string? Error)> s_nvrtc = new(LoadNvrtc);

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

    /// <summary>The NVRTC library, or 0 with the reason.</summary>
    public static nint NvrtcHandle(out string? error)
    {
        (nint handle, error) = s_nvrtc.Value;
        return handle;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name switch
    {
        Driver => s_driver.Value.Handle,
        Nvrtc => s_nvrtc.Value.Handle,
        _ => 0,
    };

    private static (nint, string?) LoadDriver()
    {
        string[] names = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];
        return TryLoadAny(names, out nint handle)
            ? (handle, null)
            : (0, $"No CUDA driver: none of {string.Join(", ", names)} could be loaded (no NVIDIA driver installed).");
    }

    private static (nint, string?) LoadNvrtc()
    {
        List<string> names = [];
        string? explicitPath = Environment.GetEnvironmentVariable(NvrtcPathVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            names.Add(explicitPath);
        }

        if (OperatingSystem.IsWindows())
        {
            foreach (string version in new[] { "130_0", "120_0", "112_0", "111_0", "110_0" })
            {
                names.Add($"nvrtc64_{version}.dll");
            }
        }
        else
        {
            names.Add("libnvrtc.so");
            foreach (string version in new[] { "13", "12", "11.2", "11.1", "11.0" })
            {
                names.Add($"libnvrtc.so.{version}");
            }

            // Toolkit installs that are not on the loader's path.
            foreach (string directory in new[] { "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu" })
            {
                foreach (string version in new[] { "", ".13", ".12", ".11.2" })
                {
                    names.Add(Path.Combine(directory, "libnvrtc.so" + version));
                }
            }
        }

        return TryLoadAny(names, out nint handle)
            ? (handle, null)
            : (0, $"No NVRTC: none of libnvrtc.so, libnvrtc.so.13/.12/.11.x could be loaded (set {NvrtcPathVariable} to its path).");
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
