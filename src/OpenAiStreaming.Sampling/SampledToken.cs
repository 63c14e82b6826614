namespace OpenAiStreaming.Sampling;

/// <summary>The outcome of sampling one row: the chosen token, and its log-probability when asked for.</summary>
/// <param name="TokenId">The chosen token id, in [0, vocabulary size).</param>
/// <param name="Logprob">
/// <para>
/// The natural logarithm of the chosen token's probability, or NaN when neither <see cref="SamplingParams.Logprobs"/>
/// nor <see cref="SamplingParams.TopLogprobs"/> asked for it.
/// </para>
/// <para>
/// The distribution is the softmax at temperature 1 of the logits after logit bias and penalties, before temperature,
/// min_p, top_k and top_p: what the model (as steered by bias and penalties) thinks of each token, the same whatever
/// the filters, and meaningful in greedy mode too (as OpenAI reports). A token whose logit is NaN or negative infinity
/// gets negative infinity (JSON writers usually clamp it, OpenAI to -9999). If some logits are +infinity they share the
/// mass equally. If every logit is NaN or negative infinity, every token, token 0 included, gets negative infinity.
/// </para>
/// </param>
/// <param name="TopLogprobCount">
/// How many entries of the caller's top-logprobs span were written: the most likely tokens in that distribution, most
/// likely first, ties by lower id; <c>min(SamplingParams.TopLogprobs, span length, tokens that are not NaN or -infinity)</c>.
/// </param>
public readonly record struct SampledToken(int TokenId, float Logprob, int TopLogprobCount);
