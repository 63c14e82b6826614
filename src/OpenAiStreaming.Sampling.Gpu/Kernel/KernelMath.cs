using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>
/// The scalar pieces of the kernel, bit for bit those of the CPU sampler: Philox4x32-10, the packed candidate key
/// (logit descending, then id ascending, as one <see cref="ulong"/>), and <c>StrictlyBelow</c> for the min_p floor.
/// </summary>
internal static class KernelMath
{
    /// <summary>A key above every candidate: "keep everything" as a cut.</summary>
    public const ulong KeepAll = ulong.MaxValue;

    /// <summary>The first Philox word for counter <c>(step, id, 0, 0)</c> and key <c>(seed low, seed high)</c>.</summary>
    public static uint PhiloxX0(uint step, uint id, ulong seed)
    {
        uint c0 = step, c1 = id, c2 = 0, c3 = 0;
        uint k0 = (uint)seed;
        uint k1 = (uint)(seed >> 32);
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += 0x9E3779B9;
                k1 += 0xBB67AE85;
            }

            ulong p0 = 0xD2511F53UL * c0;
            ulong p1 = 0xCD9E8D57UL * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c0 = n0;
            c1 = (uint)p1;
            c2 = n2;
            c3 = (uint)p0;
        }

        return c0;
    }

    /// <summary>The race key of the CPU sampler: <c>(l - m) / T - ln(-ln u)</c>, <c>u = (X0 + 1) / 2^32</c>, in double.</summary>
    public static double RaceKey(float logit, uint x0, double max, double temperature)
    {
        double u = (x0 + 1.0) * (1.0 / 4294967296.0);
        return ((logit - max) / temperature) - Log(-Log(u));
    }

    /// <summary>
    /// e^x in double within about one unit in the last place (Cody-Waite reduction by ln 2, then a degree-13 Taylor
    /// polynomial on |r| &lt;= ln 2 / 2). The kernel's own: ILGPU's double Exp is a slow CORDIC routine.
    /// </summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x) || x > 709.782712893384)
        {
            return double.IsNaN(x) ? x : double.PositiveInfinity;
        }

        if (x < -745.2)
        {
            return 0;
        }

        double y = x * 1.4426950408889634;
        double k = (long)(y >= 0 ? y + 0.5 : y - 0.5);
        double r = (x - (k * 6.93147180369123816490e-01)) - (k * 1.90821492927058770002e-10);
        double p = 1.0 / 6227020800.0;
        p = (p * r) + (1.0 / 479001600.0);
        p = (p * r) + (1.0 / 39916800.0);
        p = (p * r) + (1.0 / 3628800.0);
        p = (p * r) + (1.0 / 362880.0);
        p = (p * r) + (1.0 / 40320.0);
        p = (p * r) + (1.0 / 5040.0);
        p = (p * r) + (1.0 / 720.0);
        p = (p * r) + (1.0 / 120.0);
        p = (p * r) + (1.0 / 24.0);
        p = (p * r) + (1.0 / 6.0);
        p = (p * r) + 0.5;
        p = (p * r) + 1.0;
        p = (p * r) + 1.0;
        int e = (int)k;
        if (e < -1020)
        {
            // Subnormal results: scale in two steps so that neither factor underflows.
            return p * PowerOfTwo(e + 60) * PowerOfTwo(-60);
        }

        return e > 1023 ? p * PowerOfTwo(e - 1) * 2.0 : p * PowerOfTwo(e);
    }

    /// <summary>
    /// ln x in double within about one unit in the last place (x = m 2^e with m in [sqrt 1/2, sqrt 2), then
    /// 2 atanh((m - 1) / (m + 1)) as an odd series); -infinity at 0 (either sign), NaN below 0.
    /// </summary>
    public static double Log(double x)
    {
        if (!(x > 0) || double.IsPositiveInfinity(x))
        {
            return x == 0 ? double.NegativeInfinity : x > 0 ? x : double.NaN;
        }

        int adjust = 0;
        if (x < 2.2250738585072014e-308)
        {
            x *= 18014398509481984.0;
            adjust = -54;
        }

        ulong bits = (ulong)ILGPU.Interop.FloatAsInt(x);
        int e = (int)((bits >> 52) & 0x7FF) - 1023 + adjust;
        double m = ILGPU.Interop.IntAsFloat((bits & 0x000F_FFFF_FFFF_FFFFUL) | 0x3FF0_0000_0000_0000UL);
        if (m > 1.4142135623730951)
        {
            m *= 0.5;
            e++;
        }

        double f = m - 1.0;
        double s = f / (2.0 + f);
        double z = s * s;
        double series = 1.0 / 23;
        series = (series * z) + (1.0 / 21);
        series = (series * z) + (1.0 / 19);
        series = (series * z) + (1.0 / 17);
        series = (series * z) + (1.0 / 15);
        series = (series * z) + (1.0 / 13);
        series = (series * z) + (1.0 / 11);
        series = (series * z) + (1.0 / 9);
        series = (series * z) + (1.0 / 7);
        series = (series * z) + (1.0 / 5);
        series = (series * z) + (1.0 / 3);

        // f - s f = 2s exactly in real numbers; writing 2s as f - s f keeps the leading term exact for small f.
        double logM = f - (s * (f - (series * z * 2.0)));
        return (e * 6.93147180369123816490e-01) + (logM + (e * 1.90821492927058770002e-10));
    }

    /// <summary>2^e for e in [-1022, 1023], built from its bits.</summary>
    public static double PowerOfTwo(int e) => ILGPU.Interop.IntAsFloat((ulong)(e + 1023) << 52);

    /// <summary>The key of a logit (not NaN) and its id; -0 and +0 give the same key.</summary>
    public static ulong Pack(float logit, int id)
    {
        uint bits = (uint)ILGPU.Interop.FloatAsInt(logit);
        if ((bits & 0x7FFF_FFFFu) == 0)
        {
            bits = 0;
        }

        uint ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)~ordered << 32) | (uint)id;
    }

    /// <summary>The id of a key.</summary>
    public static int Id(ulong key) => (int)(uint)key;

    /// <summary>The logit of a key.</summary>
    public static float Logit(ulong key)
    {
        uint ordered = ~(uint)(key >> 32);
        uint bits = (ordered & 0x8000_0000u) != 0 ? ordered & 0x7FFF_FFFFu : ~ordered;
        return ILGPU.Interop.IntAsFloat(bits);
    }

    /// <summary>The largest float <c>f</c> such that <c>x &gt; f</c> is the same as <c>x &gt;= a</c> for every float x.</summary>
    public static float StrictlyBelow(double a)
    {
        float c = (float)a;
        if (c < a)
        {
            c = BitIncrement(c);
        }

        return BitDecrement(c);
    }

    private static float BitIncrement(float x)
    {
        uint bits = (uint)ILGPU.Interop.FloatAsInt(x);
        if ((bits & 0x7F80_0000u) == 0x7F80_0000u)
        {
            return bits == 0xFF80_0000u ? -float.MaxValue : x;
        }

        if (bits == 0x8000_0000u)
        {
            return float.Epsilon;
        }

        return ILGPU.Interop.IntAsFloat((int)bits < 0 ? bits - 1 : bits + 1);
    }

    private static float BitDecrement(float x)
    {
        uint bits = (uint)ILGPU.Interop.FloatAsInt(x);
        if ((bits & 0x7F80_0000u) == 0x7F80_0000u)
        {
            return bits == 0x7F80_0000u ? float.MaxValue : x;
        }

        if (bits == 0)
        {
            return -float.Epsilon;
        }

        return ILGPU.Interop.IntAsFloat((int)bits < 0 ? bits + 1 : bits - 1);
    }
}
