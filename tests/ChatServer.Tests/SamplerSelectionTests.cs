using ChatServer.Model;
using OpenAiStreaming.Sampling.Gpu;

namespace ChatServer.Tests;

/// <summary><c>--TinyModel:Sampler=auto|cpu|gpu</c>: what each setting picks on this machine, and why.</summary>
public sealed class SamplerSelectionTests
{
    [Fact]
    public void Select_Cpu_ChoosesTheCpuSamplerAndSaysSo()
    {
        Assert.Null(GpuSamplerHost.Select("cpu", out string? reason));
        Assert.Equal("TinyModel:Sampler=cpu.", reason);
    }

    [Fact]
    public void Select_Unknown_Throws()
    {
        var e = Assert.Throws<InvalidOperationException>(() => GpuSamplerHost.Select("cuda-please", out _));
        Assert.Contains("auto, cpu or gpu", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_AutoWithoutGpu_FallsBackToTheCpuWithTheReason()
    {
        Assert.SkipWhen(CudaContextSampler.IsSupported, "This machine has a GPU: auto picks it (Select_AutoWithGpu_PicksIt).");
        Assert.Null(GpuSamplerHost.Select("auto", out string? reason));
        Assert.StartsWith("No CUDA device", reason, StringComparison.Ordinal);
        Assert.Null(GpuSamplerHost.Select(null, out _));
    }

    [Fact]
    public void Select_GpuWithoutGpu_ThrowsWithTheReason()
    {
        Assert.SkipWhen(CudaContextSampler.IsSupported, "This machine has a GPU.");
        var e = Assert.Throws<InvalidOperationException>(() => GpuSamplerHost.Select("GPU", out _));
        Assert.Contains("no GPU can sample", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_AutoWithGpu_PicksItAndItSamples()
    {
        Assert.SkipUnless(CudaContextSampler.IsSupported, $"No GPU: {CudaContextSampler.UnsupportedReason}");
        using GpuSamplerHost? gpu = GpuSamplerHost.Select("auto", out string? reason);
        Assert.NotNull(gpu);
        Assert.Null(reason);
        var sequence = new OpenAiStreaming.Sampling.SamplingSequence(new OpenAiStreaming.Sampling.SamplingParams { Temperature = 0, Seed = 1 });
        Assert.Equal(1, gpu.Sample([0f, 3f, 3f, 1f], sequence).TokenId);
    }
}
