using System.Buffers;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore.Tests.Protocol;

public class ChunkWriterTests
{
    private const string Id = "chatcmpl-abc123";
    private const long Created = 1_700_000_000;
    private const string Model = "tiny-model";

    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0));
    private readonly ServerSentEventWriter _sse;

    public ChunkWriterTests()
    {
        _sse = new ServerSentEventWriter(_pipe.Writer);
    }

    [Fact]
    public async Task WriteContent_Chat_ExactBytes()
    {
        Writer(CompletionKind.Chat).WriteContent("Hello");

        Assert.Equal(
            "data: {\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"tiny-model\","
            + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
            await FlushAndReadAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("line \"one\"\nzwei – 三 <tag> & \\ \t\r\b\f")]
    [InlineData("emoji 🦊 and \u0001\u001f\u007f\u2028\u2029")]
    [InlineData("'single' `back` /slash/ +plus+")]
    public async Task WriteContent_Chat_SameBytesAsTheJsonWriter(string text)
    {
        // The content chunk is assembled from fixed parts; what it escapes must match Utf8JsonWriter with the event
        // writer's relaxed encoder, field by field, for any text and any model name.
        const string model = "model \"quoted\" ü";
        new ChunkWriter(_sse, CompletionKind.Chat, Id, Created, model).WriteContent(text, choice: 3);

        var expected = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(expected, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("id", Id);
            json.WriteString("object", "chat.completion.chunk");
            json.WriteNumber("created", Created);
            json.WriteString("model", model);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 3);
            json.WriteStartObject("delta");
            json.WriteString("content", text);
            json.WriteEndObject();
            json.WriteNull("logprobs");
            json.WriteNull("finish_reason");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        Assert.Equal("data: " + Encoding.UTF8.GetString(expected.WrittenSpan) + "\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task WriteContent_StreamsAndChoicesInterleavedOnOneThread_EachChunkItsOwnStart()
    {
        // A thread keeps the start of the last stream's chunk (id to index) and reuses it for that stream's next chunk:
        // any other stream, choice or a buffer dropped after a huge delta must write its own.
        var first = new ChunkWriter(_sse, CompletionKind.Chat, "chatcmpl-first", Created, Model);
        var second = new ChunkWriter(_sse, CompletionKind.Chat, "chatcmpl-second", Created + 1, "other \"model\"");
        string huge = new('x', 70_000);
        var writes = new (ChunkWriter Writer, string Id, long Created, string Model, int Choice, string Text)[]
        {
            (first, "chatcmpl-first", Created, Model, 0, "a"),
            (first, "chatcmpl-first", Created, Model, 0, "b"),
            (second, "chatcmpl-second", Created + 1, "other \"model\"", 0, "c"),
            (first, "chatcmpl-first", Created, Model, 0, "d"),
            (first, "chatcmpl-first", Created, Model, 1, "e"),
            (first, "chatcmpl-first", Created, Model, 0, huge),
            (first, "chatcmpl-first", Created, Model, 0, "f"),
            (second, "chatcmpl-second", Created + 1, "other \"model\"", 0, "g"),
            (second, "chatcmpl-second", Created + 1, "other \"model\"", 0, "h"),
        };

        foreach (var w in writes)
        {
            w.Writer.WriteContent(w.Text, w.Choice);
        }

        Assert.Equal(
            string.Concat(writes.Select(w => "data: " + JsonSerializer.Serialize(new
            {
                id = w.Id,
                @object = "chat.completion.chunk",
                created = w.Created,
                model = w.Model,
                choices = new[] { new { index = w.Choice, delta = new { content = w.Text }, logprobs = (object?)null, finish_reason = (string?)null } },
            }, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n\n")),
            await FlushAndReadAsync());
    }

    [Fact]
    public async Task WriteRole_Chat_AssistantRoleWithEmptyContent()
    {
        Writer(CompletionKind.Chat).WriteRole();

        using var chunk = Assert.Single(await ReadEventsAsync());
        var choice = AssertChunk(chunk.RootElement, "chat.completion.chunk");
        AssertProperties(choice.GetProperty("delta"), "role", "content");
        Assert.Equal("assistant", choice.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("", choice.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("finish_reason").ValueKind);
    }

    [Fact]
    public async Task WriteRole_Text_WritesNothing()
    {
        Writer(CompletionKind.Text).WriteRole();

        await _sse.FlushAsync(TestContext.Current.CancellationToken);
        Assert.False(_pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task WriteContent_ChatWithSpecialCharacters_DeltaContentRoundTrips()
    {
        const string text = "line \"one\"\nzwei – 三 <tag> & \\";
        Writer(CompletionKind.Chat).WriteContent(text);

        using var chunk = Assert.Single(await ReadEventsAsync());
        var choice = AssertChunk(chunk.RootElement, "chat.completion.chunk");
        AssertProperties(choice.GetProperty("delta"), "content");
        Assert.Equal(text, choice.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("finish_reason").ValueKind);
    }

    [Fact]
    public async Task WriteContent_Text_TextFieldWithoutDelta()
    {
        Writer(CompletionKind.Text).WriteContent("Once");

        using var chunk = Assert.Single(await ReadEventsAsync());
        var choice = AssertChunk(chunk.RootElement, "text_completion");
        AssertProperties(choice, "index", "text", "logprobs", "finish_reason");
        Assert.Equal("Once", choice.GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("finish_reason").ValueKind);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("length")]
    [InlineData("tool_calls")]
    [InlineData("content_filter")]
    public async Task WriteFinish_Chat_EmptyDeltaAndFinishReason(string reason)
    {
        Writer(CompletionKind.Chat).WriteFinish(reason);

        using var chunk = Assert.Single(await ReadEventsAsync());
        var choice = AssertChunk(chunk.RootElement, "chat.completion.chunk");
        AssertProperties(choice.GetProperty("delta"));
        Assert.Equal(reason, choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task WriteFinish_Text_EmptyTextAndFinishReason()
    {
        Writer(CompletionKind.Text).WriteFinish("length");

        using var chunk = Assert.Single(await ReadEventsAsync());
        var choice = AssertChunk(chunk.RootElement, "text_completion");
        AssertProperties(choice, "index", "text", "logprobs", "finish_reason");
        Assert.Equal("", choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData("Chat", "chat.completion.chunk")]
    [InlineData("Text", "text_completion")]
    public async Task WriteUsage_AnyKind_EmptyChoicesAndTotals(string kind, string expectedObject)
    {
        Writer(Enum.Parse<CompletionKind>(kind)).WriteUsage(12, 30);

        using var chunk = Assert.Single(await ReadEventsAsync());
        var root = chunk.RootElement;
        AssertProperties(root, "id", "object", "created", "model", "choices", "usage");
        Assert.Equal(Id, root.GetProperty("id").GetString());
        Assert.Equal(expectedObject, root.GetProperty("object").GetString());
        Assert.Equal(Created, root.GetProperty("created").GetInt64());
        Assert.Equal(Model, root.GetProperty("model").GetString());
        Assert.Equal(0, root.GetProperty("choices").GetArrayLength());
        var usage = root.GetProperty("usage");
        AssertProperties(usage, "prompt_tokens", "completion_tokens", "total_tokens");
        Assert.Equal(12, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(30, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(42, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task WriteToolCall_Chat_NameDeltaThenArgumentsDeltaOfSameIndex()
    {
        var call = new FunctionCallContent("call_9", "weather", new Dictionary<string, object?> { ["city"] = "Paris" });

        Writer(CompletionKind.Chat).WriteToolCall(1, call);

        var events = await ReadEventsAsync();
        Assert.Equal(2, events.Count);
        var first = Assert.Single(AssertChunk(events[0].RootElement, "chat.completion.chunk").GetProperty("delta").GetProperty("tool_calls").EnumerateArray());
        AssertProperties(first, "index", "id", "type", "function");
        Assert.Equal(1, first.GetProperty("index").GetInt32());
        Assert.Equal("call_9", first.GetProperty("id").GetString());
        Assert.Equal("function", first.GetProperty("type").GetString());
        Assert.Equal("weather", first.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("", first.GetProperty("function").GetProperty("arguments").GetString());
        var second = Assert.Single(AssertChunk(events[1].RootElement, "chat.completion.chunk").GetProperty("delta").GetProperty("tool_calls").EnumerateArray());
        AssertProperties(second, "index", "function");
        Assert.Equal(1, second.GetProperty("index").GetInt32());
        Assert.Equal("""{"city":"Paris"}""", second.GetProperty("function").GetProperty("arguments").GetString());
        foreach (var e in events)
        {
            e.Dispose();
        }
    }

    [Fact]
    public async Task WriteToolCall_NoArguments_EmptyObjectString()
    {
        Writer(CompletionKind.Chat).WriteToolCall(0, new FunctionCallContent("c", "now"));

        var events = await ReadEventsAsync();
        var toolCall = events[1].RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.Equal("{}", toolCall.GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task WriteContent_ChatWithLogprobs_ContentEntriesWithTokenLogprobBytesAndTopLogprobs()
    {
        var logprob = new LogprobContent("é", -0.25, [new TopLogprob("é", -0.25), new TopLogprob("e", -1.5)]);

        Writer(CompletionKind.Chat).WriteContent("é", choice: 1, logprobs: [logprob]);

        using var chunk = Assert.Single(await ReadEventsAsync());
        var choice = chunk.RootElement.GetProperty("choices")[0];
        Assert.Equal(1, choice.GetProperty("index").GetInt32());
        var entry = Assert.Single(choice.GetProperty("logprobs").GetProperty("content").EnumerateArray());
        AssertProperties(entry, "token", "logprob", "bytes", "top_logprobs");
        Assert.Equal("é", entry.GetProperty("token").GetString());
        Assert.Equal(-0.25, entry.GetProperty("logprob").GetDouble());
        Assert.Equal([0xC3, 0xA9], entry.GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()));
        var top = entry.GetProperty("top_logprobs").EnumerateArray().ToList();
        Assert.Equal(["é", "e"], top.Select(t => t.GetProperty("token").GetString()));
        Assert.Equal([101], top[1].GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()));
    }

    [Fact]
    public async Task WriteContent_TextWithLogprobs_LegacyArraysAndOffsets()
    {
        LogprobContent[] logprobs = [new("ab", -1, [new TopLogprob("ab", -1), new TopLogprob("x", -2)]), new("c", double.NegativeInfinity)];

        Writer(CompletionKind.Text).WriteContent("abc", logprobs: logprobs, textOffset: 5);

        using var chunk = Assert.Single(await ReadEventsAsync());
        var legacy = chunk.RootElement.GetProperty("choices")[0].GetProperty("logprobs");
        AssertProperties(legacy, "tokens", "token_logprobs", "top_logprobs", "text_offset");
        Assert.Equal(["ab", "c"], legacy.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal([-1.0, -9999.0], legacy.GetProperty("token_logprobs").EnumerateArray().Select(t => t.GetDouble()));
        Assert.Equal(-2, legacy.GetProperty("top_logprobs")[0].GetProperty("x").GetDouble());
        Assert.Equal([5, 7], legacy.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()));
    }

    [Fact]
    public async Task ContinuousUsage_Set_EveryChunkCarriesUsage()
    {
        var writer = Writer(CompletionKind.Chat);
        writer.ContinuousUsage = new AspNetCore.Streaming.TokenUsage(3, 4);

        writer.WriteContent("a");
        writer.WriteFinish("stop");

        var events = await ReadEventsAsync();
        Assert.All(events, e => Assert.Equal(7, e.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32()));
    }

    [Theory]
    [InlineData("Chat")]
    [InlineData("Text")]
    public async Task WriteDone_AnyKind_DoneMarkerExactBytes(string kind)
    {
        Writer(Enum.Parse<CompletionKind>(kind)).WriteDone();

        Assert.Equal("data: [DONE]\n\n", await FlushAndReadAsync());
    }

    [Theory]
    [InlineData("Chat")]
    [InlineData("Text")]
    public async Task WriteError_WithParamAndCode_OpenAiErrorObject(string kind)
    {
        Writer(Enum.Parse<CompletionKind>(kind)).WriteError(new OpenAiError(StatusCodes.Status400BadRequest, "bad \"value\"", OpenAiError.InvalidRequest, "temperature", "invalid_value"));

        using var chunk = Assert.Single(await ReadEventsAsync());
        AssertProperties(chunk.RootElement, "error");
        var error = chunk.RootElement.GetProperty("error");
        AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("bad \"value\"", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("temperature", error.GetProperty("param").GetString());
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task WriteError_WithoutParamAndCode_NullsWritten()
    {
        Writer(CompletionKind.Chat).WriteError(OpenAiError.Server("the model failed"));

        using var chunk = Assert.Single(await ReadEventsAsync());
        var error = chunk.RootElement.GetProperty("error");
        AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("the model failed", error.GetProperty("message").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal(JsonValueKind.Null, error.GetProperty("code").ValueKind);
    }

    [Fact]
    public async Task WholeChatStream_RoleContentFinishUsageDone_ConstantIdentityAndOrder()
    {
        var chunks = Writer(CompletionKind.Chat);
        chunks.WriteRole();
        chunks.WriteContent("Hi");
        chunks.WriteContent(" there");
        chunks.WriteFinish("stop");
        chunks.WriteUsage(3, 2);
        chunks.WriteDone();

        var items = await ParseAsync(await FlushAndReadBytesAsync());

        Assert.Equal(6, items.Count);
        Assert.Equal("[DONE]", items[^1].Data);
        var documents = items.Take(5).Select(i => JsonDocument.Parse(i.Data)).ToList();
        try
        {
            Assert.All(documents, d =>
            {
                Assert.Equal(Id, d.RootElement.GetProperty("id").GetString());
                Assert.Equal(Created, d.RootElement.GetProperty("created").GetInt64());
                Assert.Equal(Model, d.RootElement.GetProperty("model").GetString());
                Assert.Equal("chat.completion.chunk", d.RootElement.GetProperty("object").GetString());
            });
            Assert.Equal("assistant", documents[0].RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.Equal("Hi", documents[1].RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
            Assert.Equal(" there", documents[2].RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
            Assert.Equal("stop", documents[3].RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(5, documents[4].RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        }
        finally
        {
            documents.ForEach(d => d.Dispose());
        }
    }

    private ChunkWriter Writer(CompletionKind kind) => new(_sse, kind, Id, Created, Model);

    /// <summary>Checks the fields every chunk with a choice carries and returns that single choice.</summary>
    private static JsonElement AssertChunk(JsonElement root, string expectedObject)
    {
        AssertProperties(root, "id", "object", "created", "model", "choices");
        Assert.Equal(Id, root.GetProperty("id").GetString());
        Assert.Equal(expectedObject, root.GetProperty("object").GetString());
        Assert.Equal(JsonValueKind.Number, root.GetProperty("created").ValueKind);
        Assert.Equal(Created, root.GetProperty("created").GetInt64());
        Assert.Equal(Model, root.GetProperty("model").GetString());
        var choice = Assert.Single(root.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.True(choice.TryGetProperty("finish_reason", out _));
        return choice;
    }

    private static void AssertProperties(JsonElement element, params string[] names) =>
        Assert.Equal(names, element.EnumerateObject().Select(p => p.Name));

    private async Task<List<JsonDocument>> ReadEventsAsync()
    {
        var items = await ParseAsync(await FlushAndReadBytesAsync());
        return items.Select(i => JsonDocument.Parse(i.Data)).ToList();
    }

    private async Task<string> FlushAndReadAsync() => Encoding.UTF8.GetString(await FlushAndReadBytesAsync());

    private async Task<byte[]> FlushAndReadBytesAsync()
    {
        await _sse.FlushAsync(TestContext.Current.CancellationToken);
        Assert.True(_pipe.Reader.TryRead(out var result));
        var bytes = result.Buffer.ToArray();
        _pipe.Reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }

    private static async Task<List<SseItem<string>>> ParseAsync(byte[] bytes)
    {
        var items = new List<SseItem<string>>();
        using var stream = new MemoryStream(bytes);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        return items;
    }
}
