using OpenAiStreaming.Sampling;

namespace OpenAiStreaming.Sampling.Benchmarks;

/// <summary>
/// The baseline: the first, straightforward version of the sampler (scalar passes; sorts every candidate for top_k and
/// top_p), kept verbatim so that the report reads as the speed-up over it. Same semantics and random numbers.
/// </summary>
internal sealed class SortingSampler
{
    /// <summary>The row after NaN replacement and penalties.</summary>
    private float[] _logits = [];

    /// <summary>
    /// Tokens still in the running, as <see cref="CandidateKey"/>s so that a plain ascending sort (which does not
    /// allocate, unlike a sort with a comparer) orders them most likely first; only the first <c>count</c> are meaningful.
    /// </summary>
    private ulong[] _candidates = [];

    /// <summary>Occurrences of each token in the history; all zero between calls.</summary>
    private int[] _counts = [];

    /// <summary>Samples one token, ignoring the penalties (there is no history to apply them to).</summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="p">The sampling parameters; validated on every call.</param>
    /// <param name="seed">The request's seed; it keys the random numbers.</param>
    /// <param name="step">The position of the token being generated (0 for the first); it selects the random numbers. Must not be negative.</param>
    /// <returns>A token id in [0, <c>logits.Length</c>).</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="step"/> is negative.</exception>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step)
        => SampleCore(logits, p, seed, step, [], applyPenalties: false);

    /// <summary>Samples one token, applying the penalties for the tokens in <paramref name="previousTokens"/>.</summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="p">The sampling parameters; validated on every call.</param>
    /// <param name="seed">The request's seed; it keys the random numbers.</param>
    /// <param name="step">The position of the token being generated (0 for the first); it selects the random numbers. Must not be negative.</param>
    /// <param name="previousTokens">
    /// The tokens seen so far, in any order, repeats counted. All three penalties use this one history. Ids outside
    /// [0, <c>logits.Length</c>) are ignored.
    /// </param>
    /// <returns>A token id in [0, <c>logits.Length</c>).</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="step"/> is negative.</exception>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step, ReadOnlySpan<int> previousTokens)
        => SampleCore(logits, p, seed, step, previousTokens, applyPenalties: true);

    private int SampleCore(ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step, ReadOnlySpan<int> history, bool applyPenalties)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("The logits must not be empty.", nameof(logits));
        }

        ArgumentNullException.ThrowIfNull(p);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        p.Validate();

        Span<float> work = Rent(ref _logits, logits.Length);
        for (int i = 0; i < work.Length; i++)
        {
            float l = logits[i];
            // -0 becomes +0 so that equal logits get equal candidate keys.
            work[i] = float.IsNaN(l) ? float.NegativeInfinity : l == 0 ? 0f : l;
        }

        if (applyPenalties && !history.IsEmpty && (p.RepetitionPenalty != 1f || p.FrequencyPenalty != 0f || p.PresencePenalty != 0f))
        {
            ApplyPenalties(work, history, p);
        }

        int best = 0;
        for (int i = 1; i < work.Length; i++)
        {
            if (work[i] > work[best])
            {
                best = i;
            }
        }

        // An infinite maximum means either a +infinity logit (lowest such id) or nothing but -infinity (id 0).
        float max = work[best];
        if (p.Temperature <= 1e-5f || float.IsInfinity(max))
        {
            return best;
        }

        double m = max;
        double t = p.Temperature;

        // min_p: p_i >= min_p * p_max  <=>  exp((l_i - l_max) / T) >= min_p. The argmax always survives.
        Span<ulong> candidates = Rent(ref _candidates, work.Length);
        double minP = p.MinP;
        int count = 0;
        for (int i = 0; i < work.Length; i++)
        {
            float l = work[i];
            if (l != float.NegativeInfinity && (minP == 0 || Math.Exp((l - m) / t) >= minP))
            {
                candidates[count++] = CandidateKey(l, i);
            }
        }

        bool cutTopK = p.TopK > 0 && p.TopK < count;
        bool cutTopP = p.TopP < 1f;
        if (cutTopK || cutTopP)
        {
            candidates[..count].Sort();
            if (cutTopK)
            {
                count = p.TopK;
            }

            if (cutTopP)
            {
                count = TopPCount(candidates[..count], work, m, t, p.TopP);
            }
        }

        uint k0 = (uint)seed;
        uint k1 = (uint)(seed >> 32);
        int winner = int.MaxValue;
        double bestKey = double.NegativeInfinity;
        foreach (ulong candidate in candidates[..count])
        {
            int id = (int)(uint)candidate;
            double u = (Philox.Generate((uint)step, (uint)id, 0, 0, k0, k1).X0 + 1.0) * (1.0 / 4294967296.0);
            double key = ((work[id] - m) / t) - Math.Log(-Math.Log(u));
            if (key > bestKey || (key == bestKey && id < winner))
            {
                bestKey = key;
                winner = id;
            }
        }

        return winner;
    }

    /// <summary>Applies repetition, then frequency and presence penalties (vLLM's order) to each token in the history once.</summary>
    private void ApplyPenalties(Span<float> work, ReadOnlySpan<int> history, SamplingParams p)
    {
        Span<int> counts = Rent(ref _counts, work.Length);
        foreach (int token in history)
        {
            if ((uint)token < (uint)work.Length)
            {
                counts[token]++;
            }
        }

        float repetition = p.RepetitionPenalty;
        double frequency = p.FrequencyPenalty;
        double presence = p.PresencePenalty;
        foreach (int token in history)
        {
            if ((uint)token >= (uint)work.Length || counts[token] == 0)
            {
                continue;
            }

            // Resetting here both applies each token once and restores the all-zero invariant of _counts.
            int count = counts[token];
            counts[token] = 0;
            float l = work[token];
            l = l > 0 ? l / repetition : l * repetition;

            // Double keeps penalty * count finite; infinities stay infinities, so no NaN can appear.
            work[token] = (float)(l - (frequency * count) - presence);
        }
    }

    /// <summary>The length of the shortest prefix of <paramref name="sorted"/> whose probability mass reaches <paramref name="topP"/>.</summary>
    private static int TopPCount(ReadOnlySpan<ulong> sorted, ReadOnlySpan<float> work, double max, double temperature, double topP)
    {
        double total = 0;
        foreach (ulong candidate in sorted)
        {
            total += Math.Exp((work[(int)(uint)candidate] - max) / temperature);
        }

        double threshold = topP * total;
        double cumulative = 0;
        for (int k = 0; k < sorted.Length; k++)
        {
            cumulative += Math.Exp((work[(int)(uint)sorted[k]] - max) / temperature);
            if (cumulative >= threshold)
            {
                return k + 1;
            }
        }

        // Rounding can leave the sum a hair below the threshold; then everything is kept.
        return sorted.Length;
    }

    private static Span<T> Rent<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer.AsSpan(0, length);
    }

    /// <summary>
    /// Packs a logit and its token id into a key whose ascending order is logit descending, then id ascending: the high
    /// word is the logit's bits mapped to an unsigned integer in the same order as the floats, then complemented.
    /// </summary>
    private static ulong CandidateKey(float logit, int id)
    {
        uint bits = BitConverter.SingleToUInt32Bits(logit);
        uint ordered = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
        return ((ulong)~ordered << 32) | (uint)id;
    }
}
