namespace OpenAiStreaming.Sampling;

/// <summary>One distinct token a sequence has seen: how often it occurred in the output, and whether in the prompt.</summary>
/// <param name="Token">The token id.</param>
/// <param name="OutputCount">Its occurrences in the output (frequency and presence penalties).</param>
/// <param name="InPrompt">Whether it occurred in the prompt (with the output, the repetition penalty's set).</param>
public readonly record struct TokenOccurrence(int Token, int OutputCount, bool InPrompt);
