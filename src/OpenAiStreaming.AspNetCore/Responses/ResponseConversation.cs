using System.Text.Json;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Conversations as items: what a stored response keeps for <c>previous_response_id</c>, and how items become the
/// Microsoft.Extensions.AI messages a model reads.
/// </summary>
internal static class ResponseConversation
{
    /// <summary>A message's content as a plain JSON string.</summary>
    public static JsonElement? TextContent(string text) =>
        JsonSerializer.SerializeToElement(text, ResponsesJsonContext.Default.String);

    public static byte[] Serialize(List<ResponseItemDto> items) =>
        JsonSerializer.SerializeToUtf8Bytes(items, ResponsesJsonContext.Default.ListResponseItemDto);

    public static List<ResponseItemDto> Deserialize(ReadOnlyMemory<byte> conversation) =>
        conversation.IsEmpty ? [] : JsonSerializer.Deserialize(conversation.Span, ResponsesJsonContext.Default.ListResponseItemDto) ?? [];

    /// <summary>The messages a model reads: the instructions as a system message, then every item in order.</summary>
    /// <remarks>The items passed validation (<see cref="ResponseRequestValidator"/>) or were stored by this server.</remarks>
    public static List<ChatMessage> ToMessages(string? instructions, IEnumerable<ResponseItemDto> items)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(instructions))
        {
            messages.Add(new ChatMessage(ChatRole.System, instructions));
        }

        foreach (var item in items)
        {
            switch (item.Type)
            {
                case ResponseOutputItem.FunctionCallType:
                    messages.Add(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent(item.CallId!, item.Name!, ParseArguments(item.Arguments))]));
                    break;
                case "function_call_output":
                    messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(item.CallId!, OutputText(item.Output ?? default))]));
                    break;
                default:
                    messages.Add(new ChatMessage(ToRole(item.Role), ContentText(item.Content ?? default)));
                    break;
            }
        }

        return messages;
    }

    public static ChatRole ToRole(string? role) => role switch
    {
        "system" or "developer" => ChatRole.System,
        "assistant" => ChatRole.Assistant,
        _ => ChatRole.User,
    };

    /// <summary>The text of a message's content: the string, or its text parts joined.</summary>
    public static string ContentText(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return string.Empty;
        }

        var parts = new List<string>();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                parts.Add(text.GetString()!);
            }
        }

        return string.Concat(parts);
    }

    /// <summary>A function call output's text: a string as it is, anything else as its JSON.</summary>
    public static string OutputText(JsonElement output) => output.ValueKind switch
    {
        JsonValueKind.String => output.GetString()!,
        JsonValueKind.Undefined or JsonValueKind.Null => string.Empty,
        _ => output.GetRawText(),
    };

    /// <summary>A function call's arguments (a JSON object string) as the dictionary Microsoft.Extensions.AI carries.</summary>
    /// <exception cref="JsonException">The arguments are not a JSON object.</exception>
    public static IDictionary<string, object?>? ParseArguments(string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return null;
        }

        using var document = JsonDocument.Parse(arguments);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("expected a JSON object");
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            result[property.Name] = property.Value.Clone();
        }

        return result;
    }
}
