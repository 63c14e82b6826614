using System.Buffers;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace OpenAiStreaming.ServerSentEvents.Tests;

public class ServerSentEventWriterTests
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0));
    private readonly ServerSentEventWriter _writer;

    public ServerSentEventWriterTests()
    {
        _writer = new ServerSentEventWriter(_pipe.Writer);
    }

    [Fact]
    public async Task BeginJsonData_TwoWritersInterleavedOnOneThreadAndAcrossThreads_EachEventWhole()
    {
        // Writers with the default options share JSON writers between events; two events open at once on one thread,
        // and one ended on another thread than it began, must still each get their own.
        var ct = TestContext.Current.CancellationToken;
        var other = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var second = new ServerSentEventWriter(other.Writer);

        var a = _writer.BeginJsonData();
        a.WriteStartObject();
        a.WriteString("writer", "first");
        var b = second.BeginJsonData();
        Assert.NotSame(a, b);
        b.WriteStartObject();
        b.WriteString("writer", "second");
        await Task.Run(() =>
        {
            b.WriteEndObject();
            second.EndJsonData();
        }, ct);
        a.WriteEndObject();
        _writer.EndJsonData();
        var c = second.BeginJsonData();
        c.WriteNumberValue(3);
        second.EndJsonData();

        Assert.Equal("data: {\"writer\":\"first\"}\n\n", Encoding.UTF8.GetString(await FlushAndReadBytesAsync()));
        await second.FlushAsync(ct);
        var read = await other.Reader.ReadAsync(ct);
        Assert.Equal("data: {\"writer\":\"second\"}\n\ndata: 3\n\n", Encoding.UTF8.GetString(read.Buffer.ToArray()));
    }

    [Fact]
    public async Task WriteData_String_ExactBytes()
    {
        _writer.WriteData("x");

        Assert.Equal("data: x\n\n"u8.ToArray(), await FlushAndReadBytesAsync());
    }

    [Fact]
    public async Task WriteData_Utf8Bytes_ExactBytes()
    {
        _writer.WriteData("hello world"u8);

        Assert.Equal("data: hello world\n\n"u8.ToArray(), await FlushAndReadBytesAsync());
    }

    [Theory]
    [InlineData("a\nb", "data: a\ndata: b\n\n")]
    [InlineData("a\r\nb", "data: a\ndata: b\n\n")]
    [InlineData("a\rb", "data: a\ndata: b\n\n")]
    [InlineData("a\n\nb", "data: a\ndata: \ndata: b\n\n")]
    [InlineData("a\r\rb", "data: a\ndata: \ndata: b\n\n")]
    [InlineData("a\n", "data: a\ndata: \n\n")]
    [InlineData("\na", "data: \ndata: a\n\n")]
    [InlineData("", "data: \n\n")]
    public async Task WriteData_LineBreaks_OneDataLinePerLine(string data, string expected)
    {
        _writer.WriteData(data);

        Assert.Equal(expected, await FlushAndReadAsync());
    }

    // The format joins data lines with LF, so CR LF and CR come back as LF: the text the client sees is the same
    // text, line by line.
    [Theory]
    [InlineData("one line", "one line")]
    [InlineData("a\nb\nc", "a\nb\nc")]
    [InlineData("a\n\nb", "a\n\nb")]
    [InlineData("trailing\n", "trailing\n")]
    [InlineData("\nleading", "\nleading")]
    [InlineData("a\r\nb", "a\nb")]
    [InlineData("a\rb", "a\nb")]
    [InlineData("a\r\n\r\nb\rc\n", "a\n\nb\nc\n")]
    [InlineData("data: not a field\nid: 5", "data: not a field\nid: 5")]
    public async Task WriteData_LineBreaks_SseParserReassemblesText(string data, string expected)
    {
        _writer.WriteData(data);
        _writer.WriteData("next");

        var items = await ParseAsync(await FlushAndReadBytesAsync());

        Assert.Equal([expected, "next"], items.Select(i => i.Data));
        Assert.All(items, i => Assert.Equal("message", i.EventType));
    }

    [Theory]
    [InlineData(3991)] // the longest event written in one piece of the pipe (6 + data + 2 = 3,999 bytes)
    [InlineData(3992)]
    [InlineData(3993)]
    [InlineData(100_000)] // longer than a pipe segment: written piece by piece
    public async Task WriteData_OneLineAroundThePieceLimit_SameBytes(int length)
    {
        string data = new('d', length);

        _writer.WriteData("first"u8);
        _writer.WriteData(Encoding.UTF8.GetBytes(data));
        _writer.WriteData("last"u8, "done"u8);

        Assert.Equal(3, _writer.UnflushedEvents);
        Assert.Equal("data: first\n\ndata: " + data + "\n\nevent: done\ndata: last\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task WriteData_LongNonAsciiText_RoundTripsAsUtf8()
    {
        // Long enough to leave the stack buffer for a pooled one.
        string text = string.Concat(Enumerable.Repeat("héllo wörld 世界 ", 100));

        _writer.WriteData(text);
        var bytes = await FlushAndReadBytesAsync();

        Assert.Equal(Encoding.UTF8.GetBytes("data: " + text + "\n\n"), bytes);
        Assert.Equal(text, Assert.Single(await ParseAsync(bytes)).Data);
    }

    [Fact]
    public async Task WriteData_EventTypeAndId_FieldsBeforeData()
    {
        _writer.WriteData("x"u8, "delta"u8, "42"u8);
        var bytes = await FlushAndReadBytesAsync();

        Assert.Equal("event: delta\nid: 42\ndata: x\n\n"u8.ToArray(), bytes);
        var item = Assert.Single(await ParseAsync(bytes));
        Assert.Equal("delta", item.EventType);
        Assert.Equal("42", item.EventId);
        Assert.Equal("x", item.Data);
    }

    [Fact]
    public async Task WriteData_IdOnly_NoEventField()
    {
        _writer.WriteData("x"u8, id: "7"u8);

        Assert.Equal("id: 7\ndata: x\n\n", await FlushAndReadAsync());
    }

    [Theory]
    [InlineData("a\nb", "", "eventType")]
    [InlineData("a\rb", "", "eventType")]
    [InlineData("", "1\n2", "id")]
    [InlineData("", "1\r", "id")]
    public void WriteData_FieldWithLineBreak_ThrowsArgumentException(string eventType, string id, string paramName)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            _writer.WriteData("x"u8, Encoding.UTF8.GetBytes(eventType), Encoding.UTF8.GetBytes(id)));

        Assert.Equal(paramName, ex.ParamName);
        Assert.Equal(0, _writer.UnflushedBytes);
    }

    [Fact]
    public void BeginJsonData_FieldWithLineBreak_ThrowsArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => _writer.BeginJsonData("a\nb"u8));

        Assert.Equal("eventType", ex.ParamName);

        // The writer is not left inside a JSON event.
        _writer.WriteData("x");
    }

    [Fact]
    public async Task WriteData_ValidEventTypeAndIdWithLineBreak_WritesNothing()
    {
        Assert.Throws<ArgumentException>(() => _writer.WriteData("x"u8, "delta"u8, "1\n2"u8));
        _writer.WriteData("y");

        Assert.Equal("data: y\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task BeginJsonData_Object_OneCompactDataLine()
    {
        var json = _writer.BeginJsonData();
        json.WriteStartObject();
        json.WriteString("text", "line one\nline two");
        json.WriteNumber("n", 1);
        json.WriteStartArray("list");
        json.WriteBooleanValue(true);
        json.WriteNullValue();
        json.WriteEndArray();
        json.WriteEndObject();
        _writer.EndJsonData();

        Assert.Equal("data: {\"text\":\"line one\\nline two\",\"n\":1,\"list\":[true,null]}\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task BeginJsonData_EventTypeAndId_FieldsBeforeData()
    {
        var json = _writer.BeginJsonData("chunk"u8, "3"u8);
        json.WriteNumberValue(5);
        _writer.EndJsonData();

        Assert.Equal("event: chunk\nid: 3\ndata: 5\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task BeginJsonData_SeveralEvents_EachCompleteInOrder()
    {
        for (int i = 0; i < 3; i++)
        {
            var json = _writer.BeginJsonData();
            json.WriteStartObject();
            json.WriteNumber("i", i);
            json.WriteEndObject();
            _writer.EndJsonData();
        }

        Assert.Equal("data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task BeginJsonData_NonAsciiText_WrittenAsUtf8NotEscaped()
    {
        const string text = "héllo wörld, 世界, привет";
        var json = _writer.BeginJsonData();
        json.WriteStartObject();
        json.WriteString("content", text);
        json.WriteEndObject();
        _writer.EndJsonData();

        var bytes = await FlushAndReadBytesAsync();

        Assert.Equal(Encoding.UTF8.GetBytes($"data: {{\"content\":\"{text}\"}}\n\n"), bytes);
        using var document = JsonDocument.Parse(Assert.Single(await ParseAsync(bytes)).Data);
        Assert.Equal(text, document.RootElement.GetProperty("content").GetString());
    }

    [Fact]
    public async Task BeginJsonData_CustomCompactOptions_Honoured()
    {
        var writer = new ServerSentEventWriter(_pipe.Writer, new JsonWriterOptions());
        var json = writer.BeginJsonData();
        json.WriteStringValue("é<");
        writer.EndJsonData();
        await writer.FlushAsync(TestContext.Current.CancellationToken);

        // The default encoder escapes what the relaxed one leaves alone.
        Assert.Equal("data: \"\\u00E9\\u003C\"\n\n", ReadFlushed());
    }

    [Fact]
    public void EndJsonData_WithoutBegin_ThrowsInvalidOperationException()
    {
        Assert.Throws<InvalidOperationException>(_writer.EndJsonData);
    }

    [Fact]
    public void EndJsonData_Twice_ThrowsInvalidOperationException()
    {
        _writer.BeginJsonData().WriteNumberValue(1);
        _writer.EndJsonData();

        Assert.Throws<InvalidOperationException>(_writer.EndJsonData);
    }

    [Fact]
    public async Task WriteCalls_BetweenBeginAndEnd_ThrowInvalidOperationExceptionAndWriteNothing()
    {
        var json = _writer.BeginJsonData();
        json.WriteStartObject();

        Assert.Throws<InvalidOperationException>(() => _writer.WriteData("x"));
        Assert.Throws<InvalidOperationException>(() => _writer.WriteData("x"u8));
        Assert.Throws<InvalidOperationException>(() => _writer.WriteComment("x"));
        Assert.Throws<InvalidOperationException>(() => _writer.BeginJsonData());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await _writer.FlushAsync(TestContext.Current.CancellationToken));

        json.WriteEndObject();
        _writer.EndJsonData();
        Assert.Equal("data: {}\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task WriteComment_KeepAlive_ExactBytes()
    {
        _writer.WriteComment("keep-alive");

        Assert.Equal(": keep-alive\n\n"u8.ToArray(), await FlushAndReadBytesAsync());
    }

    [Theory]
    [InlineData("a\nb", ": a\n: b\n\n")]
    [InlineData("a\r\nb", ": a\n: b\n\n")]
    [InlineData("a\rb", ": a\n: b\n\n")]
    [InlineData("a\n\nb", ": a\n:\n: b\n\n")]
    [InlineData("", ":\n\n")]
    [InlineData("ünïcode", ": ünïcode\n\n")]
    public async Task WriteComment_Text_OneCommentLinePerLine(string text, string expected)
    {
        _writer.WriteComment(text);

        Assert.Equal(expected, await FlushAndReadAsync());
    }

    [Fact]
    public async Task WriteComment_BetweenEvents_IgnoredBySseParser()
    {
        _writer.WriteData("a");
        _writer.WriteComment("keep-alive\ndata: not data");
        _writer.WriteData("b");

        var items = await ParseAsync(await FlushAndReadBytesAsync());

        Assert.Equal(["a", "b"], items.Select(i => i.Data));
    }

    [Fact]
    public async Task FlushAsync_Batch_NothingReadableBeforeAndEverythingAfter()
    {
        _writer.WriteData("a");
        _writer.WriteComment("keep-alive");
        var json = _writer.BeginJsonData();
        json.WriteNumberValue(1);
        _writer.EndJsonData();
        _writer.WriteData("b");

        Assert.False(_pipe.Reader.TryRead(out _));
        Assert.Equal(Encoding.UTF8.GetByteCount("data: a\n\n: keep-alive\n\ndata: 1\n\ndata: b\n\n"), _writer.UnflushedBytes);

        var result = await _writer.FlushAsync(TestContext.Current.CancellationToken);

        Assert.False(result.IsCompleted);
        Assert.Equal(0, _writer.UnflushedBytes);
        Assert.Equal("data: a\n\n: keep-alive\n\ndata: 1\n\ndata: b\n\n", ReadFlushed());
    }

    [Fact]
    public async Task FlushAsync_TwoBatches_SecondBatchOnlyAfterSecondFlush()
    {
        _writer.WriteData("a");
        await _writer.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal("data: a\n\n", ReadFlushed());

        _writer.WriteData("b");
        Assert.False(_pipe.Reader.TryRead(out _));

        Assert.Equal("data: b\n\n", await FlushAndReadAsync());
    }

    [Fact]
    public async Task FlushAsync_ReaderGone_ResultIsCompleted()
    {
        await _pipe.Reader.CompleteAsync();
        _writer.WriteData("a");

        var result = await _writer.FlushAsync(TestContext.Current.CancellationToken);

        Assert.True(result.IsCompleted);
    }

    [Fact]
    public void Constructor_IndentedJsonOptions_ThrowsArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ServerSentEventWriter(_pipe.Writer, new JsonWriterOptions { Indented = true }));

        Assert.Equal("jsonOptions", ex.ParamName);
    }

    [Fact]
    public void Constructor_NullOutput_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => new ServerSentEventWriter(null!));
    }

    private async Task<string> FlushAndReadAsync() => Encoding.UTF8.GetString(await FlushAndReadBytesAsync());

    private async Task<byte[]> FlushAndReadBytesAsync()
    {
        await _writer.FlushAsync(TestContext.Current.CancellationToken);
        return ReadFlushedBytes();
    }

    private string ReadFlushed() => Encoding.UTF8.GetString(ReadFlushedBytes());

    /// <summary>Everything flushed so far; a flush hands bytes to the reader synchronously.</summary>
    private byte[] ReadFlushedBytes()
    {
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
