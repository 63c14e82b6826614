namespace OpenAiStreaming.Sampling.Tests;

/// <summary>
/// The sampler's documented semantics written the slow, obvious way (LINQ, a full sort, scalar double arithmetic), to
/// compare the fast sampler against. Nothing here is shared with the code under test except <see cref="Philox"/>, which
/// has its own known-answer tests.
/// </summary>
internal static class ReferenceSampler
{
    /// <summary>The row after logit bias and penalties; NaN stays NaN.</summary>
    public static float[] Process(float[] logits, SamplingParams p, IReadOnlyList<int>? output, IReadOnlyList<int>? prompt = null)
    {
        float[] work = (float[])logits.Clone();
        foreach ((int id, float bias) in p.LogitBias)
        {
            if (id < work.Length)
            {
                work[id] += bias;
            }
        }

        bool penalties = p.RepetitionPenalty != 1f || p.FrequencyPenalty != 0f || p.PresencePenalty != 0f;
        if (!penalties)
        {
            return work;
        }

        var seen = new SortedSet<int>((output ?? []).Concat(prompt ?? []).Where(t => t >= 0 && t < work.Length));
        foreach (int token in seen)
        {
            int count = (output ?? []).Count(t => t == token);
            float l = work[token];
            l = l > 0 ? l / p.RepetitionPenalty : l * p.RepetitionPenalty;
            work[token] = count == 0 ? l : (float)(l - ((double)p.FrequencyPenalty * count) - p.PresencePenalty);
        }

        return work;
    }

    /// <summary>The surviving token ids of a non-greedy draw with a finite maximum, best first; null when greedy rules apply.</summary>
    public static List<int>? Survivors(float[] work, SamplingParams p, out double max)
    {
        float m = float.NegativeInfinity;
        foreach (float l in work)
        {
            if (l > m)
            {
                m = l;
            }
        }

        max = m;
        if (p.Temperature <= 1e-5f || float.IsInfinity(m))
        {
            return null;
        }

        double t = p.Temperature;
        double mm = m;
        var ranked = Enumerable.Range(0, work.Length)
            .Where(i => work[i] > float.NegativeInfinity)
            .OrderByDescending(i => work[i]).ThenBy(i => i)
            .ToList();

        if (p.MinP > 0)
        {
            double threshold = mm + (t * Math.Log(p.MinP));
            ranked = [.. ranked.Where(i => work[i] >= threshold)];
        }

        if (p.TopK > 0)
        {
            ranked = [.. ranked.Take(p.TopK)];
        }

        if (p.TopP < 1f)
        {
            double total = 0;
            foreach (int i in ranked)
            {
                total += Math.Exp((work[i] - mm) / t);
            }

            double threshold = p.TopP * total;
            double cumulative = 0;
            int keep = ranked.Count;
            for (int k = 0; k < ranked.Count; k++)
            {
                cumulative += Math.Exp((work[ranked[k]] - mm) / t);
                if (cumulative >= threshold)
                {
                    keep = k + 1;
                    break;
                }
            }

            ranked = [.. ranked.Take(keep)];
        }

        return ranked;
    }

    /// <summary>The token the documented rules choose.</summary>
    public static int Sample(float[] logits, SamplingParams p, ulong seed, int step, IReadOnlyList<int>? output = null, IReadOnlyList<int>? prompt = null)
    {
        float[] work = Process(logits, p, output, prompt);
        List<int>? survivors = Survivors(work, p, out double m);
        if (survivors is null)
        {
            if (m == double.NegativeInfinity)
            {
                return 0;
            }

            for (int i = 0; i < work.Length; i++)
            {
                if (work[i] == m)
                {
                    return i;
                }
            }
        }

        int best = -1;
        double bestKey = double.NegativeInfinity;
        foreach (int i in survivors!.Order())
        {
            double u = (Philox.Generate((uint)step, (uint)i, 0, 0, (uint)seed, (uint)(seed >> 32)).X0 + 1.0) / 4294967296.0;
            double key = ((work[i] - m) / p.Temperature) - Math.Log(-Math.Log(u));
            if (key > bestKey)
            {
                (bestKey, best) = (key, i);
            }
        }

        return best;
    }

    /// <summary>The exact probability of every token under a non-greedy draw.</summary>
    public static double[] Distribution(float[] logits, SamplingParams p, IReadOnlyList<int>? output = null)
    {
        float[] work = Process(logits, p, output);
        List<int> survivors = Survivors(work, p, out double m) ?? throw new InvalidOperationException("greedy");
        double[] result = new double[logits.Length];
        double total = survivors.Sum(i => Math.Exp((work[i] - m) / p.Temperature));
        foreach (int i in survivors)
        {
            result[i] = Math.Exp((work[i] - m) / p.Temperature) / total;
        }

        return result;
    }

    /// <summary>Log-softmax at temperature 1 of the processed row (finite maximum only).</summary>
    public static double[] Logprobs(float[] logits, SamplingParams p, IReadOnlyList<int>? output = null)
    {
        float[] work = Process(logits, p, output);
        double m = work.Where(l => !float.IsNaN(l)).Max();
        double logTotal = Math.Log(work.Where(l => l > float.NegativeInfinity).Sum(l => Math.Exp(l - m)));
        return [.. work.Select(l => l > float.NegativeInfinity ? l - m - logTotal : double.NegativeInfinity)];
    }
}
