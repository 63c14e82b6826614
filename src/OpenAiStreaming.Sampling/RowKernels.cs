using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OpenAiStreaming.Sampling;

/// <summary>
/// The O(V) passes over a row of logits, vectorized with <see cref="Vector512"/> or <see cref="Vector256"/> where the
/// hardware has them (scalar otherwise and for the tail). NaN never compares greater than anything, so every pass here
/// treats it as negative infinity without rewriting the row.
/// </summary>
internal static class RowKernels
{
    /// <summary>The largest value, ignoring NaN; negative infinity when there is none.</summary>
    public static float Max(ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && x.Length >= 64)
        {
            // MaxNative is one instruction; its NaN handling is left to the platform, so NaN is detected beside it and
            // the rare row that has one takes the sanitizing loop.
            Vector512<float> a0 = Vector512.Create(float.NegativeInfinity), a1 = a0, a2 = a0, a3 = a0;
            Vector512<float> nan = Vector512<float>.Zero;
            for (; i <= x.Length - 64; i += 64)
            {
                Vector512<float> v0 = Vector512.LoadUnsafe(ref r, (nuint)i);
                Vector512<float> v1 = Vector512.LoadUnsafe(ref r, (nuint)i + 16);
                Vector512<float> v2 = Vector512.LoadUnsafe(ref r, (nuint)i + 32);
                Vector512<float> v3 = Vector512.LoadUnsafe(ref r, (nuint)i + 48);
                a0 = Vector512.MaxNative(a0, v0);
                a1 = Vector512.MaxNative(a1, v1);
                a2 = Vector512.MaxNative(a2, v2);
                a3 = Vector512.MaxNative(a3, v3);
                nan |= ~(Vector512.Equals(v0, v0) & Vector512.Equals(v1, v1) & Vector512.Equals(v2, v2) & Vector512.Equals(v3, v3));
            }

            if (nan != Vector512<float>.Zero)
            {
                return MaxSanitized(x);
            }

            max = Reduce(Vector512.MaxNative(Vector512.MaxNative(a0, a1), Vector512.MaxNative(a2, a3)));
        }
        else if (Vector256.IsHardwareAccelerated && x.Length >= 32)
        {
            Vector256<float> a0 = Vector256.Create(float.NegativeInfinity), a1 = a0, a2 = a0, a3 = a0;
            Vector256<float> nan = Vector256<float>.Zero;
            for (; i <= x.Length - 32; i += 32)
            {
                Vector256<float> v0 = Vector256.LoadUnsafe(ref r, (nuint)i);
                Vector256<float> v1 = Vector256.LoadUnsafe(ref r, (nuint)i + 8);
                Vector256<float> v2 = Vector256.LoadUnsafe(ref r, (nuint)i + 16);
                Vector256<float> v3 = Vector256.LoadUnsafe(ref r, (nuint)i + 24);
                a0 = Vector256.MaxNative(a0, v0);
                a1 = Vector256.MaxNative(a1, v1);
                a2 = Vector256.MaxNative(a2, v2);
                a3 = Vector256.MaxNative(a3, v3);
                nan |= ~(Vector256.Equals(v0, v0) & Vector256.Equals(v1, v1) & Vector256.Equals(v2, v2) & Vector256.Equals(v3, v3));
            }

            if (nan != Vector256<float>.Zero)
            {
                return MaxSanitized(x);
            }

            Vector256<float> a = Vector256.MaxNative(Vector256.MaxNative(a0, a1), Vector256.MaxNative(a2, a3));
            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                max = MaxScalar(max, a.GetElement(lane));
            }
        }

        for (; i < x.Length; i++)
        {
            max = MaxScalar(max, Unsafe.Add(ref r, i));
        }

        return max;
    }

    /// <summary>The index of the first element equal to <paramref name="value"/> (-0 equals +0); -1 if none.</summary>
    public static int IndexOfFirst(ReadOnlySpan<float> x, float value)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> v = Vector512.Create(value);
            for (; i <= x.Length - 16; i += 16)
            {
                ulong bits = Vector512.Equals(Vector512.LoadUnsafe(ref r, (nuint)i), v).ExtractMostSignificantBits();
                if (bits != 0)
                {
                    return i + BitOperations.TrailingZeroCount(bits);
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> v = Vector256.Create(value);
            for (; i <= x.Length - 8; i += 8)
            {
                uint bits = Vector256.Equals(Vector256.LoadUnsafe(ref r, (nuint)i), v).ExtractMostSignificantBits();
                if (bits != 0)
                {
                    return i + BitOperations.TrailingZeroCount(bits);
                }
            }
        }

        for (; i < x.Length; i++)
        {
            if (Unsafe.Add(ref r, i) == value)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Appends a <see cref="CandidateKey"/> for every element greater than <paramref name="floor"/>, in id order. With
    /// <paramref name="k"/> above 0 only the k best are wanted: whenever <paramref name="compactAt"/> keys have piled
    /// up they are cut to the k best and the floor rises to the k-th logit (later ids lose ties, so equal logits are out
    /// too), which keeps the work linear and the buffer small.
    /// </summary>
    /// <returns>The number of keys written to the front of <paramref name="keys"/>.</returns>
    public static int Collect(ReadOnlySpan<float> x, float floor, int k, int compactAt, Span<ulong> keys)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int n = 0;
        int i = 0;

        // Room for a whole vector of hits past the compaction point.
        int limit = k > 0 && compactAt + 16 <= keys.Length ? Math.Max(compactAt, k + 1) : int.MaxValue;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 16; i += 16)
            {
                ulong bits = Vector512.GreaterThan(Vector512.LoadUnsafe(ref r, (nuint)i), Vector512.Create(floor)).ExtractMostSignificantBits();
                if (bits == 0)
                {
                    continue;
                }

                do
                {
                    int j = i + BitOperations.TrailingZeroCount(bits);
                    keys[n++] = CandidateKey.Pack(Unsafe.Add(ref r, j), j);
                    bits &= bits - 1;
                }
                while (bits != 0);

                if (n >= limit)
                {
                    floor = Compact(keys, ref n, k, floor);
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 8; i += 8)
            {
                uint bits = Vector256.GreaterThan(Vector256.LoadUnsafe(ref r, (nuint)i), Vector256.Create(floor)).ExtractMostSignificantBits();
                if (bits == 0)
                {
                    continue;
                }

                do
                {
                    int j = i + BitOperations.TrailingZeroCount(bits);
                    keys[n++] = CandidateKey.Pack(Unsafe.Add(ref r, j), j);
                    bits &= bits - 1;
                }
                while (bits != 0);

                if (n >= limit)
                {
                    floor = Compact(keys, ref n, k, floor);
                }
            }
        }

        for (; i < x.Length; i++)
        {
            float l = Unsafe.Add(ref r, i);
            if (l > floor)
            {
                keys[n++] = CandidateKey.Pack(l, i);
                if (n >= limit)
                {
                    floor = Compact(keys, ref n, k, floor);
                }
            }
        }

        return n;
    }

    /// <summary>
    /// The sum of <c>exp(x_i - max)</c> over the row (NaN and negative infinity count 0), in float lanes and a double
    /// total: the normalizer of the reported log-probabilities.
    /// </summary>
    public static double SumExp(ReadOnlySpan<float> x, float max)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        int i = 0;
        double sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> m = Vector512.Create(max);
            Vector512<float> a = Vector512<float>.Zero;
            for (; i <= x.Length - 16; i += 16)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref r, (nuint)i);
                a += Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512.Create(float.NegativeInfinity)), Vector512.Exp(v - m), Vector512<float>.Zero);
                if ((i & 0xFFF) == 0xFF0)
                {
                    // Keep float partial sums short so that rounding stays far below what a float logprob can show.
                    sum += Vector512.Sum(Vector512.WidenLower(a)) + Vector512.Sum(Vector512.WidenUpper(a));
                    a = Vector512<float>.Zero;
                }
            }

            sum += Vector512.Sum(Vector512.WidenLower(a)) + Vector512.Sum(Vector512.WidenUpper(a));
        }

        for (; i < x.Length; i++)
        {
            float l = Unsafe.Add(ref r, i);
            if (l > float.NegativeInfinity)
            {
                sum += Math.Exp((double)l - max);
            }
        }

        return sum;
    }

    /// <summary>Counts the elements equal to <paramref name="value"/>.</summary>
    public static int Count(ReadOnlySpan<float> x, float value)
    {
        int count = 0;
        foreach (float l in x)
        {
            if (l == value)
            {
                count++;
            }
        }

        return count;
    }

    private static float Compact(Span<ulong> keys, ref int n, int k, float floor)
    {
        KeySelection.SelectSmallest(keys[..n], k);
        n = k;
        return Math.Max(floor, CandidateKey.Logit(keys[k - 1]));
    }

    private static float MaxSanitized(ReadOnlySpan<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (float l in x)
        {
            max = MaxScalar(max, l);
        }

        return max;
    }

    private static float Reduce(Vector512<float> a)
    {
        float max = float.NegativeInfinity;
        for (int lane = 0; lane < Vector512<float>.Count; lane++)
        {
            max = MaxScalar(max, a.GetElement(lane));
        }

        return max;
    }

    /// <summary>max(a, b) where b may be NaN (then a).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxScalar(float a, float b) => b > a ? b : a;
}
