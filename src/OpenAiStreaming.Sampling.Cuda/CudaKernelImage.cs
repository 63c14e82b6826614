using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using OpenAiStreaming.Sampling.Cuda.Interop;

namespace OpenAiStreaming.Sampling.Cuda;

/// <summary>
/// The kernel's source (an embedded resource) and its PTX: compiled by NVRTC for the device's compute capability, or
/// shipped PTX (an embedded <c>sampler.ptx</c>, or the file named by <see cref="PtxPathVariable"/>) when NVRTC is absent.
/// </summary>
internal static unsafe class CudaKernelImage
{
    /// <summary>The environment variable that names a PTX file built ahead of time (used when NVRTC is absent).</summary>
    public const string PtxPathVariable = "OPENAI_STREAMING_SAMPLER_PTX";

    /// <summary>The threads per block the kernel is compiled and launched with.</summary>
    public const int Threads = 512;

    /// <summary>The entry points, by <see cref="CudaLogitsType"/>.</summary>
    public static readonly string[] EntryPoints = ["sampler_f32", "sampler_f16", "sampler_bf16"];

    /// <summary>The CUDA C source of the kernel.</summary>
    public static string Source { get; } = ReadResource("OpenAiStreaming.Sampling.Cuda.sampler.cu")
        ?? throw new InvalidOperationException("The kernel source is missing from the assembly.");

    /// <summary>The NVRTC options: no fused multiply-add, so that every rounding matches the CPU sampler.</summary>
    public static string[] CompileOptions(int major, int minor) =>
        [$"--gpu-architecture=compute_{major}{minor}", "--fmad=false", "--std=c++17", $"-DSAMPLER_THREADS={Threads}"];

    /// <summary>PTX for a device of compute capability major.minor, or null with the reason.</summary>
    public static byte[]? GetPtx(int major, int minor, out string? error)
    {
        if (CudaLibraries.NvrtcHandle(out string? nvrtcError) != 0)
        {
            return Compile(major, minor, out error);
        }

        string? path = Environment.GetEnvironmentVariable(PtxPathVariable);
        if (!string.IsNullOrEmpty(path) && File.Exists(path))
        {
            error = null;
            return NullTerminated(File.ReadAllBytes(path));
        }

        string? shipped = ReadResource("OpenAiStreaming.Sampling.Cuda.sampler.ptx");
        if (shipped is not null)
        {
            error = null;
            return NullTerminated(Encoding.UTF8.GetBytes(shipped));
        }

        error = $"{nvrtcError} No matching PTX either: none ships in the package and {PtxPathVariable} is not set.";
        return null;
    }

    private static byte[]? Compile(int major, int minor, out string? error)
    {
        (major, minor) = ClampToSupported(major, minor);
        nint program = 0;
        try
        {
            byte[] source = NullTerminated(Encoding.UTF8.GetBytes(Source));
            byte[] name = NullTerminated("sampler.cu"u8.ToArray());
            int result;
            fixed (byte* s = source)
            fixed (byte* n = name)
            {
                result = Nvrtc.nvrtcCreateProgram(out program, s, n, 0, null, null);
            }

            if (result != Nvrtc.Success)
            {
                error = $"nvrtcCreateProgram failed: {NvrtcError(result)}.";
                return null;
            }

            string[] options = CompileOptions(major, minor);
            byte[][] optionBytes = options.Select(o => NullTerminated(Encoding.UTF8.GetBytes(o))).ToArray();
            var handles = new GCHandle[optionBytes.Length];
            byte** pointers = stackalloc byte*[optionBytes.Length];
            try
            {
                for (int i = 0; i < optionBytes.Length; i++)
                {
                    handles[i] = GCHandle.Alloc(optionBytes[i], GCHandleType.Pinned);
                    pointers[i] = (byte*)handles[i].AddrOfPinnedObject();
                }

                result = Nvrtc.nvrtcCompileProgram(program, optionBytes.Length, pointers);
            }
            finally
            {
                foreach (GCHandle handle in handles)
                {
                    if (handle.IsAllocated)
                    {
                        handle.Free();
                    }
                }
            }

            if (result != Nvrtc.Success)
            {
                error = $"NVRTC could not compile the kernel for compute_{major}{minor}: {NvrtcError(result)}. {ProgramLog(program)}";
                return null;
            }

            Nvrtc.nvrtcGetPTXSize(program, out nuint size);
            byte[] ptx = new byte[(int)size];
            fixed (byte* p = ptx)
            {
                result = Nvrtc.nvrtcGetPTX(program, p);
            }

            if (result != Nvrtc.Success)
            {
                error = $"nvrtcGetPTX failed: {NvrtcError(result)}.";
                return null;
            }

            error = null;
            return NullTerminated(ptx);
        }
        catch (EntryPointNotFoundException e)
        {
            error = $"The NVRTC library lacks an entry point: {e.Message}";
            return null;
        }
        finally
        {
            if (program != 0)
            {
                Nvrtc.nvrtcDestroyProgram(ref program);
            }
        }
    }

    /// <summary>The device's architecture, or the newest one NVRTC knows below it (an NVRTC older than the GPU).</summary>
    private static (int Major, int Minor) ClampToSupported(int major, int minor)
    {
        try
        {
            if (Nvrtc.nvrtcGetNumSupportedArchs(out int count) != Nvrtc.Success || count <= 0)
            {
                return (major, minor);
            }

            int* archs = stackalloc int[count];
            if (Nvrtc.nvrtcGetSupportedArchs(archs) != Nvrtc.Success)
            {
                return (major, minor);
            }

            int wanted = (major * 10) + minor;
            int best = -1;
            for (int i = 0; i < count; i++)
            {
                if (archs[i] <= wanted && archs[i] > best)
                {
                    best = archs[i];
                }
            }

            return best < 0 ? (major, minor) : (best / 10, best % 10);
        }
        catch (EntryPointNotFoundException)
        {
            // NVRTC before 11.2 cannot list its architectures.
            return (major, minor);
        }
    }

    private static string ProgramLog(nint program)
    {
        if (Nvrtc.nvrtcGetProgramLogSize(program, out nuint size) != Nvrtc.Success || size <= 1)
        {
            return "";
        }

        byte[] log = new byte[(int)size];
        fixed (byte* p = log)
        {
            Nvrtc.nvrtcGetProgramLog(program, p);
        }

        return Encoding.UTF8.GetString(log, 0, log.Length - 1);
    }

    private static string NvrtcError(int result)
    {
        byte* text = Nvrtc.nvrtcGetErrorString(result);
        return text == null ? $"nvrtcResult {result}" : Marshal.PtrToStringUTF8((nint)text) ?? $"nvrtcResult {result}";
    }

    private static byte[] NullTerminated(byte[] bytes) => bytes.Length > 0 && bytes[^1] == 0 ? bytes : [.. bytes, 0];

    private static string? ReadResource(string name)
    {
        using Stream? stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name);
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
