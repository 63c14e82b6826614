using ILGPU;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>The maximum (NaN never compares greater) and the first id holding it, per thread.</summary>
internal struct MaxVisitor : IVisitor
{
    public float Max;
    public int Index;

    public void Visit(float value, int id)
    {
        if (value > Max)
        {
            Max = value;
            Index = id;
        }
    }
}

/// <summary>The sum of <c>exp(l - max)</c> in double over elements above negative infinity (the logprob normalizer).</summary>
internal struct SumExpVisitor : IVisitor
{
    public double Max;
    public double Sum;

    public void Visit(float value, int id)
    {
        if (value > float.NegativeInfinity)
        {
            Sum += KernelMath.Exp(value - Max);
        }
    }
}

/// <summary>Counts the elements equal to <see cref="Value"/>.</summary>
internal struct CountVisitor : IVisitor
{
    public float Value;
    public int Count;

    public void Visit(float value, int id)
    {
        if (value == Value)
        {
            Count++;
        }
    }
}

/// <summary>Copies the row to float scratch, where the patches then change a few logits.</summary>
internal struct CopyVisitor : IVisitor
{
    public ArrayView<float> Target;

    public void Visit(float value, int id) => Target[id] = value;
}

/// <summary>
/// One radix level: counts (and, for top_p, fixed-point masses) per 8-bit digit of the key at <see cref="Shift"/>,
/// over the survivors (above <see cref="Floor"/>, at or below <see cref="Base"/>) whose higher digits equal
/// <see cref="Prefix"/>. Integer atomics only, so the histogram is the same whatever the order of the threads.
/// </summary>
internal struct HistogramVisitor : IVisitor
{
    public float Floor;
    public ulong Base;
    public ulong Prefix;
    public int Shift;
    public bool ByMass;
    public bool FirstLevel;
    public bool DivideTotal;
    public double Max;
    public double Temperature;
    public double InverseTemperature;
    public double Scale;
    public ArrayView<int> Counts;
    public ArrayView<ulong> Masses;

    /// <summary>The first level's total mass of this thread's survivors (top_p's denominator).</summary>
    public double Total;

    public void Visit(float value, int id)
    {
        if (!(value > Floor))
        {
            return;
        }

        ulong key = KernelMath.Pack(value, id);
        if (key > Base || (!FirstLevel && (key >> (Shift + 8)) != Prefix))
        {
            return;
        }

        int bucket = (int)((key >> Shift) & 0xFF);
        Atomic.Add(ref Counts[bucket], 1);
        if (ByMass)
        {
            // After top_k the CPU divides by T; over a whole row its band pass multiplies by 1/T: the total follows it.
            double weight = DivideTotal ? KernelMath.Exp((value - Max) / Temperature) : KernelMath.Exp((value - Max) * InverseTemperature);
            Atomic.Add(ref Masses[bucket], (ulong)(weight * Scale));
            if (FirstLevel)
            {
                Total += weight;
            }
        }
    }
}

/// <summary>
/// Gathers the keys of the survivors in [<see cref="Low"/>, <see cref="High"/>] into shared memory (slot order
/// varies; a sort follows), and sums the exact mass of the survivors ranked before <see cref="Low"/>.
/// </summary>
internal struct GatherVisitor : IVisitor
{
    public float Floor;
    public ulong Base;
    public ulong Low;
    public ulong High;
    public bool ByMass;
    public double Max;
    public double Temperature;
    public ArrayView<ulong> Keys;
    public ArrayView<long> Slot;

    /// <summary>This thread's share of the mass ranked before <see cref="Low"/>.</summary>
    public double MassAbove;

    public void Visit(float value, int id)
    {
        if (!(value > Floor))
        {
            return;
        }

        ulong key = KernelMath.Pack(value, id);
        if (key > Base || key > High)
        {
            return;
        }

        if (key >= Low)
        {
            Keys[(int)Atomic.Add(ref Slot[0], 1L)] = key;
        }
        else if (ByMass)
        {
            MassAbove += KernelMath.Exp((value - Max) / Temperature);
        }
    }
}

/// <summary>
/// The exponential race over a row: survivors above <see cref="Floor"/> and at or below <see cref="Cut"/>. Since
/// <c>-ln u &gt;= 1 - u</c>, a token's key is at most <c>d + (32 - log2 g) ln 2</c> with <c>g = 2^32 - 1 - X0</c>, and
/// <c>floor(log2 g)</c> is the exponent of <c>g</c> as a double: a token whose bound (padded far beyond the rounding of
/// the double products) is below this thread's best skips the two logarithms, exactly as the CPU's vector race does.
/// The skip never changes the winner.
/// </summary>
internal struct RaceVisitor : IVisitor
{
    public float Floor;
    public ulong Cut;
    public double Max;
    public double Temperature;
    public double InverseTemperature;
    public uint Step;
    public ulong Seed;
    public double BestKey;
    public int Best;

    public void Visit(float value, int id)
    {
        if (!(value > Floor))
        {
            return;
        }

        if (Cut != KernelMath.KeepAll && KernelMath.Pack(value, id) > Cut)
        {
            return;
        }

        uint x0 = KernelMath.PhiloxX0(Step, (uint)id, Seed);
        uint gap = 0xFFFF_FFFFu - x0;
        if (gap != 0 && Best >= 0)
        {
            double d = (value - Max) * InverseTemperature;
            int log2Gap = (int)(((ulong)ILGPU.Interop.FloatAsInt((double)gap) >> 52) & 0x7FF) - 1023;
            double bound = d + ((32 - log2Gap) * 0.6931471805599453) + 1e-6 + (1e-9 * Math.Abs(d));
            if (bound < BestKey)
            {
                return;
            }
        }

        double key = KernelMath.RaceKey(value, x0, Max, Temperature);
        if (GroupReduce.Beats(key, id, BestKey, Best))
        {
            BestKey = key;
            Best = id;
        }
    }
}
