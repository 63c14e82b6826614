using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace OpenAiStreaming.Benchmarks;

/// <summary>One stream's constants, as a real server would send them, and the tokens its content deltas carry.</summary>
internal static class StreamData
{
    public const string Id = "chatcmpl-3f9c2a7be41d08c6a5f7e2d91b04c3aa";

    public const string Model = "meta-llama/Llama-3.1-8B-Instruct";

    public const long Created = 1_767_225_600;

    /// <summary>Content deltas of a few characters each, as a tokenizer cuts English text.</summary>
    public static readonly string[] Tokens = ["Hello", ",", " how", " can", " I", " help", " you", " today", "?", " The", " pump", " merges"];

    /// <summary>Reflection-based options that write the same JSON as <see cref="ChunkJsonContext"/>.</summary>
    public static readonly JsonSerializerOptions ReflectionOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>The JSON writer options ServerSentEventWriter uses by default.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A new chunk for one token, as an endpoint that serializes objects builds it.</summary>
    public static ChatCompletionChunk NewChunk(string token) => new()
    {
        Id = Id,
        Created = Created,
        Model = Model,
        Choices = [new ChunkChoice { Delta = new ChunkDelta { Content = token } }],
    };
}
