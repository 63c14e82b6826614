namespace OpenAiStreaming.Sampling;

/// <summary>
/// Chooses tokens from rows of logits on the CPU. The result is a pure function of (logits, parameters, seed, step,
/// history): no state carries over between calls except what a <see cref="SamplingSequence"/> holds, so a GPU kernel
/// following the same rules returns the same token, and a row gives the same token alone or inside any batch.
/// </summary>
/// <remarks>
/// <para>
/// Steps, in order (as in vLLM): logit bias, penalties, temperature, min_p, top_k, top_p, draw. Greedy decoding
/// (<see cref="SamplingParams.Temperature"/> at or below <c>1e-5</c>) takes the argmax of the biased, penalized logits.
/// Otherwise, with <c>l</c> those logits, <c>m</c> their maximum and <c>T</c> the temperature:
/// </para>
/// <list type="bullet">
/// <item><description>min_p keeps tokens with <c>l_i &gt;= m + T ln(min_p)</c> (evaluated in double), that is with
/// <c>p_i &gt;= min_p * p_max</c>; the most likely token always stays.</description></item>
/// <item><description>top_k keeps the k best survivors, best meaning higher logit, then lower id.</description></item>
/// <item><description>top_p ranks the survivors the same way and keeps the shortest prefix whose mass, with
/// <c>p_i</c> proportional to <c>exp((l_i - m) / T)</c> in double and renormalized over the survivors, reaches top_p,
/// the crossing token included.</description></item>
/// <item><description>The draw is the exponential race: every survivor <c>i</c> gets <c>u_i = (X0 + 1) / 2^32</c> in
/// (0, 1], where X0 is the first word of <see cref="Philox.Generate"/> with counter <c>(step, i, 0, 0)</c> and key
/// <c>(low 32 bits of seed, high 32 bits of seed)</c>, and the largest <c>(l_i - m) / T - ln(-ln u_i)</c> (double)
/// wins, which picks <c>i</c> with probability <c>p_i</c> without a cumulative sum. A <c>u_i</c> of exactly 1 (chance
/// 2^-32) makes the key +infinity.</description></item>
/// </list>
/// <para>
/// Every tie (equal logits in greedy mode, equal logits at the top_k or top_p cut, equal race keys) goes to the lowest
/// token id; -0 and +0 are equal.
/// </para>
/// <para>
/// Unusual logits never throw and never yield an id outside the row: NaN counts as negative infinity; negative
/// infinity is never chosen while any other value exists; if any logit is +infinity (after bias and penalties) the
/// lowest such id is returned, greedy or not, since the softmax puts all the mass there; if every logit is NaN or
/// negative infinity the result is 0. A bias of -infinity therefore bans a token, and +infinity added to -infinity
/// gives NaN, which is banned too.
/// </para>
/// <para>
/// Cost: one vectorized max pass, then, for greedy, a scan to the first maximum; for min_p, top_k and top_p one
/// vectorized pass that keeps only tokens above a threshold in logit space (top_k raises it as it goes), after which
/// only the candidates are ranked and exponentiated. Without top_k and top_p the race runs straight over the row,
/// computing Philox for every survivor in vector lanes but logarithms only for the few that can still win. Logit bias
/// and penalties cost a copy of the row; log-probabilities one more exp pass. Nothing sorts the vocabulary.
/// </para>
/// <para>
/// An instance keeps scratch buffers sized to the largest row seen, so steady-state calls do not allocate. It is not
/// thread-safe: use one instance per thread (the batched call uses its own worker instances internally).
/// </para>
/// </remarks>
public sealed partial class CpuSampler
{
    /// <summary>The row after bias and penalties, when it had to be copied.</summary>
    private float[] _work = [];

    /// <summary>Candidate keys (<see cref="CandidateKey"/>); only the first <c>count</c> are meaningful.</summary>
    private ulong[] _keys = [];

    /// <summary>Scratch for top_p's radix select.</summary>
    private ulong[] _keysScratch = [];

    /// <summary>Candidate weights for top_p.</summary>
    private double[] _weights = [];

    /// <summary>Bucket masses for top_p's radix select.</summary>
    private readonly double[] _histogram = new double[2048];

    /// <summary>Survivor logits and ids, contiguous for the vector race.</summary>
    private float[] _survivorLogits = [];

    /// <summary>Survivor ids, parallel to <see cref="_survivorLogits"/>.</summary>
    private int[] _survivorIds = [];

    /// <summary>Counts of the history passed to the stateless overload.</summary>
    private readonly TokenCounts _history = new();

    /// <summary>The largest candidate set that top_p sorts; larger ones take the radix select (settable for tests).</summary>
    internal int TopPSortLimit { get; init; } = 4096;

    /// <summary>How many candidates top_k lets pile up before cutting them back to k (settable for tests).</summary>
    internal int TopKCompactAt { get; init; } = 2048;

    /// <summary>Samples one token, ignoring the penalties (there is no history to apply them to).</summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="p">The sampling parameters; validated on every call. <see cref="SamplingParams.Seed"/> is not read.</param>
    /// <param name="seed">The request's seed; it keys the random numbers.</param>
    /// <param name="step">The position of the token being generated (0 for the first); it selects the random numbers. Must not be negative.</param>
    /// <returns>A token id in [0, <c>logits.Length</c>).</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="step"/> is negative.</exception>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step)
    {
        CheckRow(logits, p, step);
        return SampleRow(logits, p, seed, step, null, [], out _).TokenId;
    }

    /// <summary>Samples one token, applying the penalties for the tokens in <paramref name="previousTokens"/>.</summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="p">The sampling parameters; validated on every call. <see cref="SamplingParams.Seed"/> is not read.</param>
    /// <param name="seed">The request's seed; it keys the random numbers.</param>
    /// <param name="step">The position of the token being generated (0 for the first); it selects the random numbers. Must not be negative.</param>
    /// <param name="previousTokens">
    /// The tokens generated so far, in any order, repeats counted. All three penalties use this one history. Ids outside
    /// [0, <c>logits.Length</c>) are ignored.
    /// </param>
    /// <returns>A token id in [0, <c>logits.Length</c>).</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range, or <paramref name="step"/> is negative.</exception>
    public int Sample(ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step, ReadOnlySpan<int> previousTokens)
    {
        CheckRow(logits, p, step);
        TokenCounts? counts = null;
        if (!previousTokens.IsEmpty && p.HasPenalties)
        {
            _history.Clear();
            foreach (int token in previousTokens)
            {
                _history.Add(token, inPrompt: false);
            }

            counts = _history;
        }

        return SampleRow(logits, p, seed, step, counts, [], out _).TokenId;
    }

    /// <summary>
    /// Samples the next token of <paramref name="sequence"/> with its parameters, seed, step and penalty counts, then
    /// records the token in the sequence (its step advances by one).
    /// </summary>
    /// <param name="logits">One logit per vocabulary entry; must not be empty.</param>
    /// <param name="sequence">The sequence's state.</param>
    /// <param name="topLogprobs">
    /// Where to write the <see cref="SamplingParams.TopLogprobs"/> most likely tokens with their log-probabilities, most
    /// likely first; may be shorter (or empty), then fewer are written.
    /// </param>
    /// <returns>The token, with its log-probability when asked for (see <see cref="SampledToken.Logprob"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="sequence"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A parameter of the sequence is out of range.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads",
        Justification = "The overloads take different types (a sequence, or parameters with a seed and step), never a prefix of one another.")]
    public SampledToken Sample(ReadOnlySpan<float> logits, SamplingSequence sequence, Span<TokenLogprob> topLogprobs = default)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        CheckRow(logits, sequence.Parameters, sequence.Step);
        SampledToken result = SampleRow(logits, sequence.Parameters, sequence.Seed, sequence.Step, sequence.Counts, topLogprobs, out _);
        sequence.Accept(result.TokenId);
        return result;
    }

    private static void CheckRow(ReadOnlySpan<float> logits, SamplingParams p, int step)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("The logits must not be empty.", nameof(logits));
        }

        ArgumentNullException.ThrowIfNull(p);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        p.Validate();
    }

    /// <summary>One row, arguments already checked.</summary>
    private SampledToken SampleRow(
        ReadOnlySpan<float> logits, SamplingParams p, ulong seed, int step, TokenCounts? counts, Span<TokenLogprob> topLogprobs, out float max)
    {
        bool penalize = counts is { Count: > 0 } && p.HasPenalties;
        ReadOnlySpan<float> x = logits;
        if (penalize || p.LogitBias.Count > 0)
        {
            Span<float> work = Rent(ref _work, logits.Length);
            logits.CopyTo(work);
            foreach (KeyValuePair<int, float> bias in p.LogitBias)
            {
                if (bias.Key < work.Length)
                {
                    work[bias.Key] += bias.Value;
                }
            }

            if (penalize)
            {
                ApplyPenalties(work, counts!, p);
            }

            x = work;
        }

        max = RowKernels.Max(x);
        int token;
        if (p.IsGreedy || float.IsInfinity(max))
        {
            // An infinite maximum means either a +infinity logit (lowest such id) or nothing but -infinity and NaN (id 0).
            token = max == float.NegativeInfinity ? 0 : RowKernels.IndexOfFirst(x, max);
        }
        else
        {
            token = Draw(x, max, p, seed, step);
        }

        if (!p.WantsLogprobs)
        {
            return new SampledToken(token, float.NaN, 0);
        }

        (float logprob, int written) = Logprobs(x, max, token, topLogprobs[..Math.Min(topLogprobs.Length, p.TopLogprobs)]);
        return new SampledToken(token, logprob, written);
    }

    private int Draw(ReadOnlySpan<float> x, float max, SamplingParams p, ulong seed, int step)
    {
        double m = max;
        double t = p.Temperature;

        // Survivors are the elements strictly above floor; -infinity excludes -infinity and NaN.
        float floor = float.NegativeInfinity;
        if (p.MinP > 0)
        {
            floor = StrictlyBelow(m + (t * Math.Log(p.MinP)));
        }

        int k = p.TopK;
        bool cutTopP = p.TopP < 1f;
        if (k == 0 && !cutTopP)
        {
            return ExponentialRace.Run(x, [], floor, m, t, seed, step);
        }

        Span<ulong> keys = Rent(ref _keys, x.Length);
        int count;
        if (k == 0)
        {
            // top_p alone needs the mass of the whole row, but ranks only the band that holds the nucleus.
            count = TopPFilter.ApplyToRow(
                x, floor, m, t, p.TopP, TopPSortLimit, keys, Rent(ref _weights, x.Length), Rent(ref _keysScratch, x.Length), _histogram);
        }
        else
        {
            count = RowKernels.Collect(x, floor, k, Math.Max(TopKCompactAt, 2 * k), keys);
            if (count > k)
            {
                KeySelection.SelectSmallest(keys[..count], k);
                count = k;
            }

            if (cutTopP)
            {
                count = TopPFilter.Apply(
                    keys[..count], m, t, p.TopP, TopPSortLimit, Rent(ref _weights, count), Rent(ref _keysScratch, count), _histogram);
            }
        }

        if (count <= 32)
        {
            // Few survivors: the plain loop beats packing them for the vector race.
            int best = -1;
            double bestKey = double.NegativeInfinity;
            uint k0 = (uint)seed;
            uint k1 = (uint)(seed >> 32);
            foreach (ulong key in keys[..count])
            {
                int id = CandidateKey.Id(key);
                double u = (Philox.Generate((uint)step, (uint)id, 0, 0, k0, k1).X0 + 1.0) * (1.0 / 4294967296.0);
                double raceKey = ((CandidateKey.Logit(key) - m) / t) - Math.Log(-Math.Log(u));
                if (raceKey > bestKey || (raceKey == bestKey && id < best))
                {
                    bestKey = raceKey;
                    best = id;
                }
            }

            return best;
        }

        Span<float> logits = Rent(ref _survivorLogits, count);
        Span<int> ids = Rent(ref _survivorIds, count);
        for (int i = 0; i < count; i++)
        {
            logits[i] = CandidateKey.Logit(keys[i]);
            ids[i] = CandidateKey.Id(keys[i]);
        }

        return ExponentialRace.Run(logits, ids, float.NegativeInfinity, m, t, seed, step);
    }

    /// <summary>The chosen token's log-probability and the top ones, at temperature 1 over the whole processed row.</summary>
    private (float Logprob, int Written) Logprobs(ReadOnlySpan<float> x, float max, int token, Span<TokenLogprob> top)
    {
        if (max == float.NegativeInfinity)
        {
            return (float.NegativeInfinity, 0);
        }

        // With +infinity logits the mass is shared by them; otherwise the usual log-sum-exp, shifted by the maximum.
        double logTotal = float.IsPositiveInfinity(max) ? Math.Log(RowKernels.Count(x, max)) : Math.Log(RowKernels.SumExp(x, max));
        float LogprobOf(float l) => float.IsPositiveInfinity(max)
            ? (l == max ? (float)-logTotal : float.NegativeInfinity)
            : l > float.NegativeInfinity ? (float)(l - (double)max - logTotal) : float.NegativeInfinity;

        int written = 0;
        if (!top.IsEmpty)
        {
            Span<ulong> keys = Rent(ref _keys, x.Length);
            int count = RowKernels.Collect(x, float.NegativeInfinity, top.Length, Math.Max(TopKCompactAt, 2 * top.Length), keys);
            if (count > top.Length)
            {
                KeySelection.SelectSmallest(keys[..count], top.Length);
                count = top.Length;
            }

            keys[..count].Sort();
            for (; written < count; written++)
            {
                ulong key = keys[written];
                top[written] = new TokenLogprob(CandidateKey.Id(key), LogprobOf(CandidateKey.Logit(key)));
            }
        }

        return (LogprobOf(x[token]), written);
    }

    /// <summary>Applies repetition, then frequency and presence penalties (vLLM's order) to each counted token once.</summary>
    private static void ApplyPenalties(Span<float> work, TokenCounts counts, SamplingParams p)
    {
        float repetition = p.RepetitionPenalty;
        double frequency = p.FrequencyPenalty;
        double presence = p.PresencePenalty;
        for (int slot = 0; slot < counts.SlotCount; slot++)
        {
            if (!counts.TryGetSlot(slot, out int token, out int count, out _) || token >= work.Length)
            {
                continue;
            }

            // A slot exists only for a token seen in the prompt or the output, so the repetition penalty always applies.
            float l = work[token];
            l = l > 0 ? l / repetition : l * repetition;

            // Double keeps penalty * count finite; infinities stay infinities, so no NaN can appear.
            work[token] = count == 0 ? l : (float)(l - (frequency * count) - presence);
        }
    }

    /// <summary>The largest float <c>f</c> such that <c>x &gt; f</c> is the same as <c>x &gt;= a</c> for every float x.</summary>
    internal static float StrictlyBelow(double a)
    {
        float c = (float)a;
        if (c < a)
        {
            c = MathF.BitIncrement(c);
        }

        return MathF.BitDecrement(c);
    }

    private static Span<T> Rent<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer.AsSpan(0, length);
    }
}
