using System.Runtime.CompilerServices;
using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>What a cut search looks for: the k best survivors (count mode) or the shortest best prefix reaching top_p of the mass.</summary>
internal struct CutQuery
{
    /// <summary>Survivors are above this.</summary>
    public float Floor;

    /// <summary>...and at or below this key (the previous cut).</summary>
    public ulong Base;

    /// <summary>top_p (mass) rather than top_k (count).</summary>
    public bool ByMass;

    /// <summary>Count mode: how many to keep.</summary>
    public long K;

    /// <summary>Mass mode: the share of the mass to reach.</summary>
    public double TopP;

    /// <summary>Mass mode: the total's weights divide by T (after top_k, as the CPU's sorted path) or multiply by 1/T (a whole row).</summary>
    public bool DivideTotal;

    public double Max;
    public double Temperature;

    /// <summary>Fixed-point scale of the bucket masses: 2^(63 - bits of the vocabulary size), so no sum can overflow.</summary>
    public double Scale;
}

/// <summary>
/// Finds a cut in the ranking (logit descending, id ascending) without sorting the row: a radix descent over the
/// 64-bit key, 8 bits per level, one pass per level, until the bucket holding the cut fits in shared memory; then the
/// bucket is gathered, sorted (bitonic) and cut exactly as the CPU cuts its sorted candidates.
/// </summary>
internal static class CutSearch
{
    /// <summary>
    /// The key of the last survivor (keep keys at or below it). <paramref name="gathered"/> is the number of survivors left
    /// sorted in <c>shared.Keys</c> when they are all there, else -1.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Find<TRow>(in TRow row, in GroupShared shared, in CutQuery q, out int gathered)
        where TRow : struct, IRow
    {
        int tid = Group.IdxX;
        ulong prefix = 0;
        long countAbove = 0;
        ulong massAbove = 0;
        double target = q.K;
        double scaledTarget = 0;
        for (int level = 0; level < 8; level++)
        {
            int shift = 56 - (8 * level);
            for (int b = tid; b < GroupShared.Buckets; b += Group.DimX)
            {
                shared.Counts[b] = 0;
                shared.Masses[b] = 0;
            }

            Group.Barrier();
            var histogram = new HistogramVisitor
            {
                Floor = q.Floor,
                Base = q.Base,
                Prefix = prefix,
                Shift = shift,
                ByMass = q.ByMass,
                FirstLevel = level == 0,
                DivideTotal = q.DivideTotal,
                Max = q.Max,
                Temperature = q.Temperature,
                InverseTemperature = 1.0 / q.Temperature,
                Scale = q.Scale,
                Counts = shared.Counts,
                Masses = shared.Masses,
            };
            RowPass.Run(row, ref histogram);
            Group.Barrier();
            if (q.ByMass && level == 0)
            {
                target = q.TopP * GroupReduce.Sum(histogram.Total, shared);
                scaledTarget = target * q.Scale;
            }

            if (tid == 0)
            {
                // 256 buckets: one thread walks them in rank order, the cheapest fixed-order scan.
                long count = countAbove;
                ulong mass = massAbove;
                int crossing = GroupShared.Buckets;
                for (int b = 0; b < GroupShared.Buckets; b++)
                {
                    int c = shared.Counts[b];
                    ulong m = shared.Masses[b];
                    bool reached = q.ByMass ? (double)(mass + m) >= scaledTarget : count + c >= q.K;
                    if (reached && c > 0)
                    {
                        crossing = b;
                        break;
                    }

                    count += c;
                    mass += m;
                }

                shared.Scalars[0] = crossing;
                shared.Scalars[1] = count;
                shared.Scalars[2] = crossing < GroupShared.Buckets ? shared.Counts[crossing] : 0;
                shared.Scalars[3] = (long)mass;
            }

            Group.Barrier();
            int cross = (int)shared.Scalars[0];
            long before = shared.Scalars[1];
            long inBucket = shared.Scalars[2];
            ulong massBefore = (ulong)shared.Scalars[3];
            Group.Barrier();
            if (cross == GroupShared.Buckets)
            {
                // Never reached (fewer than k survivors; or rounding left the mass a hair short): keep them all.
                gathered = -1;
                if (!q.ByMass && before <= GroupShared.Capacity)
                {
                    gathered = Gather(row, shared, q, 0, KernelMath.KeepAll, out _);
                    Sort(shared, gathered);
                }

                return q.Base;
            }

            ulong low = ((prefix << 8) | (uint)cross) << shift;
            ulong high = low | (shift == 0 ? 0 : (1UL << shift) - 1);
            if (before + inBucket <= GroupShared.Capacity)
            {
                // Everything up to the crossing bucket fits: rank it all and cut from the top, as the CPU's sorted path.
                int n = Gather(row, shared, q, 0, high, out _);
                Sort(shared, n);
                int take = Take(shared, q, n, 0, target);
                gathered = take;
                return shared.Keys[take - 1];
            }

            if (inBucket <= GroupShared.Capacity)
            {
                int n = Gather(row, shared, q, low, high, out double exactAbove);
                Sort(shared, n);
                int take = q.ByMass ? Take(shared, q, n, exactAbove, target) : (int)(q.K - before);
                ulong cut = shared.Keys[take - 1];
                Group.Barrier();
                gathered = -1;
                if (!q.ByMass && q.K <= GroupShared.Capacity)
                {
                    gathered = Gather(row, shared, q, 0, cut, out _);
                    Sort(shared, gathered);
                }

                return cut;
            }

            prefix = (prefix << 8) | (uint)cross;
            countAbove = before;
            massAbove = massBefore;
        }

        // Unreachable: keys are distinct, so the last level's bucket holds one key.
        gathered = -1;
        return q.Base;
    }

    /// <summary>Gathers the survivors with keys in [low, high] into shared memory; returns their number.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Gather<TRow>(in TRow row, in GroupShared shared, in CutQuery q, ulong low, ulong high, out double massAbove)
        where TRow : struct, IRow
    {
        if (Group.IdxX == 0)
        {
            shared.Scalars[4] = 0;
        }

        Group.Barrier();
        var gather = new GatherVisitor
        {
            Floor = q.Floor,
            Base = q.Base,
            Low = low,
            High = high,
            ByMass = q.ByMass && low != 0,
            Max = q.Max,
            Temperature = q.Temperature,
            Keys = shared.Keys,
            Slot = shared.Scalars.SubView(4, 1),
        };
        RowPass.Run(row, ref gather);
        Group.Barrier();
        int n = (int)shared.Scalars[4];
        massAbove = q.ByMass && low != 0 ? GroupReduce.Sum(gather.MassAbove, shared) : 0;
        Group.Barrier();
        return n;
    }

    /// <summary>
    /// How many of the sorted keys to keep: k minus those ranked before them (count mode), or up to the first whose
    /// running mass from <paramref name="above"/> reaches <paramref name="target"/> (mass mode).
    /// </summary>
    private static int Take(in GroupShared shared, in CutQuery q, int n, double above, double target) =>
        q.ByMass ? TakeByMass(shared, n, above, target, q.Max, q.Temperature) : (int)Math.Min(q.K, n);

    /// <summary>
    /// The CPU's sorted top_p loop over <c>shared.Keys[0, n)</c>: the running mass from <paramref name="above"/>, in rank
    /// order, up to the first key where it reaches <paramref name="target"/>; all of them if rounding leaves it short.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int TakeByMass(in GroupShared shared, int n, double above, double target, double max, double temperature)
    {
        if (Group.IdxX == 0)
        {
            double cumulative = above;
            int take = n;
            for (int j = 0; j < n; j++)
            {
                cumulative += KernelMath.Exp((KernelMath.Logit(shared.Keys[j]) - max) / temperature);
                if (cumulative >= target)
                {
                    take = j + 1;
                    break;
                }
            }

            shared.Scalars[5] = take;
        }

        Group.Barrier();
        int result = (int)shared.Scalars[5];
        Group.Barrier();
        return result;
    }

    /// <summary>Sorts <c>shared.Keys[0, n)</c> ascending: bitonic over the next power of two, padded with the largest key.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Sort(in GroupShared shared, int n)
    {
        int size = 1;
        while (size < n)
        {
            size <<= 1;
        }

        for (int i = n + Group.IdxX; i < size; i += Group.DimX)
        {
            shared.Keys[i] = ulong.MaxValue;
        }

        Group.Barrier();
        for (int k = 2; k <= size; k <<= 1)
        {
            for (int j = k >> 1; j > 0; j >>= 1)
            {
                for (int i = Group.IdxX; i < size; i += Group.DimX)
                {
                    int partner = i ^ j;
                    if (partner > i)
                    {
                        ulong a = shared.Keys[i];
                        ulong b = shared.Keys[partner];
                        bool ascending = (i & k) == 0;
                        if ((a > b) == ascending)
                        {
                            shared.Keys[i] = b;
                            shared.Keys[partner] = a;
                        }
                    }
                }

                Group.Barrier();
            }
        }
    }
}
