using System.Runtime.InteropServices;

namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>
/// A change to one logit of one row: 16 bytes, token at 0, bias at 4, count at 8, flags at 12. The kernel adds the
/// bias (flag <see cref="HasBias"/>), then applies the repetition penalty (flag <see cref="Seen"/>), then subtracts
/// <c>frequency * count + presence</c> when the count is above 0, as <see cref="CpuSampler"/> does. A token appears at
/// most once per row.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct GpuLogitPatch
{
    /// <summary>The patch carries a logit bias.</summary>
    public const int HasBias = 1;

    /// <summary>The token was seen (prompt or output): the penalties apply.</summary>
    public const int Seen = 2;

    /// <summary>Offset 0: the token id (ids outside the row are ignored).</summary>
    public int Token;

    /// <summary>Offset 4: the logit bias.</summary>
    public float Bias;

    /// <summary>Offset 8: how often the token occurred in the output.</summary>
    public int Count;

    /// <summary>Offset 12: <see cref="HasBias"/> and/or <see cref="Seen"/>.</summary>
    public int Flags;
}
