using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>
/// ILGPU's CPU accelerator set up like an NVIDIA device (warp 32), with one sampler: compiling the kernel takes
/// seconds, so the tests of a class share it (and run one at a time, as they share the sampler).
/// </summary>
public sealed class CpuAcceleratorFixture : IDisposable
{
    private readonly Context _context;

    public CpuAcceleratorFixture()
    {
        _context = Context.Create(builder => builder.CPU(CPUDevice.Nvidia));
        Accelerator = _context.CreateCPUAccelerator(0);
        Sampler = new GpuSampler(Accelerator);
    }

    public Accelerator Accelerator { get; }

    public GpuSampler Sampler { get; }

    public void Dispose()
    {
        Sampler.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
