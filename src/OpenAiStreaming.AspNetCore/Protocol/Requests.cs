using System.Text.Json;
using System.Text.Json.Serialization;

namespace OpenAiStreaming.AspNetCore.Protocol;

// Request bodies as OpenAI and vLLM define them. Every field is nullable so that "absent" and "present" differ, and
// validation (RequestValidator) can name the field that is wrong. Unknown fields are ignored.

/// <summary>Fields common to chat and text completions.</summary>
internal abstract class CompletionRequestBase
{
    public string? Model { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? MaxTokens { get; set; }

    public StopSequences? Stop { get; set; }

    public long? Seed { get; set; }

    public double? FrequencyPenalty { get; set; }

    public double? PresencePenalty { get; set; }

    public int? N { get; set; }

    public string? User { get; set; }

    // vLLM's extensions.
    public int? TopK { get; set; }

    public double? MinP { get; set; }

    public double? RepetitionPenalty { get; set; }

    public List<int>? StopTokenIds { get; set; }

    public bool? IncludeStopStrInOutput { get; set; }

    public Dictionary<string, double>? LogitBias { get; set; }
}

internal sealed class ChatCompletionRequest : CompletionRequestBase
{
    public List<ChatMessageDto?>? Messages { get; set; }

    public int? MaxCompletionTokens { get; set; }

    public bool? Logprobs { get; set; }

    public int? TopLogprobs { get; set; }

    public List<ToolDto?>? Tools { get; set; }

    public ToolChoiceDto? ToolChoice { get; set; }

    public bool? ParallelToolCalls { get; set; }

    public ResponseFormatDto? ResponseFormat { get; set; }
}

internal sealed class ToolDto
{
    public string? Type { get; set; }

    public FunctionDefinitionDto? Function { get; set; }
}

internal sealed class FunctionDefinitionDto
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement? Parameters { get; set; }

    public bool? Strict { get; set; }
}

internal sealed class ResponseFormatDto
{
    public string? Type { get; set; }

    public JsonSchemaFormatDto? JsonSchema { get; set; }
}

internal sealed class JsonSchemaFormatDto
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement? Schema { get; set; }

    public bool? Strict { get; set; }
}

/// <summary><c>tool_choice</c>: <c>none</c>, <c>auto</c>, <c>required</c>, or <c>{"type":"function","function":{"name"}}</c>.</summary>
[JsonConverter(typeof(ToolChoiceConverter))]
internal sealed class ToolChoiceDto
{
    /// <summary>The string form, or null for the object form.</summary>
    public string? Mode { get; init; }

    /// <summary>The object form's <c>type</c>.</summary>
    public string? Type { get; init; }

    /// <summary>The object form's <c>function.name</c>.</summary>
    public string? FunctionName { get; init; }
}

internal sealed class NamedToolChoiceDto
{
    public string? Type { get; set; }

    public FunctionCallDto? Function { get; set; }
}

internal sealed class CompletionRequest : CompletionRequestBase
{
    public PromptDto? Prompt { get; set; }

    public bool? Echo { get; set; }

    public string? Suffix { get; set; }

    public int? Logprobs { get; set; }
}

internal sealed class StreamOptionsDto
{
    public bool? IncludeUsage { get; set; }

    public bool? ContinuousUsageStats { get; set; }
}

internal sealed class ChatMessageDto
{
    public string? Role { get; set; }

    public MessageContent? Content { get; set; }

    public string? Name { get; set; }

    public string? ToolCallId { get; set; }

    public List<ToolCallDto?>? ToolCalls { get; set; }
}

internal sealed class ToolCallDto
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public FunctionCallDto? Function { get; set; }
}

internal sealed class FunctionCallDto
{
    public string? Name { get; set; }

    public string? Arguments { get; set; }
}

internal sealed class ContentPartDto
{
    public string? Type { get; set; }

    public string? Text { get; set; }

    public ImageUrlDto? ImageUrl { get; set; }

    public InputAudioDto? InputAudio { get; set; }
}

internal sealed class ImageUrlDto
{
    public string? Url { get; set; }

    public string? Detail { get; set; }
}

internal sealed class InputAudioDto
{
    public string? Data { get; set; }

    public string? Format { get; set; }
}

/// <summary>A message's content: a string, or an array of content parts.</summary>
[JsonConverter(typeof(MessageContentConverter))]
internal sealed class MessageContent
{
    public string? Text { get; init; }

    public List<ContentPartDto?>? Parts { get; init; }
}

/// <summary><c>stop</c>: a string or an array of strings.</summary>
[JsonConverter(typeof(StopSequencesConverter))]
internal sealed class StopSequences
{
    public required List<string> Values { get; init; }
}

/// <summary><c>prompt</c>: a string or an array of strings (token arrays are not supported).</summary>
[JsonConverter(typeof(PromptConverter))]
internal sealed class PromptDto
{
    public required List<string> Values { get; init; }
}

internal sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    public override MessageContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new MessageContent { Text = reader.GetString() };
            case JsonTokenType.StartArray:
                try
                {
                    return new MessageContent { Parts = JsonSerializer.Deserialize(ref reader, OpenAiJsonContext.Default.ListContentPartDto) };
                }
                catch (JsonException ex)
                {
                    // The nested call knows only its own path ($[0].text); wrapped, the outer serializer adds the
                    // path to this content, and RequestReader joins the two.
                    throw new JsonException(null, ex);
                }

            default:
                throw new JsonException("expected a string or an array of content parts");
        }
    }

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options) =>
        throw new NotSupportedException();
}

internal sealed class ToolChoiceConverter : JsonConverter<ToolChoiceDto>
{
    public override ToolChoiceDto? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new ToolChoiceDto { Mode = reader.GetString() };
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("expected 'none', 'auto', 'required' or an object naming a function");
        }

        try
        {
            var named = JsonSerializer.Deserialize(ref reader, OpenAiJsonContext.Default.NamedToolChoiceDto)!;
            return new ToolChoiceDto { Type = named.Type, FunctionName = named.Function?.Name };
        }
        catch (JsonException ex)
        {
            throw new JsonException(null, ex);
        }
    }

    public override void Write(Utf8JsonWriter writer, ToolChoiceDto value, JsonSerializerOptions options) =>
        throw new NotSupportedException();
}

internal sealed class StopSequencesConverter : JsonConverter<StopSequences>
{
    public override StopSequences? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new() { Values = StringOrArray.Read(ref reader, "expected a string or an array of strings") };

    public override void Write(Utf8JsonWriter writer, StopSequences value, JsonSerializerOptions options) =>
        throw new NotSupportedException();
}

internal sealed class PromptConverter : JsonConverter<PromptDto>
{
    public override PromptDto? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new() { Values = StringOrArray.Read(ref reader, "expected a string or an array of strings (token arrays are not supported)") };

    public override void Write(Utf8JsonWriter writer, PromptDto value, JsonSerializerOptions options) =>
        throw new NotSupportedException();
}

internal static class StringOrArray
{
    public static List<string> Read(ref Utf8JsonReader reader, string expected)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return [reader.GetString()!];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException(expected);
        }

        var values = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException(expected);
            }

            values.Add(reader.GetString()!);
        }

        return values;
    }
}
