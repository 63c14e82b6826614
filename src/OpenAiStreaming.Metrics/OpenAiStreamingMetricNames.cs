namespace OpenAiStreaming.Metrics;

/// <summary>
/// The meter's name, and the names of its instruments and tags, which operators build dashboards on. The GenAI
/// histograms follow the OpenTelemetry semantic conventions; the streaming instruments share the prefix
/// <c>openai_streaming.</c>.
/// </summary>
public static class OpenAiStreamingMetricNames
{
    /// <summary>The one meter every instrument belongs to: <c>OpenAiStreaming</c>.</summary>
    public const string MeterName = "OpenAiStreaming";

    /// <summary>Seconds from the request's arrival to the flush of its first content chunk (what the user sees).</summary>
    public const string TimeToFirstToken = "gen_ai.server.time_to_first_token";

    /// <summary>Seconds per output token after the first: (last token time − first token time) / (output tokens − 1).</summary>
    public const string TimePerOutputToken = "gen_ai.server.time_per_output_token";

    /// <summary>Seconds from the request's arrival to the end of its response.</summary>
    public const string RequestDuration = "gen_ai.server.request.duration";

    /// <summary>Seconds between two consecutive content flushes of one stream: the gaps the user sees.</summary>
    public const string InterTokenLatency = "openai_streaming.inter_token_latency";

    /// <summary>Seconds a request waited for admission (<c>MaxConcurrentStreams</c>).</summary>
    public const string QueueWait = "openai_streaming.queue.wait";

    /// <summary>Requests being served now, waiting for admission included.</summary>
    public const string ActiveStreams = "openai_streaming.active_streams";

    /// <summary>
    /// Requests waiting for admission now (<c>MaxQueuedStreams</c>), per model: what a load balancer or router reads to
    /// send new work elsewhere, like vLLM's <c>num_requests_waiting</c>. They are counted in <see cref="ActiveStreams"/> too.
    /// </summary>
    public const string QueuedRequests = "openai_streaming.queued_requests";

    /// <summary>Clients that left before their answer was complete, by <see cref="PhaseTag"/>.</summary>
    public const string ClientDisconnects = "openai_streaming.client_disconnects";

    /// <summary><c>: keep-alive</c> comments written.</summary>
    public const string Heartbeats = "openai_streaming.heartbeats";

    /// <summary>Events (chunks) written to event streams.</summary>
    public const string Chunks = "openai_streaming.chunks";

    /// <summary>Bytes written to event streams.</summary>
    public const string Bytes = "openai_streaming.bytes";

    /// <summary>Seconds one flush of an event stream took (long flushes mean a slow client or network).</summary>
    public const string FlushDuration = "openai_streaming.flush.duration";

    /// <summary>Deltas merged into an earlier one because the client read more slowly than the model wrote.</summary>
    public const string CoalescedDeltas = "openai_streaming.coalesced_deltas";

    /// <summary>Tokens processed, by <see cref="TokenTypeTag"/> (input or output).</summary>
    public const string Tokens = "openai_streaming.tokens";

    /// <summary>Completion requests that ended, by <see cref="FinishReasonTag"/> or <see cref="ErrorTypeTag"/>.</summary>
    public const string Requests = "openai_streaming.requests";

    /// <summary>Tag: the model id the request asked for.</summary>
    public const string ModelTag = "gen_ai.request.model";

    /// <summary>Tag: <c>chat</c> or <c>text_completion</c>.</summary>
    public const string OperationTag = "gen_ai.operation.name";

    /// <summary>Tag: why a request failed (<c>client_disconnected</c>, <c>client_too_slow</c>, <c>timeout</c>,
    /// <c>server_shutting_down</c>, <c>rate_limited</c>, or the model's exception type).</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>Tag: the finish reason of a complete answer (<c>stop</c>, <c>length</c>, ...).</summary>
    public const string FinishReasonTag = "gen_ai.response.finish_reason";

    /// <summary>Tag: <c>input</c> or <c>output</c>.</summary>
    public const string TokenTypeTag = "gen_ai.token.type";

    /// <summary>Tag: where a client left: <c>waiting</c> (for admission), <c>before_first_token</c>, <c>streaming</c>.</summary>
    public const string PhaseTag = "openai_streaming.phase";
}
