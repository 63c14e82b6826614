namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// Options for the OpenAI-compatible endpoints. Bound from the configuration section <c>OpenAiStreaming</c> and
/// validated when the host starts.
/// </summary>
public sealed class OpenAiStreamingOptions
{
    /// <summary>The configuration section the options bind from by default: <c>OpenAiStreaming</c>.</summary>
    public const string SectionName = "OpenAiStreaming";

    /// <summary>
    /// How long a stream may stay silent before a <c>: keep-alive</c> comment is written, so proxies and load balancers
    /// with idle timeouts (nginx 60 s) keep it open during a long prefill or pause. Default 15 seconds; zero disables.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// API keys accepted as <c>Authorization: Bearer KEY</c>. Default empty: no key is required. Keys are compared as
    /// SHA-256 digests in constant time.
    /// </summary>
    public IList<string> ApiKeys { get; set; } = [];

    /// <summary>The largest request body accepted, in bytes; larger bodies get 413. Default 4 MiB.</summary>
    public long MaxRequestBodySize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// How many deltas may wait between the model and a slow client before the model waits. Default 256.
    /// </summary>
    public int StreamBufferCapacity { get; set; } = 256;

    /// <summary>
    /// The <c>max_tokens</c> of a text completion (<c>/v1/completions</c>) that sets none. Default 16, as OpenAI and vLLM.
    /// Chat completions without a limit leave it to the model.
    /// </summary>
    public int DefaultCompletionMaxTokens { get; set; } = 16;

    /// <summary>
    /// Put the backend exception's message in error responses. Default false: clients see a generic message and the
    /// details go to the log. Turn on in development only.
    /// </summary>
    public bool IncludeExceptionDetails { get; set; }

    /// <summary>The <c>owned_by</c> reported by <c>/v1/models</c>. Default <c>openai-streaming</c>.</summary>
    public string OwnedBy { get; set; } = "openai-streaming";
}
