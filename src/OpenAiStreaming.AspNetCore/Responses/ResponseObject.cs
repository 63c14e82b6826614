using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// One response as the API shows it (<c>"object":"response"</c>): what the request asked for, echoed, and what the
/// model produced so far. Written whole into <c>response.*</c> events, whole answers, the store and <c>GET</c>.
/// </summary>
internal sealed class ResponseObject
{
    /// <summary>Compact output with UTF-8 text as it is: what every response event and body is written with.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public ResponseObject(string id, ResponseRequest request, long createdAt)
    {
        Id = id;
        Request = request;
        CreatedAt = createdAt;
        Status = request.Background ? ResponseStatus.Queued : ResponseStatus.InProgress;
    }

    public string Id { get; }

    public ResponseRequest Request { get; }

    public long CreatedAt { get; }

    public ResponseStatus Status { get; set; }

    public List<ResponseOutputItem> Output { get; } = [];

    public TokenUsage? Usage { get; set; }

    /// <summary>The <c>error</c> of a failed response: its code and message.</summary>
    public (string Code, string Message)? Error { get; set; }

    /// <summary>The <c>incomplete_details.reason</c> of an incomplete response.</summary>
    public string? IncompleteReason { get; set; }

    /// <summary>The input items of the conversation before this request's, when it continues a stored response.</summary>
    public List<ResponseItemDto> PriorConversation { get; init; } = [];

    public static string StatusName(ResponseStatus status) => status switch
    {
        ResponseStatus.Queued => "queued",
        ResponseStatus.InProgress => "in_progress",
        ResponseStatus.Completed => "completed",
        ResponseStatus.Incomplete => "incomplete",
        ResponseStatus.Failed => "failed",
        _ => "cancelled",
    };

    /// <summary>This response as the store keeps it; its conversation once it has finished.</summary>
    public StoredResponse ToStored()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteTo(writer);
        }

        bool finished = Status is not (ResponseStatus.Queued or ResponseStatus.InProgress);
        return new StoredResponse
        {
            Id = Id,
            Status = Status,
            Background = Request.Background,
            Json = buffer.WrittenMemory.ToArray(),
            Conversation = finished ? ResponseConversation.Serialize([.. PriorConversation, .. Request.Input, .. Output.Select(o => o.ToConversationItem())]) : default,
        };
    }

    public void WriteTo(Utf8JsonWriter writer)
    {
        var request = Request;
        writer.WriteStartObject();
        writer.WriteString("id"u8, Id);
        writer.WriteString("object"u8, "response"u8);
        writer.WriteNumber("created_at"u8, CreatedAt);
        writer.WriteString("status"u8, StatusName(Status));
        writer.WriteBoolean("background"u8, request.Background);
        if (Error is { } error)
        {
            writer.WriteStartObject("error"u8);
            writer.WriteString("code"u8, error.Code);
            writer.WriteString("message"u8, error.Message);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("error"u8);
        }

        if (IncompleteReason is { } reason)
        {
            writer.WriteStartObject("incomplete_details"u8);
            writer.WriteString("reason"u8, reason);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("incomplete_details"u8);
        }

        WriteNullableString(writer, "instructions"u8, request.Instructions);
        if (request.MaxOutputTokens is { } max)
        {
            writer.WriteNumber("max_output_tokens"u8, max);
        }
        else
        {
            writer.WriteNull("max_output_tokens"u8);
        }

        writer.WriteString("model"u8, request.Model);
        writer.WriteStartArray("output"u8);
        foreach (var item in Output)
        {
            WriteItem(writer, item);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("parallel_tool_calls"u8, request.ParallelToolCalls);
        WriteNullableString(writer, "previous_response_id"u8, request.PreviousResponseId);
        writer.WriteBoolean("store"u8, request.Store);
        writer.WriteNumber("temperature"u8, request.Temperature ?? 1.0);
        writer.WriteNumber("top_p"u8, request.TopP ?? 1.0);
        writer.WriteStartObject("text"u8);
        writer.WriteStartObject("format"u8);
        var format = request.Format;
        writer.WriteString("type"u8, format?.Type ?? "text");
        if (format?.Type == "json_schema")
        {
            WriteNullableString(writer, "name"u8, format.Name);
            writer.WritePropertyName("schema"u8);
            format.Schema.WriteTo(writer);
            writer.WriteBoolean("strict"u8, format.Strict ?? false);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WritePropertyName("tool_choice"u8);
        if (request.ToolChoice.ValueKind is JsonValueKind.String or JsonValueKind.Object)
        {
            request.ToolChoice.WriteTo(writer);
        }
        else
        {
            writer.WriteStringValue("auto"u8);
        }

        writer.WriteStartArray("tools"u8);
        foreach (var tool in request.Tools)
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, "function"u8);
            writer.WriteString("name"u8, tool.Name);
            WriteNullableString(writer, "description"u8, tool.Description);
            writer.WritePropertyName("parameters"u8);
            if (tool.Parameters.ValueKind == JsonValueKind.Object)
            {
                tool.Parameters.WriteTo(writer);
            }
            else
            {
                writer.WriteNullValue();
            }

            writer.WriteBoolean("strict"u8, tool.Strict ?? false);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteString("truncation"u8, "disabled"u8);
        if (Usage is { } usage)
        {
            writer.WriteStartObject("usage"u8);
            writer.WriteNumber("input_tokens"u8, usage.Prompt);
            writer.WriteStartObject("input_tokens_details"u8);
            writer.WriteNumber("cached_tokens"u8, 0);
            writer.WriteEndObject();
            writer.WriteNumber("output_tokens"u8, usage.Completion);
            writer.WriteStartObject("output_tokens_details"u8);
            writer.WriteNumber("reasoning_tokens"u8, 0);
            writer.WriteEndObject();
            writer.WriteNumber("total_tokens"u8, usage.Prompt + usage.Completion);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("usage"u8);
        }

        writer.WriteStartObject("metadata"u8);
        if (request.Metadata is { } metadata)
        {
            foreach (var (key, value) in metadata)
            {
                writer.WriteString(key, value);
            }
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>An output item as <c>output</c> and the <c>response.output_item.*</c> events show it.</summary>
    public static void WriteItem(Utf8JsonWriter writer, ResponseOutputItem item)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, item.Id);
        writer.WriteString("type"u8, item.Type);
        writer.WriteString("status"u8, item.Status);
        if (item.Type == ResponseOutputItem.MessageType)
        {
            writer.WriteString("role"u8, "assistant"u8);
            writer.WriteStartArray("content"u8);
            if (item.Status != "in_progress")
            {
                WriteTextPart(writer, item.Text!.ToString());
            }

            writer.WriteEndArray();
        }
        else
        {
            writer.WriteString("call_id"u8, item.CallId);
            writer.WriteString("name"u8, item.Name);
            writer.WriteString("arguments"u8, item.Status == "in_progress" ? string.Empty : item.Arguments);
        }

        writer.WriteEndObject();
    }

    /// <summary>An <c>output_text</c> content part.</summary>
    public static void WriteTextPart(Utf8JsonWriter writer, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "output_text"u8);
        writer.WriteString("text"u8, text);
        writer.WriteStartArray("annotations"u8);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteNullableString(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
