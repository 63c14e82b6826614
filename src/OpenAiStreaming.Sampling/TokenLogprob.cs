namespace OpenAiStreaming.Sampling;

/// <summary>A token id with its log-probability, as reported for OpenAI's <c>top_logprobs</c>.</summary>
/// <param name="TokenId">The token id.</param>
/// <param name="Logprob">
/// The natural logarithm of the token's probability in the distribution described on <see cref="SampledToken.Logprob"/>.
/// </param>
public readonly record struct TokenLogprob(int TokenId, float Logprob);
