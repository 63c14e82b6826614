using OpenAiStreaming.Sampling;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>Compares a GPU (or CPU-accelerator) result with CpuSampler's for the same case.</summary>
internal static class Agreement
{
    /// <summary>Null when they agree, else a description of the difference.</summary>
    public static string? Compare(SampledToken expected, ReadOnlySpan<TokenLogprob> expectedTop, SampledToken actual, ReadOnlySpan<TokenLogprob> actualTop)
    {
        if (expected.TokenId != actual.TokenId)
        {
            return $"token {actual.TokenId}, CPU {expected.TokenId}";
        }

        if (!Close(expected.Logprob, actual.Logprob))
        {
            return $"logprob {actual.Logprob}, CPU {expected.Logprob}";
        }

        if (expected.TopLogprobCount != actual.TopLogprobCount)
        {
            return $"{actual.TopLogprobCount} top logprobs, CPU {expected.TopLogprobCount}";
        }

        for (int j = 0; j < expected.TopLogprobCount; j++)
        {
            if (expectedTop[j].TokenId != actualTop[j].TokenId || !Close(expectedTop[j].Logprob, actualTop[j].Logprob))
            {
                return $"top {j}: {actualTop[j]}, CPU {expectedTop[j]}";
            }
        }

        return null;
    }

    /// <summary>Equal, or both NaN, or within 1e-4 (the kernel sums the normalizer in another order with its own exp).</summary>
    private static bool Close(float a, float b) =>
        a.Equals(b) || (float.IsFinite(a) && float.IsFinite(b) && Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(a)));
}
