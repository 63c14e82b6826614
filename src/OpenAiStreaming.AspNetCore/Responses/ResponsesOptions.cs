namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Options for <c>/v1/responses</c>: the in-memory response store's bounds and the background worker's admission.
/// Bound from the configuration section <c>OpenAiStreaming:Responses</c> and validated when the host starts.
/// </summary>
public sealed class ResponsesOptions
{
    /// <summary>The configuration section the options bind from by default: <c>OpenAiStreaming:Responses</c>.</summary>
    public const string SectionName = "OpenAiStreaming:Responses";

    /// <summary>
    /// How many responses the in-memory store keeps; beyond it the oldest finished ones are forgotten first. Default
    /// 10,000. A response still being generated is never forgotten.
    /// </summary>
    public int MaxStoredResponses { get; set; } = 10_000;

    /// <summary>
    /// How many bytes of responses and background events the in-memory store keeps; beyond it the oldest finished
    /// responses are forgotten first. Default 256 MiB.
    /// </summary>
    public long MaxStoredBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long the in-memory store keeps a response after it finished (a background one with all its events, for
    /// resuming). Default 1 hour.
    /// </summary>
    public TimeSpan StoredResponseRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The most background responses generating or waiting on this server at once; beyond it
    /// <c>POST /v1/responses</c> with <c>background: true</c> gets 429 with <c>Retry-After</c>. Default 4,096.
    /// </summary>
    public int MaxBackgroundResponses { get; set; } = 4096;
}
