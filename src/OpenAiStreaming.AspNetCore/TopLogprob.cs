namespace OpenAiStreaming.AspNetCore;

/// <summary>One of the most likely tokens at a position, as <see cref="LogprobContent.TopLogprobs"/> lists them.</summary>
/// <param name="Token">The token's text.</param>
/// <param name="Logprob">The natural logarithm of its probability.</param>
public readonly record struct TopLogprob(string Token, double Logprob);
