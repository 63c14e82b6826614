using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>
/// Writes one stream's chunks as SSE events, field by field with <see cref="Utf8JsonWriter"/> straight into the response
/// pipe. <c>id</c>, <c>created</c> and <c>model</c> are fixed for the stream, as OpenAI's clients expect.
/// </summary>
internal sealed class ChunkWriter(ServerSentEventWriter sse, CompletionKind kind, string id, long created, string model)
{
    private static ReadOnlySpan<byte> Done => "[DONE]"u8;

    /// <summary>
    /// Where a content chunk's JSON is assembled on this thread (see <see cref="WriteChatContent"/>): one buffer and
    /// one string escaper per thread, not per stream, since a chunk is written in one synchronous call.
    /// </summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_chunk;

    /// <summary>Escapes one JSON string at a time into <see cref="t_chunk"/>, as the event writer's JSON writer would.</summary>
    [ThreadStatic]
    private static Utf8JsonWriter? t_strings;

    /// <summary>
    /// The stream and choice whose fixed start (<c>{"id":…,"index":N</c>) <see cref="t_chunk"/> begins with, and its
    /// length: a consumer that drains several deltas of one stream writes that start once, not once per chunk.
    /// </summary>
    [ThreadStatic]
    private static (ChunkWriter? Writer, int Choice, int Length) t_start;

    /// <summary>Usage written into every chunk (vLLM's <c>continuous_usage_stats</c>), or null.</summary>
    public TokenUsage? ContinuousUsage { get; set; }

    public void WriteRole(int choice = 0)
    {
        if (kind != CompletionKind.Chat)
        {
            return;
        }

        var json = BeginChunk(choice);
        json.WriteStartObject("delta");
        json.WriteString("role", "assistant");
        json.WriteString("content", "");
        json.WriteEndObject();
        json.WriteNull("logprobs");
        EndChoice(json, finishReason: null);
    }

    /// <summary>Writes text, with its tokens' logprobs when the request asked for them.</summary>
    /// <param name="text">The text.</param>
    /// <param name="choice">The choice's index.</param>
    /// <param name="logprobs">The logprobs, or null when the request did not ask for them.</param>
    /// <param name="textOffset">Where the text starts in the choice's whole text (legacy completions' <c>text_offset</c>).</param>
    public void WriteContent(ReadOnlySpan<char> text, int choice = 0, IReadOnlyList<LogprobContent>? logprobs = null, int textOffset = 0)
    {
        if (kind == CompletionKind.Chat && logprobs is null && ContinuousUsage is null)
        {
            WriteChatContent(text, choice);
            return;
        }

        var json = BeginChunk(choice);
        if (kind == CompletionKind.Chat)
        {
            json.WriteStartObject("delta");
            json.WriteString("content", text);
            json.WriteEndObject();
            WriteChatLogprobs(json, logprobs);
        }
        else
        {
            json.WriteString("text", text);
            WriteTextLogprobs(json, logprobs, textOffset);
        }

        EndChoice(json, finishReason: null);
    }

    /// <summary>
    /// The chunk of nearly every token, a chat content delta without logprobs, written from its fixed parts: the same
    /// bytes as the field-by-field path, in about a third of the time (ChunkSerializationBenchmarks), because only the
    /// strings go through the JSON writer's escaping and no writer state is kept per field.
    /// </summary>
    private void WriteChatContent(ReadOnlySpan<char> text, int choice)
    {
        var buffer = t_chunk ??= new ArrayBufferWriter<byte>(512);
        var strings = t_strings ??= new Utf8JsonWriter(buffer, ServerSentEventWriter.DefaultJsonOptions);
        buffer.ResetWrittenCount();
        if (t_start.Writer == this && t_start.Choice == choice)
        {
            // The buffer still begins with this stream's start: the reset kept its bytes.
            buffer.Advance(t_start.Length);
        }
        else
        {
            buffer.Write("{\"id\":"u8);
            WriteString(strings, buffer, id);
            buffer.Write(",\"object\":\"chat.completion.chunk\",\"created\":"u8);
            WriteNumber(buffer, created);
            buffer.Write(",\"model\":"u8);
            WriteString(strings, buffer, model);
            buffer.Write(",\"choices\":[{\"index\":"u8);
            WriteNumber(buffer, choice);
            t_start = (this, choice, buffer.WrittenCount);
        }

        buffer.Write(",\"delta\":{\"content\":"u8);
        WriteString(strings, buffer, text);
        buffer.Write("},\"logprobs\":null,\"finish_reason\":null}]}"u8);
        sse.WriteData(buffer.WrittenSpan);
        if (buffer.Capacity > 64 * 1024)
        {
            // One huge delta (a lagging client's merged text) must not pin its buffer to the thread for good.
            t_chunk = null;
            t_strings = null;
            t_start = default;
        }

        static void WriteString(Utf8JsonWriter strings, ArrayBufferWriter<byte> buffer, ReadOnlySpan<char> value)
        {
            strings.Reset(buffer);
            strings.WriteStringValue(value);
            strings.Flush();
        }

        static void WriteNumber(ArrayBufferWriter<byte> buffer, long value)
        {
            Utf8Formatter.TryFormat(value, buffer.GetSpan(20), out int written);
            buffer.Advance(written);
        }
    }

    /// <summary>
    /// Writes a tool call as OpenAI streams one: a first delta with <c>index</c>, <c>id</c>, <c>type</c> and
    /// <c>function.name</c> (and empty arguments), then the arguments in a delta of the same index.
    /// </summary>
    public void WriteToolCall(int index, FunctionCallContent call, int choice = 0)
    {
        var json = BeginChunk(choice);
        json.WriteStartObject("delta");
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteNumber("index", index);
        json.WriteString("id", call.CallId);
        json.WriteString("type", "function");
        json.WriteStartObject("function");
        json.WriteString("name", call.Name);
        json.WriteString("arguments", "");
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNull("logprobs");
        EndChoice(json, finishReason: null);

        json = BeginChunk(choice);
        json.WriteStartObject("delta");
        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteNumber("index", index);
        json.WriteStartObject("function");
        json.WriteString("arguments", ToolCallArguments.Serialize(call));
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteNull("logprobs");
        EndChoice(json, finishReason: null);
    }

    public void WriteFinish(string finishReason, int choice = 0)
    {
        var json = BeginChunk(choice);
        if (kind == CompletionKind.Chat)
        {
            json.WriteStartObject("delta");
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("text", "");
        }

        json.WriteNull("logprobs");
        EndChoice(json, finishReason);
    }

    public void WriteUsage(int promptTokens, int completionTokens)
    {
        var json = BeginObject();
        json.WriteStartArray("choices");
        json.WriteEndArray();
        WriteUsageObject(json, new TokenUsage(promptTokens, completionTokens));
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

    /// <summary>OpenAI reports an impossible token's logprob as -9999 rather than -infinity, which JSON cannot carry.</summary>
    internal static double Clamp(double logprob) => double.IsFinite(logprob) ? logprob : logprob > 0 ? 0 : -9999;

    internal static void WriteBytes(Utf8JsonWriter json, string token)
    {
        json.WriteStartArray("bytes");
        Span<byte> buffer = stackalloc byte[256];
        if (Encoding.UTF8.GetMaxByteCount(token.Length) > buffer.Length)
        {
            buffer = new byte[Encoding.UTF8.GetMaxByteCount(token.Length)];
        }

        int count = Encoding.UTF8.GetBytes(token, buffer);
        foreach (byte b in buffer[..count])
        {
            json.WriteNumberValue(b);
        }

        json.WriteEndArray();
    }

    private static void WriteChatLogprobs(Utf8JsonWriter json, IReadOnlyList<LogprobContent>? logprobs)
    {
        if (logprobs is null)
        {
            json.WriteNull("logprobs");
            return;
        }

        // Indexed loops: a foreach over the interfaces would allocate an enumerator per chunk and per token.
        json.WriteStartObject("logprobs");
        json.WriteStartArray("content");
        for (int i = 0; i < logprobs.Count; i++)
        {
            var logprob = logprobs[i];
            json.WriteStartObject();
            WriteTokenFields(json, logprob.Token, logprob.Logprob);
            json.WriteStartArray("top_logprobs");
            var alternatives = logprob.TopLogprobs;
            for (int k = 0; k < alternatives.Count; k++)
            {
                json.WriteStartObject();
                WriteTokenFields(json, alternatives[k].Token, alternatives[k].Logprob);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNull("refusal");
        json.WriteEndObject();
    }

    /// <summary>A chat logprob entry's <c>token</c>, <c>logprob</c> and <c>bytes</c>.</summary>
    private static void WriteTokenFields(Utf8JsonWriter json, string token, double logprob)
    {
        json.WriteString("token", token);
        json.WriteNumber("logprob", Clamp(logprob));
        WriteBytes(json, token);
    }

    private static void WriteTextLogprobs(Utf8JsonWriter json, IReadOnlyList<LogprobContent>? logprobs, int textOffset)
    {
        if (logprobs is null)
        {
            json.WriteNull("logprobs");
            return;
        }

        json.WriteStartObject("logprobs");
        json.WriteStartArray("tokens");
        foreach (var logprob in logprobs)
        {
            json.WriteStringValue(logprob.Token);
        }

        json.WriteEndArray();
        json.WriteStartArray("token_logprobs");
        foreach (var logprob in logprobs)
        {
            json.WriteNumberValue(Clamp(logprob.Logprob));
        }

        json.WriteEndArray();
        json.WriteStartArray("top_logprobs");
        foreach (var logprob in logprobs)
        {
            json.WriteStartObject();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var top in logprob.TopLogprobs)
            {
                // A JSON object has one value per key; the most likely of equal tokens is listed first.
                if (seen.Add(top.Token))
                {
                    json.WriteNumber(top.Token, Clamp(top.Logprob));
                }
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("text_offset");
        int offset = textOffset;
        foreach (var logprob in logprobs)
        {
            json.WriteNumberValue(offset);
            offset += logprob.Token.Length;
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private void WriteUsageObject(Utf8JsonWriter json, TokenUsage usage)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.Prompt);
        json.WriteNumber("completion_tokens", usage.Completion);
        json.WriteNumber("total_tokens", usage.Prompt + usage.Completion);
        json.WriteEndObject();
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

    private Utf8JsonWriter BeginChunk(int choice)
    {
        var json = BeginObject();
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", choice);
        return json;
    }

    private void EndChoice(Utf8JsonWriter json, string? finishReason)
    {
        json.WriteString("finish_reason", finishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        if (ContinuousUsage is { } usage)
        {
            WriteUsageObject(json, usage);
        }

        json.WriteEndObject();
        sse.EndJsonData();
    }
}
