namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// Limits applied to each API key on its own, when <see cref="OpenAiStreamingOptions.ApiKeys"/> is set. Bound from the
/// configuration section <c>OpenAiStreaming:KeyLimits</c>, validated when the host starts, and reloaded with the
/// configuration: a change applies to the next request, without a restart. Every limit defaults to null: unlimited.
/// </summary>
/// <remarks>
/// Each key gets its own limiters, so one key's flood never uses another key's budget. Answers to a keyed request carry
/// OpenAI's <c>x-ratelimit-limit-requests</c>, <c>x-ratelimit-remaining-requests</c>, <c>x-ratelimit-reset-requests</c>
/// and the same three for tokens; a request over a limit gets 429 with <c>code: "rate_limit_exceeded"</c> and
/// <c>Retry-After</c>.
/// </remarks>
public sealed class ApiKeyLimitOptions
{
    /// <summary>The configuration section the options bind from: <c>OpenAiStreaming:KeyLimits</c>.</summary>
    public const string SectionName = OpenAiStreamingOptions.SectionName + ":KeyLimits";

    /// <summary>
    /// Requests each key may start per minute, refilled continuously (a token bucket of this size that refills in one
    /// minute), so a key may burst up to the whole minute's budget at once. Default null: unlimited.
    /// </summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>
    /// Tokens (prompt plus completion, as the response's usage counts them) each key may use per minute, refilled
    /// continuously. A request is admitted while its key has any tokens left; its usage is charged when it ends, so a
    /// long answer may take the key's budget to zero and later requests wait for the refill. Default null: unlimited.
    /// </summary>
    public int? TokensPerMinute { get; set; }

    /// <summary>Requests each key may have running at once (streaming or not). Default null: unlimited.</summary>
    public int? MaxConcurrentStreams { get; set; }
}
