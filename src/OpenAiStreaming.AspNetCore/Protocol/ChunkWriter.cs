using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>
/// Writes one stream's chunks as SSE events, field by field with <see cref="Utf8JsonWriter"/> straight into the response
/// pipe. <c>id</c>, <c>created</c> and <c>model</c> are fixed for the stream, as OpenAI's clients expect.
/// </summary>
internal sealed class ChunkWriter(ServerSentEventWriter sse, CompletionKind kind, string id, long created, string model)
{
    private static ReadOnlySpan<byte> Done => "[DONE]"u8;

    public void WriteRole()
    {
        if (kind != CompletionKind.Chat)
        {
            return;
        }

        var json = BeginChunk();
        json.WriteStartObject("delta");
        json.WriteString("role", "assistant");
        json.WriteString("content", "");
        json.WriteEndObject();
        EndChoice(json, finishReason: null);
    }

    public void WriteContent(ReadOnlySpan<char> text)
    {
        var json = BeginChunk();
        if (kind == CompletionKind.Chat)
        {
            json.WriteStartObject("delta");
            json.WriteString("content", text);
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", text);
        }

        EndChoice(json, finishReason: null);
    }

    public void WriteToolCall(int index, FunctionCallContent call)
    {
        var json = BeginChunk();
        json.WriteStartObject("delta");
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteNumber("index", index);
        json.WriteString("id", call.CallId);
        json.WriteString("type", "function");
        json.WriteStartObject("function");
        json.WriteString("name", call.Name);
        json.WriteString("arguments", ToolCallArguments.Serialize(call));
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        EndChoice(json, finishReason: null);
    }

    public void WriteFinish(string finishReason)
    {
        var json = BeginChunk();
        if (kind == CompletionKind.Chat)
        {
            json.WriteStartObject("delta");
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", "");
        }

        EndChoice(json, finishReason);
    }

    public void WriteUsage(int promptTokens, int completionTokens)
    {
        var json = BeginObject();
        json.WriteStartArray("choices");
        json.WriteEndArray();
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", promptTokens + completionTokens);
        json.WriteEndObject();
        json.WriteEndObject();
        sse.EndJsonData();
    }

    public void WriteDone() => sse.WriteData(Done);

    public void WriteError(OpenAiError error)
    {
        var json = sse.BeginJsonData();
        json.WriteStartObject();
        json.WriteStartObject("error");
        json.WriteString("message", error.Message);
        json.WriteString("type", error.Type);
        json.WriteString("param", error.Param);
        json.WriteString("code", error.Code);
        json.WriteEndObject();
        json.WriteEndObject();
        sse.EndJsonData();
    }

    private Utf8JsonWriter BeginObject()
    {
        var json = sse.BeginJsonData();
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", kind == CompletionKind.Chat ? "chat.completion.chunk" : "text_completion");
        json.WriteNumber("created", created);
        json.WriteString("model", model);
        return json;
    }

    private Utf8JsonWriter BeginChunk()
    {
        var json = BeginObject();
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        return json;
    }

    private void EndChoice(Utf8JsonWriter json, string? finishReason)
    {
        json.WriteNull("logprobs");
        json.WriteString("finish_reason", finishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        sse.EndJsonData();
    }
}
