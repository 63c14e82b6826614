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
    /// SHA-256 digests in constant time. They reload with the configuration, without a restart; limits per key are
    /// <see cref="ApiKeyLimitOptions"/>.
    /// </summary>
    public IList<string> ApiKeys { get; set; } = [];

    /// <summary>The largest request body accepted, in bytes; larger bodies get 413. Default 4 MiB.</summary>
    public long MaxRequestBodySize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// The most bytes of output that may wait for a slow client (text counted as UTF-16 in memory). Default 1 MiB.
    /// The model never waits for the client: deltas merge while it lags, and past this limit the stream ends with an
    /// error event and the generation is cancelled.
    /// </summary>
    public long MaxBufferedBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Deltas queued for a client, each to become its own chunk, before new text merges into the last one. Default 64.
    /// Merging is what lets a model run ahead of a slow client without a per-token object each; a larger value keeps
    /// one chunk per token longer at the cost of those objects (<see cref="MaxBufferedBytes"/> still bounds the text).
    /// </summary>
    public int MaxQueuedDeltas { get; set; } = 64;

    /// <summary>
    /// The longest a request may take, waiting for admission included; past it the stream ends with an error event and
    /// the generation is cancelled. Default null: no limit.
    /// </summary>
    public TimeSpan? MaxStreamDuration { get; set; }

    /// <summary>
    /// How long open streams may run on once the host starts stopping (SIGTERM); the rest then end with an error event
    /// saying the server is shutting down. Default 10 seconds. The host's own shutdown timeout is raised to leave room.
    /// </summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most requests one model serves at once. Default null: unlimited. Beyond it requests queue (see
    /// <see cref="MaxQueuedStreams"/>) or get 429 with <c>Retry-After</c>.
    /// </summary>
    public int? MaxConcurrentStreams { get; set; }

    /// <summary>
    /// How many requests per model may wait for admission when <see cref="MaxConcurrentStreams"/> are running. Default 0:
    /// none wait, they get 429 at once. A waiting streaming request gets its headers and heartbeats while it waits.
    /// </summary>
    public int MaxQueuedStreams { get; set; }

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

    /// <summary>
    /// The largest <c>n</c> (independent generations in one request) accepted; larger gets 400. Default 8. Each
    /// generation is a model call of its own and counts against <see cref="MaxConcurrentStreams"/>.
    /// </summary>
    public int MaxChoices { get; set; } = 8;
}
