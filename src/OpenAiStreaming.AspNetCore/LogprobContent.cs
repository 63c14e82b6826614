using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// How an <see cref="IChatClient"/> reports one output token's log-probability: put one in an update's
/// <see cref="ChatResponseUpdate.Contents"/> after the token's <see cref="TextContent"/>, one per token, in order.
/// The endpoints turn them into OpenAI's <c>logprobs.content[]</c> (chat) or the legacy <c>logprobs</c> object
/// (completions). A model that reports them says so with <see cref="ChatModelCapabilities.Logprobs"/>.
/// </summary>
/// <remarks>
/// A request that asks for log-probabilities reaches the model with <see cref="LogprobsOptionKey"/> set to true in
/// <see cref="ChatOptions.AdditionalProperties"/> and <see cref="TopLogprobsOptionKey"/> set to how many alternatives
/// (an int, 0 to 20); <see cref="GetRequestedTopLogprobs"/> reads them.
/// </remarks>
public sealed class LogprobContent : AIContent
{
    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key that is true when the request asks for logprobs.</summary>
    public const string LogprobsOptionKey = "logprobs";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key with the number of alternatives asked for (an int).</summary>
    public const string TopLogprobsOptionKey = "top_logprobs";

    /// <summary>Creates a token's report.</summary>
    /// <param name="token">The token's text, as streamed.</param>
    /// <param name="logprob">The natural logarithm of the token's probability (at most 0).</param>
    /// <param name="topLogprobs">The most likely tokens at this position, most likely first; null or empty for none.</param>
    public LogprobContent(string token, double logprob, IReadOnlyList<TopLogprob>? topLogprobs = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        Token = token;
        Logprob = logprob;
        TopLogprobs = topLogprobs ?? [];
    }

    /// <summary>The token's text.</summary>
    public string Token { get; }

    /// <summary>The natural logarithm of the token's probability.</summary>
    public double Logprob { get; }

    /// <summary>The most likely tokens at this position, most likely first.</summary>
    public IReadOnlyList<TopLogprob> TopLogprobs { get; }

    /// <summary>Reads what a request asked for from its options.</summary>
    /// <param name="options">The request's options.</param>
    /// <returns>The number of alternatives asked for (0 or more) when the request asks for logprobs; otherwise null.</returns>
    public static int? GetRequestedTopLogprobs(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { } properties
            || !properties.TryGetValue(LogprobsOptionKey, out object? requested) || requested is not true)
        {
            return null;
        }

        return properties.TryGetValue(TopLogprobsOptionKey, out object? top) && top is int count ? count : 0;
    }
}
