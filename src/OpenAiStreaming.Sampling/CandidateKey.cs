namespace OpenAiStreaming.Sampling;

/// <summary>
/// A token packed with its logit into one <see cref="ulong"/> whose ascending order is the sampler's ranking: logit
/// descending, then id ascending. Sorting or selecting these keys needs no comparer, so it does not allocate.
/// </summary>
internal static class CandidateKey
{
    /// <summary>Packs a logit (not NaN) and its token id. -0 and +0 get the same key so that they tie.</summary>
    public static ulong Pack(float logit, int id) => ((ulong)~Ordered(logit) << 32) | (uint)id;

    /// <summary>The token id of a key.</summary>
    public static int Id(ulong key) => (int)(uint)key;

    /// <summary>The logit of a key (+0 for either zero).</summary>
    public static float Logit(ulong key)
    {
        uint ordered = ~(uint)(key >> 32);
        uint bits = (ordered & 0x8000_0000) != 0 ? ordered & 0x7FFF_FFFF : ~ordered;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>The rank word of a key: ascending means logit descending. Equal for equal logits.</summary>
    public static uint Rank(ulong key) => (uint)(key >> 32);

    /// <summary>Maps a float to an unsigned integer with the same order.</summary>
    private static uint Ordered(float logit)
    {
        uint bits = BitConverter.SingleToUInt32Bits(logit == 0 ? 0f : logit);
        return (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
    }
}
