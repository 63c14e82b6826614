namespace ChatServer.Model;

/// <summary>How <see cref="TinyChatClient"/> paces and bounds its output.</summary>
internal sealed class TinyModelOptions
{
    /// <summary>The time between two tokens, to stream at the pace of a real model. Default 20 ms; zero means no wait.</summary>
    public TimeSpan TokenDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The most tokens (characters) one response has when the request names no maximum. Default 256.</summary>
    public int DefaultMaxTokens { get; set; } = 256;

    /// <summary>The model id reported on responses when the request names none. Default <c>tiny-char-lm</c>.</summary>
    public string ModelId { get; set; } = TinyChatClient.DefaultModelId;

    /// <summary>
    /// The GPU sampler to use instead of the CPU sampler (the same tokens), or null (the default) for the CPU one. The
    /// app sets it from <c>--TinyModel:Sampler=auto|cpu|gpu</c> (<see cref="GpuSamplerHost.Select"/>).
    /// </summary>
    public GpuSamplerHost? GpuSampler { get; set; }

    /// <summary>The clock behind <see cref="TokenDelay"/> and <c>CreatedAt</c>. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
