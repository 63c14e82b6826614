namespace OpenAiStreaming.Sampling;

/// <summary>
/// The Philox4x32-10 counter-based generator (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"), bit for bit
/// as in Random123, cuRAND and PyTorch. It is a pure function of a 128-bit counter and a 64-bit key, so any thread on
/// any device computes the same numbers for the same (counter, key) without shared state.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;

    /// <summary>Computes ten Philox rounds over the counter <c>(c0, c1, c2, c3)</c> with the key <c>(k0, k1)</c>.</summary>
    /// <param name="c0">Word 0 of the counter.</param>
    /// <param name="c1">Word 1 of the counter.</param>
    /// <param name="c2">Word 2 of the counter.</param>
    /// <param name="c3">Word 3 of the counter.</param>
    /// <param name="k0">Word 0 of the key.</param>
    /// <param name="k1">Word 1 of the key.</param>
    /// <returns>Four independent, uniformly distributed 32-bit words.</returns>
    public static (uint X0, uint X1, uint X2, uint X3) Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }

            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }

        return (c0, c1, c2, c3);
    }
}
