using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace OpenAiStreaming.Sampling.Gpu.Kernel;

/// <summary>
/// The sampler kernel: one group per row, <see cref="GroupSize"/> threads, CpuSampler's rules step for step (see
/// <c>docs/sampling.md</c>). One entry point; the element type of the logits is an argument.
/// </summary>
internal static class SamplerKernel
{
    /// <summary>Threads per group: eight warps of 32.</summary>
    public const int GroupSize = 256;

    /// <summary>Temperatures at or below this are greedy (SamplingParams.GreedyTemperature).</summary>
    private const float GreedyTemperature = 1e-5f;

    /// <summary>The kernel's name in the PTX that <c>GpuSampler.GeneratePtx</c> returns.</summary>
    public const string EntryPointName = "SampleRows";

    /// <summary>The entry point: row <c>Grid.IdxX</c> of the batch, read as the element type the arguments name.</summary>
    public static void SampleRows(KernelArguments a)
    {
        GroupShared shared = GroupShared.Allocate();
        long start = Grid.IdxX * a.RowStride;
        long end = start + a.Vocab;
        bool vectorized = (a.Vectorized & KernelArguments.VectorizedLogits) != 0;
        if (a.ElementType == KernelArguments.Float32)
        {
            ArrayView<float> all = a.Logits.Cast<float>();
            ArrayView<Float4> quads = vectorized ? all.SubView(start, a.Vocab & ~3).Cast<Float4>().AsAligned16() : default;
            Sample(new Float32Row(all.SubView(start, end - start), quads), a.Outputs, a.Vectorized, shared);
        }
        else
        {
            ArrayView<ushort> all = a.Logits.Cast<ushort>();
            ArrayView<ushort> row = all.SubView(start, end - start);
            ArrayView<Short4> quads = vectorized ? all.SubView(start, a.Vocab & ~3).Cast<Short4>().AsAligned(8) : default;
            if (a.ElementType == KernelArguments.Float16)
            {
                Sample(new Float16Row(row, quads), a.Outputs, a.Vectorized, shared);
            }
            else
            {
                Sample(new BFloat16Row(row, quads), a.Outputs, a.Vectorized, shared);
            }
        }
    }

    private static void Sample<TRow>(in TRow row, in RowOutputs o, int vectorized, in GroupShared shared)
        where TRow : struct, IRow
    {
        int r = Grid.IdxX;
        GpuRowParameters p = o.Rows[r];
        if (p.PatchCount > 0 && o.Scratch.Length > 0)
        {
            // Bias and penalties change a few logits: work on a float copy so that the caller's logits stay intact.
            ArrayView<float> copy = o.Scratch.SubView((long)r * row.Length, row.Length);
            var visitor = new CopyVisitor { Target = copy };
            RowPass.Run(row, ref visitor);
            Group.Barrier();
            for (int j = Group.IdxX; j < p.PatchCount; j += Group.DimX)
            {
                ApplyPatch(copy, o.Patches[p.PatchOffset + j], p);
            }

            Group.Barrier();
            bool aligned = (vectorized & KernelArguments.VectorizedScratch) != 0 && (((long)r * row.Length) & 3) == 0;
            ArrayView<Float4> quads = aligned ? copy.SubView(0, row.Length & ~3).Cast<Float4>().AsAligned16() : default;
            SampleRow(new Float32Row(copy, quads), p, o, shared);
        }
        else
        {
            SampleRow(row, p, o, shared);
        }
    }

    /// <summary>CpuSampler.SampleRow and ApplyPenalties for one patch: bias, repetition, then frequency and presence in double.</summary>
    private static void ApplyPatch(ArrayView<float> row, GpuLogitPatch patch, in GpuRowParameters p)
    {
        if (patch.Token < 0 || patch.Token >= row.Length)
        {
            return;
        }

        float l = row[patch.Token];
        if ((patch.Flags & GpuLogitPatch.HasBias) != 0)
        {
            l += patch.Bias;
        }

        if ((patch.Flags & GpuLogitPatch.Seen) != 0)
        {
            l = l > 0f ? l / p.RepetitionPenalty : l * p.RepetitionPenalty;
            if (patch.Count != 0)
            {
                l = (float)(l - ((double)p.FrequencyPenalty * patch.Count) - p.PresencePenalty);
            }
        }

        row[patch.Token] = l;
    }

    private static void SampleRow<TRow>(in TRow row, in GpuRowParameters p, in RowOutputs o, in GroupShared shared)
        where TRow : struct, IRow
    {
        int r = Grid.IdxX;
        var maxVisitor = new MaxVisitor { Max = float.NegativeInfinity, Index = -1 };
        RowPass.Run(row, ref maxVisitor);
        double maxKey = maxVisitor.Max;
        int maxIndex = maxVisitor.Index;
        GroupReduce.ArgMax(ref maxKey, ref maxIndex, shared);
        float max = (float)maxKey;

        int token;
        if (p.Temperature <= GreedyTemperature || float.IsInfinity(max))
        {
            // An infinite maximum means a +infinity logit (lowest such id) or nothing but -infinity and NaN (id 0).
            token = max == float.NegativeInfinity ? 0 : maxIndex;
        }
        else
        {
            token = Draw(row, p, max, shared);
        }

        bool wants = (p.Flags & GpuRowParameters.WantLogprob) != 0 || p.TopLogprobs > 0;
        if (!wants)
        {
            if (Group.IdxX == 0)
            {
                o.Tokens[r] = token;
                if (o.Logprobs.Length > 0)
                {
                    o.Logprobs[r] = float.NaN;
                }

                if (o.TopCounts.Length > 0)
                {
                    o.TopCounts[r] = 0;
                }
            }

            return;
        }

        Logprobs(row, p, o, shared, token, max);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Draw<TRow>(in TRow row, in GpuRowParameters p, float max, in GroupShared shared)
        where TRow : struct, IRow
    {
        double m = max;
        double t = p.Temperature;
        float floor = p.MinP > 0 ? KernelMath.StrictlyBelow(m + p.MinPLogitOffset) : float.NegativeInfinity;
        var q = new CutQuery
        {
            Floor = floor,
            Base = KernelMath.KeepAll,
            Max = m,
            Temperature = t,
            Scale = FixedPointScale(row.Length),
        };

        ulong cut = KernelMath.KeepAll;
        int gathered = -1;
        if (p.TopK > 0)
        {
            q.K = p.TopK;
            cut = CutSearch.Find(row, shared, q, out gathered);
            if (p.TopP < 1f && gathered > 1)
            {
                gathered = TopPOfSorted(shared, gathered, m, t, p.TopP);
            }
            else if (p.TopP < 1f && gathered < 0)
            {
                q.Base = cut;
                q.ByMass = true;
                q.TopP = p.TopP;
                q.DivideTotal = true;
                cut = CutSearch.Find(row, shared, q, out gathered);
            }
        }
        else if (p.TopP < 1f)
        {
            q.ByMass = true;
            q.TopP = p.TopP;
            cut = CutSearch.Find(row, shared, q, out gathered);
        }

        double bestKey = double.NegativeInfinity;
        int best = -1;
        if (gathered >= 0)
        {
            for (int j = Group.IdxX; j < gathered; j += Group.DimX)
            {
                ulong key = shared.Keys[j];
                int id = KernelMath.Id(key);
                double raceKey = KernelMath.RaceKey(KernelMath.Logit(key), KernelMath.PhiloxX0((uint)p.Step, (uint)id, p.Seed), m, t);
                if (GroupReduce.Beats(raceKey, id, bestKey, best))
                {
                    bestKey = raceKey;
                    best = id;
                }
            }
        }
        else
        {
            var race = new RaceVisitor
            {
                Floor = floor,
                Cut = cut,
                Max = m,
                Temperature = t,
                InverseTemperature = 1.0 / t,
                Step = (uint)p.Step,
                Seed = p.Seed,
                BestKey = double.NegativeInfinity,
                Best = -1,
            };
            RowPass.Run(row, ref race);
            bestKey = race.BestKey;
            best = race.Best;
        }

        GroupReduce.ArgMax(ref bestKey, ref best, shared);
        return best;
    }

    /// <summary>TopPFilter.Apply's sorted path over the gathered top_k survivors: weights in rank order, total, first crossing.</summary>
    private static int TopPOfSorted(in GroupShared shared, int n, double m, double t, double topP)
    {
        if (Group.IdxX == 0)
        {
            double total = 0;
            for (int i = 0; i < n; i++)
            {
                total += KernelMath.Exp((KernelMath.Logit(shared.Keys[i]) - m) / t);
            }

            shared.DoubleScalars[0] = topP * total;
        }

        Group.Barrier();
        double threshold = shared.DoubleScalars[0];
        Group.Barrier();
        return CutSearch.TakeByMass(shared, n, 0, threshold, m, t);
    }

    /// <summary>CpuSampler.Logprobs: at temperature 1 over the whole processed row; the top ones ranked like candidates.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Logprobs<TRow>(in TRow row, in GpuRowParameters p, in RowOutputs o, in GroupShared shared, int token, float max)
        where TRow : struct, IRow
    {
        int r = Grid.IdxX;
        double logTotal = 0;
        bool infinite = float.IsPositiveInfinity(max);
        if (max != float.NegativeInfinity)
        {
            if (infinite)
            {
                var count = new CountVisitor { Value = max };
                RowPass.Run(row, ref count);
                logTotal = KernelMath.Log(GroupReduce.Sum((double)count.Count, shared));
            }
            else
            {
                var sum = new SumExpVisitor { Max = max };
                RowPass.Run(row, ref sum);
                logTotal = KernelMath.Log(GroupReduce.Sum(sum.Sum, shared));
            }
        }

        int topN = Math.Min(p.TopLogprobs, o.TopStride);
        int written = 0;
        if (topN > 0 && o.Top.Length > 0 && max != float.NegativeInfinity)
        {
            var q = new CutQuery
            {
                Floor = float.NegativeInfinity,
                Base = KernelMath.KeepAll,
                K = topN,
                Max = max,
                Temperature = 1,
                Scale = 1,
            };
            CutSearch.Find(row, shared, q, out written);
            written = Math.Max(written, 0);
        }

        if (Group.IdxX == 0)
        {
            for (int j = 0; j < written; j++)
            {
                ulong key = shared.Keys[j];
                o.Top[((long)r * o.TopStride) + j] = new TopLogprobEntry
                {
                    Token = KernelMath.Id(key),
                    Logprob = LogprobOf(KernelMath.Logit(key), max, logTotal),
                };
            }

            float l = row.Get(token);
            o.Tokens[r] = token;
            if (o.Logprobs.Length > 0)
            {
                o.Logprobs[r] = max == float.NegativeInfinity ? float.NegativeInfinity : LogprobOf(l, max, logTotal);
            }

            if (o.TopCounts.Length > 0)
            {
                o.TopCounts[r] = written;
            }
        }
    }

    private static float LogprobOf(float l, float max, double logTotal) => float.IsPositiveInfinity(max)
        ? (l == max ? (float)-logTotal : float.NegativeInfinity)
        : l > float.NegativeInfinity ? (float)(l - (double)max - logTotal) : float.NegativeInfinity;

    /// <summary>2^(63 - bit length of the vocabulary): weights are at most 1, so even a full row's sum fits a ulong.</summary>
    private static double FixedPointScale(int vocab)
    {
        int bits = 0;
        while ((1L << bits) <= vocab)
        {
            bits++;
        }

        return KernelMath.PowerOfTwo(63 - bits);
    }
}
