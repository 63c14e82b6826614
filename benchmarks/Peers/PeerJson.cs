using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Peers;

/// <summary>A request as the peers read it: only the fields the synthetic model uses.</summary>
internal sealed class ChatRequest
{
    [JsonPropertyName("model")]
    public string Model { get; set; } = "";

    [JsonPropertyName("messages")]
    public List<RequestMessage> Messages { get; set; } = [];

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; set; }

    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; set; }

    [JsonPropertyName("stream")]
    public bool Stream { get; set; }

    [JsonPropertyName("stream_options")]
    public StreamOptions? StreamOptions { get; set; }

    public int TokenCount => MaxCompletionTokens ?? MaxTokens ?? TokenSchedule.DefaultMaxTokens;

    public bool IncludeUsage => StreamOptions?.IncludeUsage == true;

    /// <summary>
    /// Prompt tokens as OpenAiStreaming counts them when the backend reports none: a quarter of the characters (UTF-16)
    /// of the messages' text, rounded up.
    /// </summary>
    public int PromptTokens()
    {
        long characters = 0;
        foreach (var message in Messages)
        {
            if (message.Content.ValueKind == JsonValueKind.String)
            {
                characters += message.Content.GetString()!.Length;
            }
            else if (message.Content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in message.Content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        characters += text.GetString()!.Length;
                    }
                }
            }
        }

        return (int)Math.Min(int.MaxValue, (characters + 3) / 4);
    }
}

internal sealed class RequestMessage
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    [JsonPropertyName("content")]
    public JsonElement Content { get; set; }
}

internal sealed class StreamOptions
{
    [JsonPropertyName("include_usage")]
    public bool? IncludeUsage { get; set; }
}

/// <summary>One <c>chat.completion.chunk</c>, its properties in the order OpenAI (and OpenAiStreaming) write them.</summary>
internal sealed class ChatCompletionChunk
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public string Object => "chat.completion.chunk";

    [JsonPropertyName("created")]
    public required long Created { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("choices")]
    public required IReadOnlyList<ChunkChoice> Choices { get; init; }

    [JsonPropertyName("usage")]
    public ChunkUsage? Usage { get; init; }
}

internal sealed class ChunkChoice
{
    [JsonPropertyName("index")]
    public int Index { get; init; }

    [JsonPropertyName("delta")]
    public required ChunkDelta Delta { get; init; }

    [JsonPropertyName("logprobs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs => null;

    [JsonPropertyName("finish_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

internal sealed class ChunkDelta
{
    [JsonPropertyName("role")]
    public string? Role { get; init; }

    [JsonPropertyName("content")]
    public string? Content { get; init; }
}

internal sealed class ChunkUsage
{
    [JsonPropertyName("prompt_tokens")]
    public int PromptTokens { get; init; }

    [JsonPropertyName("completion_tokens")]
    public int CompletionTokens { get; init; }

    [JsonPropertyName("total_tokens")]
    public int TotalTokens { get; init; }
}

internal sealed class BenchStatsResponse
{
    [JsonPropertyName("impl")]
    public required string Impl { get; init; }

    [JsonPropertyName("active")]
    public long Active { get; init; }

    [JsonPropertyName("started")]
    public long Started { get; init; }

    [JsonPropertyName("completed")]
    public long Completed { get; init; }

    [JsonPropertyName("cancelled")]
    public long Cancelled { get; init; }

    [JsonPropertyName("rss_bytes")]
    public long RssBytes { get; init; }

    [JsonPropertyName("managed_bytes")]
    public long ManagedBytes { get; init; }

    /// <summary>Thread-pool work items completed since the process started: per token, the hops a token costs.</summary>
    [JsonPropertyName("thread_pool_work_items")]
    public long ThreadPoolWorkItems { get; init; }

    /// <summary>CPU time the process has used since it started, user and kernel, in milliseconds.</summary>
    [JsonPropertyName("cpu_ms")]
    public double CpuMilliseconds { get; init; }

    /// <summary>Bytes allocated on the managed heap since the process started: per request and per token, what a stream costs the GC.</summary>
    [JsonPropertyName("allocated_bytes")]
    public long AllocatedBytes { get; init; }

    /// <summary>Methods the JIT has compiled since the process started: a warm-up is over when this stops growing.</summary>
    [JsonPropertyName("jit_methods")]
    public long JitMethods { get; init; }

    /// <summary>Time the GC has paused the process since it started, in milliseconds: a token due during a pause waits for its end.</summary>
    [JsonPropertyName("gc_pause_ms")]
    public double GcPauseMilliseconds { get; init; }

    /// <summary>Garbage collections since the process started (gen0 counts every one).</summary>
    [JsonPropertyName("gc_collections")]
    public long GcCollections { get; init; }

    /// <summary>Time spent in the JIT since the process started, in milliseconds.</summary>
    [JsonPropertyName("jit_ms")]
    public double JitMilliseconds { get; init; }

    [JsonPropertyName("cancellations")]
    public required IReadOnlyList<CancellationRecord> Cancellations { get; init; }
}

internal sealed record CancellationRecord(
    [property: JsonPropertyName("id")] [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Id,
    [property: JsonPropertyName("stopped_ns")] long StoppedNs);

/// <summary>
/// Source-generated serialization of the peers' DTOs. Nulls are left out except where a property says otherwise
/// (<c>logprobs</c>, <c>finish_reason</c>), matching OpenAiStreaming's bytes.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(BenchStatsResponse))]
internal sealed partial class PeerJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context with the escaping OpenAiStreaming uses (only what JSON requires), so that text outside ASCII is
    /// written the same way by every peer.
    /// </summary>
    public static PeerJsonContext Relaxed { get; } = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
