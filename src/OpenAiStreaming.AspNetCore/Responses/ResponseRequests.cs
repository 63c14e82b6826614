using System.Text.Json;

namespace OpenAiStreaming.AspNetCore.Responses;

// The body of POST /v1/responses (and of a WebSocket response.create message) as OpenAI defines it. Every field is
// nullable so that "absent" and "present" differ; fields with several shapes are JsonElements that
// ResponseRequestValidator reads, naming the field that is wrong. Unknown fields are ignored.

/// <summary>The body of <c>POST /v1/responses</c>.</summary>
internal sealed class CreateResponseRequest
{
    public string? Model { get; set; }

    /// <summary>A string, or an array of input items.</summary>
    public JsonElement Input { get; set; }

    public string? Instructions { get; set; }

    public int? MaxOutputTokens { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public List<ResponseToolDto?>? Tools { get; set; }

    /// <summary><c>"auto"</c>, <c>"none"</c>, <c>"required"</c>, or <c>{"type":"function","name":...}</c>.</summary>
    public JsonElement ToolChoice { get; set; }

    public ResponseTextDto? Text { get; set; }

    public Dictionary<string, string>? Metadata { get; set; }

    public bool? Store { get; set; }

    public bool? Stream { get; set; }

    public bool? Background { get; set; }

    public string? PreviousResponseId { get; set; }

    public bool? ParallelToolCalls { get; set; }

    public string? User { get; set; }

    // vLLM's extensions, as on the other endpoints.
    public long? Seed { get; set; }

    public int? TopK { get; set; }
}

/// <summary>A tool the model may call; only <c>function</c> tools are served.</summary>
internal sealed class ResponseToolDto
{
    public string? Type { get; set; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement Parameters { get; set; }

    public bool? Strict { get; set; }
}

/// <summary><c>text</c>: the output's format.</summary>
internal sealed class ResponseTextDto
{
    public ResponseFormatDto? Format { get; set; }
}

/// <summary><c>text.format</c>: <c>text</c>, <c>json_object</c> or <c>json_schema</c>.</summary>
internal sealed class ResponseFormatDto
{
    public string? Type { get; set; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public JsonElement Schema { get; set; }

    public bool? Strict { get; set; }
}

/// <summary>
/// One item of a conversation, in or out: a message (<c>content</c> a string or parts), a function call, or a function
/// call's output. The same shape is what the store keeps as a response's conversation.
/// </summary>
internal sealed class ResponseItemDto
{
    public string? Type { get; set; }

    public string? Id { get; set; }

    public string? Status { get; set; }

    public string? Role { get; set; }

    /// <summary>A string, or an array of content parts (<c>input_text</c>, <c>output_text</c>).</summary>
    public JsonElement? Content { get; set; }

    public string? CallId { get; set; }

    public string? Name { get; set; }

    public string? Arguments { get; set; }

    public JsonElement? Output { get; set; }
}

/// <summary>One content part of a message item.</summary>
internal sealed class ResponseContentPartDto
{
    public string? Type { get; set; }

    public string? Text { get; set; }
}
