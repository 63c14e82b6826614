using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OpenAiStreaming.Sampling;

/// <summary>
/// The draw: token <c>i</c> gets <c>u_i = (X0 + 1) / 2^32</c> from Philox with counter <c>(step, i, 0, 0)</c> and key
/// <c>(seed low, seed high)</c>, and the winner is the argmax of <c>(l_i - l_max) / T - ln(-ln u_i)</c> over the
/// survivors, ties to the lowest id, every key computed in double precision.
/// </summary>
/// <remarks>
/// Every survivor needs its Philox word (a <c>u_i</c> of exactly 1 wins outright), but few need the two logarithms:
/// since <c>-ln u &gt;= 1 - u</c>, token <c>i</c> can reach the best key <c>B</c> so far only if
/// <c>g_i = 2^32 - 1 - X0 &lt;= 2^32 exp(d_i - B)</c>, where <c>d_i = (l_i - l_max) / T</c>, which holds only if
/// <c>floor(log2 g_i) &lt;= 32 + (d_i - B) log2(e)</c> (or <c>g_i = 0</c>). The vector path computes Philox for eight tokens
/// at a time, reads <c>floor(log2 g_i)</c> from the exponent bits of <c>g_i</c> converted to double (no transcendental
/// function, at most twice as many tokens pass as with the exact bound), and computes the exact key only for the tokens
/// that pass.
/// </remarks>
internal static class ExponentialRace
{
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;

    /// <summary>
    /// The winner among the elements of <paramref name="logits"/> greater than <paramref name="floor"/>; the id of
    /// element <c>j</c> is <c>ids[j]</c>, or <c>j</c> when <paramref name="ids"/> is empty. -1 if none survives.
    /// </summary>
    public static int Run(ReadOnlySpan<float> logits, ReadOnlySpan<int> ids, float floor, double max, double temperature, ulong seed, int step)
    {
        uint k0 = (uint)seed;
        uint k1 = (uint)(seed >> 32);
        int best = -1;
        double bestKey = double.NegativeInfinity;
        int i = 0;
        // The ISA check, not Vector512.IsHardwareAccelerated: that one is false on CPUs where wide vectors lower the clock
        // (Skylake-SP, Cascade Lake), but for this multiply-bound loop 512 bits still win there.
        if (Avx512F.IsSupported && Avx512DQ.IsSupported)
        {
            i = RunVector512(logits, ids, floor, max, temperature, (uint)step, k0, k1, ref best, ref bestKey);
        }

        for (; i < logits.Length; i++)
        {
            float l = logits[i];
            if (l > floor)
            {
                Consider(ids.IsEmpty ? i : ids[i], l, max, temperature, Philox.Generate((uint)step, (uint)(ids.IsEmpty ? i : ids[i]), 0, 0, k0, k1).X0, ref best, ref bestKey);
            }
        }

        return best;
    }

    /// <summary>The exact race key of one token, and the update of the best so far (ties to the lower id).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Consider(int id, float logit, double max, double temperature, uint x0, ref int best, ref double bestKey)
    {
        double u = (x0 + 1.0) * (1.0 / 4294967296.0);
        double key = ((logit - max) / temperature) - Math.Log(-Math.Log(u));
        if (key > bestKey || (key == bestKey && (uint)id < (uint)best))
        {
            bestKey = key;
            best = id;
        }
    }

    private static int RunVector512(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> ids, float floor, double max, double temperature, uint step, uint k0, uint k1, ref int best, ref double bestKey)
    {
        ref float r = ref MemoryMarshal.GetReference(logits);
        ref int idRef = ref MemoryMarshal.GetReference(ids);
        bool iota = ids.IsEmpty;

        // Philox's first round, with counter (step, id, 0, 0), leaves c0 = id ^ k0, c1 = 0 and constant c2, c3.
        ulong p = (ulong)M0 * step;
        var c2First = Vector512.Create((p >> 32) ^ k1);
        var c3First = Vector512.Create((ulong)(uint)p);
        var key0 = Vector512.Create((ulong)k0);
        var lane = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        var floorV = Vector512.Create(floor);
        var maxV = Vector512.Create(max);

        // (l - max) / T in log2 units; the margin of 1e-6 is far above the error of multiplying instead of dividing.
        var log2Scale = Vector512.Create(1.4426950408889634 / temperature);
        var low32 = Vector512.Create(0xFFFF_FFFFUL);

        int i = 0;
        for (; i <= logits.Length - 16; i += 16)
        {
            Vector512<float> l = Vector512.LoadUnsafe(ref r, (nuint)i);
            ulong alive = Vector512.GreaterThan(l, floorV).ExtractMostSignificantBits();
            if (alive == 0)
            {
                continue;
            }

            (Vector512<double> lLow, Vector512<double> lHigh) = Vector512.Widen(l);
            Vector512<ulong> idLow, idHigh;
            if (iota)
            {
                idLow = Vector512.Create((ulong)i) + lane;
                idHigh = idLow + Vector512.Create(8UL);
            }
            else
            {
                (Vector512<long> a, Vector512<long> b) = Vector512.Widen(Vector512.LoadUnsafe(ref idRef, (nuint)i));
                idLow = a.AsUInt64();
                idHigh = b.AsUInt64();
            }

            for (int half = 0; half < 2; half++)
            {
                uint halfAlive = (uint)(alive >> (half * 8)) & 0xFF;
                if (halfAlive == 0)
                {
                    continue;
                }

                Vector512<ulong> x0 = PhiloxX0(half == 0 ? idLow : idHigh, key0, c2First, c3First, k0, k1);
                Vector512<ulong> gap = ~x0 & low32;

                // Exact for integers below 2^53; the exponent field minus 1023 is floor(log2 gap) for gap >= 1.
                Vector512<long> log2Gap = (Vector512.ConvertToDouble(gap).AsInt64() >>> 52) - Vector512.Create(1023L);
                Vector512<double> limit = (((half == 0 ? lLow : lHigh) - maxV) * log2Scale)
                    - Vector512.Create((bestKey * 1.4426950408889634) - 32 - 1e-6);
                Vector512<ulong> pass = Vector512.LessThanOrEqual(Vector512.ConvertToDouble(log2Gap), limit).AsUInt64()
                    | Vector512.Equals(gap, Vector512<ulong>.Zero);
                uint contenders = halfAlive & (uint)pass.ExtractMostSignificantBits();
                while (contenders != 0)
                {
                    int j = BitOperations.TrailingZeroCount(contenders);
                    int index = i + (half * 8) + j;
                    Consider(iota ? index : Unsafe.Add(ref idRef, index), Unsafe.Add(ref r, index), max, temperature, (uint)x0.GetElement(j), ref best, ref bestKey);
                    contenders &= contenders - 1;
                }
            }
        }

        return i;
    }

    /// <summary>The first Philox output word for eight counters <c>(step, id, 0, 0)</c>, one per 64-bit lane.</summary>
    /// <remarks>
    /// Lanes hold 32-bit words in their low halves; <c>vpmuludq</c> multiplies only those, so the high halves may carry
    /// garbage until the final mask.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> PhiloxX0(Vector512<ulong> id, Vector512<ulong> key0, Vector512<ulong> c2, Vector512<ulong> c3, uint k0, uint k1)
    {
        Vector512<uint> m0 = Vector512.Create((ulong)M0).AsUInt32();
        Vector512<uint> m1 = Vector512.Create((ulong)M1).AsUInt32();
        Vector512<ulong> c0 = id ^ key0;
        Vector512<ulong> c1 = Vector512<ulong>.Zero;
        for (int round = 1; round < 10; round++)
        {
            k0 += W0;
            k1 += W1;
            Vector512<ulong> p0 = Avx512F.Multiply(c0.AsUInt32(), m0);
            Vector512<ulong> p1 = Avx512F.Multiply(c2.AsUInt32(), m1);
            c0 = (p1 >>> 32) ^ c1 ^ Vector512.Create((ulong)k0);
            c1 = p1;
            c2 = (p0 >>> 32) ^ c3 ^ Vector512.Create((ulong)k1);
            c3 = p0;
        }

        return c0 & Vector512.Create(0xFFFF_FFFFUL);
    }
}
