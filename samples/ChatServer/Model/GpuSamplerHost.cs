using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OpenAiStreaming.Sampling;
using OpenAiStreaming.Sampling.Gpu;

namespace ChatServer.Model;

/// <summary>
/// The GPU sampler of the tiny model: an ILGPU context with the first CUDA accelerator and one
/// <see cref="GpuSampler"/>, shared by every stream (one call at a time: a step samples a single row).
/// </summary>
internal sealed class GpuSamplerHost : IDisposable
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly GpuSampler _sampler;
    private readonly Lock _lock = new();

    private GpuSamplerHost(Context context, Accelerator accelerator)
    {
        _context = context;
        _accelerator = accelerator;
        _sampler = new GpuSampler(accelerator);
    }

    /// <summary>The accelerator's name, for the start-up log.</summary>
    public string DeviceName => _accelerator.Name;

    /// <summary>
    /// Chooses the sampler for <c>--TinyModel:Sampler</c>: <c>cpu</c> never uses the GPU, <c>gpu</c> requires a CUDA
    /// device, <c>auto</c> (or nothing) uses one when present. <paramref name="reason"/> says why the CPU was chosen.
    /// </summary>
    /// <returns>The GPU sampler, or null for the CPU sampler.</returns>
    /// <exception cref="InvalidOperationException"><c>gpu</c> without a CUDA device, or an unknown setting.</exception>
    public static GpuSamplerHost? Select(string? setting, out string? reason)
    {
        switch (setting?.ToUpperInvariant())
        {
            case "CPU":
                reason = "TinyModel:Sampler=cpu.";
                return null;
            case "GPU":
                return TryCreate(out reason) ?? throw new InvalidOperationException($"TinyModel:Sampler=gpu, but no GPU can sample: {reason}");
            case "AUTO" or null:
                return TryCreate(out reason);
            default:
                throw new InvalidOperationException($"TinyModel:Sampler must be auto, cpu or gpu, not '{setting}'.");
        }
    }

    /// <summary>Samples the next token of <paramref name="sequence"/> on the GPU.</summary>
    public SampledToken Sample(ReadOnlySpan<float> logits, SamplingSequence sequence)
    {
        lock (_lock)
        {
            return _sampler.Sample(logits, sequence);
        }
    }

    public void Dispose()
    {
        _sampler.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }

    private static GpuSamplerHost? TryCreate(out string? reason)
    {
        Context context = Context.Create(builder => builder.Cuda());
        Context.DeviceCollection<CudaDevice> devices = context.GetCudaDevices();
        if (devices.Count == 0)
        {
            context.Dispose();
            reason = $"No CUDA device: {CudaContextSampler.UnsupportedReason ?? "ILGPU found none."}";
            return null;
        }

        reason = null;
        return new GpuSamplerHost(context, devices[0].CreateAccelerator(context));
    }
}
