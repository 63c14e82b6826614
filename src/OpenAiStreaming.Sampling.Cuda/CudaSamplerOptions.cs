namespace OpenAiStreaming.Sampling.Cuda;

/// <summary>Where a <see cref="CudaSampler"/> runs.</summary>
public sealed class CudaSamplerOptions
{
    /// <summary>The device ordinal whose primary context is used when <see cref="Context"/> is 0. Default <c>0</c>.</summary>
    public int Device { get; set; }

    /// <summary>
    /// The host's <c>CUcontext</c> (for example the one TorchSharp, ONNX Runtime or ILGPU already uses), or 0 (the
    /// default) for the primary context of <see cref="Device"/>, which is what the CUDA runtime API uses too. The sampler
    /// makes it current around each of its calls and restores the caller's.
    /// </summary>
    public nint Context { get; set; }
}
