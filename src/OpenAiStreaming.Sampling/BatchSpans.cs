namespace OpenAiStreaming.Sampling;

/// <summary>The argument checks of a batched sampling call.</summary>
internal static class BatchSpans
{
    /// <summary>Checks the span lengths of a batched call against its sequence count (at least one).</summary>
    public static void Check(int logits, int batch, int results, int topLogprobs)
    {
        if (logits == 0 || logits % batch != 0)
        {
            throw new ArgumentException("The logits must hold one non-empty row of equal length per sequence.", nameof(logits));
        }

        if (results < batch)
        {
            throw new ArgumentException("There must be room for one result per sequence.", nameof(results));
        }

        if (topLogprobs % batch != 0)
        {
            throw new ArgumentException("The top-logprobs span must be empty or hold one equal slice per sequence.", nameof(topLogprobs));
        }
    }
}
