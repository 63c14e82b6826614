using System.Text.Json.Serialization;

namespace OpenAiStreaming.Benchmarks;

// What an endpoint without our ChunkWriter serializes for each token: OpenAI's chat.completion.chunk as plain objects.
// The JSON is byte for byte what ChunkWriter writes (each benchmark class checks that in its setup).

/// <summary>One <c>chat.completion.chunk</c>.</summary>
public sealed class ChatCompletionChunk
{
    public required string Id { get; init; }

    public string Object => "chat.completion.chunk";

    public long Created { get; init; }

    public required string Model { get; init; }

    public required ChunkChoice[] Choices { get; init; }
}

/// <summary>The chunk's one choice.</summary>
public sealed class ChunkChoice
{
    public int Index { get; init; }

    public required ChunkDelta Delta { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs => null;

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

/// <summary>The choice's delta: a few characters of content.</summary>
public sealed class ChunkDelta
{
    public string? Role { get; init; }

    public string? Content { get; set; }
}

/// <summary>Source-generated serialization of <see cref="ChatCompletionChunk"/>, with the naming OpenAI uses.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionChunk))]
public sealed partial class ChunkJsonContext : JsonSerializerContext;
