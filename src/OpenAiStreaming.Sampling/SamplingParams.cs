namespace OpenAiStreaming.Sampling;

/// <summary>
/// How one token is chosen from a row of logits. Steps run in this order: penalties, temperature, min_p, top_k, top_p,
/// draw. Every filter is off by default, so a new instance samples from the plain softmax of the logits.
/// </summary>
public sealed class SamplingParams
{
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

    /// <summary>Whether these parameters select greedy decoding.</summary>
    internal bool IsGreedy => Temperature <= GreedyTemperature;

    /// <summary>Whether any penalty would change a logit.</summary>
    internal bool HasPenalties => RepetitionPenalty != 1f || FrequencyPenalty != 0f || PresencePenalty != 0f;

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
    }
}
