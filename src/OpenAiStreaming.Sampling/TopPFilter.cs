using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OpenAiStreaming.Sampling;

/// <summary>
/// top_p over candidates that already passed min_p and top_k: keeps the smallest set of most likely candidates whose
/// probability mass (renormalized over the candidates) reaches top_p, the crossing candidate included.
/// </summary>
/// <remarks>
/// Probabilities are <c>exp((l_i - l_max) / T)</c> in double. Small sets are sorted and summed in rank order. Large
/// sets (top_p alone over a whole vocabulary) are cut by a radix select on the rank word of their keys that sums the
/// mass per bucket (three passes of 11, 11 and 10 bits, each over the shrinking crossing bucket), which is linear; its
/// sums add the same terms in another order, so the cut can differ from the sorted one only where the mass lands
/// within a few units in the last place of a double from the threshold.
/// </remarks>
internal static class TopPFilter
{
    /// <summary>
    /// Moves the survivors to the front of <paramref name="keys"/> and returns their count.
    /// </summary>
    /// <param name="keys">The candidates, in any order.</param>
    /// <param name="max">The largest logit of the row.</param>
    /// <param name="temperature">The temperature.</param>
    /// <param name="topP">The mass to reach.</param>
    /// <param name="sortLimit">The largest set handled by sorting.</param>
    /// <param name="weights">Scratch with room for a weight per candidate.</param>
    /// <param name="scratch">Scratch with room for a key per candidate.</param>
    /// <param name="histogram">Scratch with room for 2048 bucket masses.</param>
    public static int Apply(Span<ulong> keys, double max, double temperature, double topP, int sortLimit, Span<double> weights, Span<ulong> scratch, Span<double> histogram)
    {
        int n = keys.Length;
        if (n <= 1)
        {
            return n;
        }

        weights = weights[..n];
        if (n <= sortLimit)
        {
            keys.Sort();
            double total = 0;
            for (int i = 0; i < n; i++)
            {
                weights[i] = Math.Exp((CandidateKey.Logit(keys[i]) - max) / temperature);
                total += weights[i];
            }

            double threshold = topP * total;
            double cumulative = 0;
            for (int i = 0; i < n; i++)
            {
                cumulative += weights[i];
                if (cumulative >= threshold)
                {
                    return i + 1;
                }
            }

            // Rounding can leave the sum a hair below the threshold; then everything is kept.
            return n;
        }

        for (int i = 0; i < n; i++)
        {
            weights[i] = CandidateKey.Logit(keys[i]) - max;
        }

        TensorPrimitives.Divide(weights, temperature, weights);
        TensorPrimitives.Exp(weights, weights);
        return RadixCut(keys, weights, topP * TensorPrimitives.Sum(weights), scratch, histogram);
    }

    /// <summary>
    /// top_p straight over a row (no top_k before it): survivors of min_p are the elements above <paramref name="floor"/>.
    /// One vector pass computes the total mass in double and the mass above six bands (<c>d &gt;= -1, -2, ..., -32</c> with
    /// <c>d = (l - max) / T</c>); the nucleus lies inside the narrowest band whose mass reaches top_p, so only that band is
    /// collected and ranked, against the row's total.
    /// </summary>
    /// <returns>The number of survivor keys written to the front of <paramref name="keys"/>.</returns>
    public static int ApplyToRow(
        ReadOnlySpan<float> x, float floor, double max, double temperature, double topP, int sortLimit, Span<ulong> keys, Span<double> weights, Span<ulong> scratch, Span<double> histogram)
    {
        const int Bands = 6;
        Span<double> bandMass = stackalloc double[Bands];
        double total = BandMasses(x, floor, max, temperature, bandMass);
        double target = topP * total;

        // The margin covers the rounding of the band sums, so that the collected band surely holds the nucleus.
        int band = -1;
        for (int j = 0; j < Bands; j++)
        {
            if (bandMass[j] >= target * (1 + 1e-9))
            {
                band = j;
                break;
            }
        }

        if (band >= 0)
        {
            // Collect a hair below the band's edge, so that every token the band sum counted is in.
            floor = Math.Max(floor, CpuSampler.StrictlyBelow(max + (temperature * (-(1 << band) - 1e-6))));
        }

        int n = RowKernels.Collect(x, floor, 0, int.MaxValue, keys);
        keys = keys[..n];
        if (n <= sortLimit)
        {
            keys.Sort();
            double cumulative = 0;
            for (int i = 0; i < n; i++)
            {
                cumulative += Math.Exp((CandidateKey.Logit(keys[i]) - max) / temperature);
                if (cumulative >= target)
                {
                    return i + 1;
                }
            }

            return n;
        }

        weights = weights[..n];
        for (int i = 0; i < n; i++)
        {
            weights[i] = CandidateKey.Logit(keys[i]) - max;
        }

        TensorPrimitives.Divide(weights, temperature, weights);
        TensorPrimitives.Exp(weights, weights);
        return RadixCut(keys, weights, target, scratch, histogram);
    }

    /// <summary>The total mass of the elements above <paramref name="floor"/>, and in <paramref name="bandMass"/> the mass with <c>d &gt;= -2^j</c>.</summary>
    private static double BandMasses(ReadOnlySpan<float> x, float floor, double max, double temperature, Span<double> bandMass)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        double inverseT = 1.0 / temperature;
        double total = 0;
        bandMass.Clear();
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(max);
            var s = Vector256.Create(inverseT);
            var f = Vector256.Create((double)floor);
            Vector256<double> sum = Vector256<double>.Zero, b0 = sum, b1 = sum, b2 = sum, b3 = sum, b4 = sum, b5 = sum;
            for (; i <= x.Length - 8; i += 8)
            {
                Vector256<float> l = Vector256.LoadUnsafe(ref r, (nuint)i);
                for (int half = 0; half < 2; half++)
                {
                    Vector256<double> lw = half == 0 ? Vector256.WidenLower(l) : Vector256.WidenUpper(l);
                    Vector256<double> d = (lw - m) * s;
                    Vector256<double> w = Vector256.ConditionalSelect(Vector256.GreaterThan(lw, f), Vector256.Exp(d), Vector256<double>.Zero);
                    sum += w;
                    b0 += w & Vector256.GreaterThanOrEqual(d, Vector256.Create(-1.0));
                    b1 += w & Vector256.GreaterThanOrEqual(d, Vector256.Create(-2.0));
                    b2 += w & Vector256.GreaterThanOrEqual(d, Vector256.Create(-4.0));
                    b3 += w & Vector256.GreaterThanOrEqual(d, Vector256.Create(-8.0));
                    b4 += w & Vector256.GreaterThanOrEqual(d, Vector256.Create(-16.0));
                    b5 += w & Vector256.GreaterThanOrEqual(d, Vector256.Create(-32.0));
                }
            }

            total = Vector256.Sum(sum);
            bandMass[0] = Vector256.Sum(b0);
            bandMass[1] = Vector256.Sum(b1);
            bandMass[2] = Vector256.Sum(b2);
            bandMass[3] = Vector256.Sum(b3);
            bandMass[4] = Vector256.Sum(b4);
            bandMass[5] = Vector256.Sum(b5);
        }

        for (; i < x.Length; i++)
        {
            float l = Unsafe.Add(ref r, i);
            if (l > floor)
            {
                double d = (l - max) * inverseT;
                double w = Math.Exp(d);
                total += w;
                for (int j = 0; j < bandMass.Length; j++)
                {
                    if (d >= -(1 << j))
                    {
                        bandMass[j] += w;
                    }
                }
            }
        }

        return total;
    }

    private static int RadixCut(Span<ulong> keys, Span<double> weights, double target, Span<ulong> scratch, Span<double> histogram)
    {
        // Accepted keys go to scratch[0..accepted); the crossing bucket is compacted in place at the front of keys.
        int accepted = 0;
        int active = keys.Length;
        double massAbove = 0;
        histogram = histogram[..2048];
        for (int level = 0; level < 3; level++)
        {
            // Bits 31-21, then 20-10, then 9-0.
            int shift = level == 0 ? 21 : level == 1 ? 10 : 0;
            uint mask = level == 2 ? 0x3FFu : 0x7FFu;
            Span<double> buckets = histogram[..(int)(mask + 1)];
            buckets.Clear();
            for (int i = 0; i < active; i++)
            {
                buckets[(int)((CandidateKey.Rank(keys[i]) >> shift) & mask)] += weights[i];
            }

            // Ascending rank means descending logit: walk buckets from the most likely.
            int crossing = 0;
            double cumulative = massAbove;
            while (crossing < buckets.Length && cumulative + buckets[crossing] < target)
            {
                cumulative += buckets[crossing];
                crossing++;
            }

            if (crossing == buckets.Length)
            {
                // Rounding left the total a hair below the target: keep everything.
                keys[..active].CopyTo(scratch[accepted..]);
                accepted += active;
                scratch[..accepted].CopyTo(keys);
                return accepted;
            }

            int kept = 0;
            for (int i = 0; i < active; i++)
            {
                int bucket = (int)((CandidateKey.Rank(keys[i]) >> shift) & mask);
                if (bucket < crossing)
                {
                    scratch[accepted++] = keys[i];
                }
                else if (bucket == crossing)
                {
                    keys[kept] = keys[i];
                    weights[kept] = weights[i];
                    kept++;
                }
            }

            massAbove = cumulative;
            active = kept;
        }

        // The crossing bucket now holds equal logits, hence equal weights: the lowest ids cross first.
        int take = 0;
        double mass = massAbove;
        do
        {
            mass += weights[0];
            take++;
        }
        while (mass < target && take < active);

        KeySelection.SelectSmallest(keys[..active], take);
        keys[..take].CopyTo(scratch[accepted..]);
        accepted += take;
        scratch[..accepted].CopyTo(keys);
        return accepted;
    }
}
