namespace OpenAiStreaming.Sampling;

/// <summary>
/// How one token is chosen from a row of logits. Steps run in this order: logit bias and penalties, temperature, min_p,
/// top_k, top_p, draw. Every filter is off by default, so a new instance samples from the plain softmax of the logits.
/// </summary>
/// <remarks>
/// The sampler reads the parameters on every call and validates them each time, so an instance may be shared by many
/// sequences as long as nobody changes it while a call runs.
/// </remarks>
public sealed class SamplingParams
{
    /// <summary>The largest <see cref="TopLogprobs"/> accepted, as in the OpenAI API.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>Temperatures at or below this value mean greedy decoding (argmax), as in vLLM.</summary>
    internal const float GreedyTemperature = 1e-5f;

    /// <summary>
    /// Divides the logits before the softmax. Default <c>1</c>. At or below <c>1e-5</c> (including <c>0</c>) the sampler
    /// is greedy: it returns the most likely token, the lowest id on ties. Must be finite and not negative.
    /// </summary>
    public float Temperature { get; set; } = 1f;

    /// <summary>Keeps only the <c>TopK</c> most likely tokens (ties by lower id). Default <c>0</c>, which is off. Must not be negative.</summary>
    public int TopK { get; set; }

    /// <summary>
    /// Keeps the smallest set of most likely tokens whose probability mass reaches <c>TopP</c>, including the token that
    /// crosses it (ties by lower id). Default <c>1</c>, which is off. Must be in (0, 1].
    /// </summary>
    public float TopP { get; set; } = 1f;

    /// <summary>
    /// Keeps tokens whose probability (after temperature) is at least <c>MinP</c> times that of the most likely token.
    /// Default <c>0</c>, which is off. Must be in [0, 1].
    /// </summary>
    public float MinP { get; set; }

    /// <summary>
    /// vLLM/Hugging Face repetition penalty for tokens already seen: a positive logit is divided by it, a negative one
    /// multiplied. Default <c>1</c>, which is off. Must be finite and greater than <c>0</c>.
    /// </summary>
    public float RepetitionPenalty { get; set; } = 1f;

    /// <summary>
    /// OpenAI frequency penalty: subtracts <c>FrequencyPenalty * count</c> from the logit of every token seen
    /// <c>count</c> times. Default <c>0</c>, which is off. Must be finite (the OpenAI API accepts [-2, 2]).
    /// </summary>
    public float FrequencyPenalty { get; set; }

    /// <summary>
    /// OpenAI presence penalty: subtracts <c>PresencePenalty</c> from the logit of every token seen at least once.
    /// Default <c>0</c>, which is off. Must be finite (the OpenAI API accepts [-2, 2]).
    /// </summary>
    public float PresencePenalty { get; set; }

    /// <summary>
    /// Added to the logit of each listed token id before the penalties (OpenAI's <c>logit_bias</c>, which accepts
    /// [-100, 100]). Default empty. Ids must not be negative; ids at or beyond the vocabulary size are ignored. Values
    /// must not be NaN; <c>-infinity</c> bans a token and <c>+infinity</c> forces it (see <see cref="CpuSampler"/>).
    /// </summary>
    public Dictionary<int, float> LogitBias { get; } = [];

    /// <summary>
    /// The seed of the random numbers, or <c>null</c> (the default) for a fresh one from a cryptographically strong
    /// source, drawn when a <see cref="SamplingSequence"/> is created and reported by <see cref="SamplingSequence.Seed"/>.
    /// </summary>
    public ulong? Seed { get; set; }

    /// <summary>
    /// Whether to report the log-probability of the chosen token. Default <c>false</c>. The distribution is documented
    /// on <see cref="SampledToken.Logprob"/>.
    /// </summary>
    public bool Logprobs { get; set; }

    /// <summary>
    /// How many of the most likely tokens to report with their log-probabilities (OpenAI's <c>top_logprobs</c>).
    /// Default <c>0</c>. Must be in [0, <see cref="MaxTopLogprobs"/>]. A value above 0 reports the chosen token's
    /// log-probability too, whatever <see cref="Logprobs"/> says.
    /// </summary>
    public int TopLogprobs { get; set; }

    /// <summary>Whether these parameters select greedy decoding.</summary>
    internal bool IsGreedy => Temperature <= GreedyTemperature;

    /// <summary>Whether any penalty would change a logit (the sampler skips the history when none would).</summary>
    public bool HasPenalties => RepetitionPenalty != 1f || FrequencyPenalty != 0f || PresencePenalty != 0f;

    /// <summary>Whether any log-probability is to be reported.</summary>
    internal bool WantsLogprobs => Logprobs || TopLogprobs > 0;

    /// <summary>Checks every parameter against the range stated in its documentation.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range or NaN; its name is the parameter name.</exception>
    public void Validate()
    {
        if (!float.IsFinite(Temperature) || Temperature < 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be finite and not negative.");
        }

        if (TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must not be negative (0 turns it off).");
        }

        // Written so that NaN fails too.
        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1] (1 turns it off).");
        }

        if (!(MinP >= 0f && MinP <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "MinP must be in [0, 1] (0 turns it off).");
        }

        if (!float.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0f)
        {
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "RepetitionPenalty must be finite and greater than 0 (1 turns it off).");
        }

        if (!float.IsFinite(FrequencyPenalty))
        {
            throw new ArgumentOutOfRangeException(nameof(FrequencyPenalty), FrequencyPenalty, "FrequencyPenalty must be finite.");
        }

        if (!float.IsFinite(PresencePenalty))
        {
            throw new ArgumentOutOfRangeException(nameof(PresencePenalty), PresencePenalty, "PresencePenalty must be finite.");
        }

        if (TopLogprobs is < 0 or > MaxTopLogprobs)
        {
            throw new ArgumentOutOfRangeException(nameof(TopLogprobs), TopLogprobs, "TopLogprobs must be in [0, 20].");
        }

        foreach (KeyValuePair<int, float> bias in LogitBias)
        {
            if (bias.Key < 0 || float.IsNaN(bias.Value))
            {
                throw new ArgumentOutOfRangeException(nameof(LogitBias), bias, "LogitBias ids must not be negative and its values must not be NaN.");
            }
        }
    }
}
