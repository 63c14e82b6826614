using System.Text;
using OpenAiStreaming.LoadGenerator.Sse;

namespace OpenAiStreaming.LoadGenerator.Tests.Sse;

public sealed class SseScannerTests
{
    private const string Role = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""";
    private const string Finish = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}""";
    private const string Usage = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}""";

    private static string Content(string text) =>
        $$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"{{text}}"},"logprobs":null,"finish_reason":null}]}""";

    /// <summary>A whole OpenAI stream: role, three content chunks, finish, usage, [DONE].</summary>
    private static string Stream(string newline = "\n") => string.Concat(
        new[] { Role, Content(" The"), Content(" quick"), Content(" brown"), Finish, Usage, "[DONE]" }
            .Select(data => $"data: {data}{newline}{newline}"));

    /// <summary>Feeds <paramref name="bytes"/> in reads of the given sizes (cycled) and sums the batches.</summary>
    private static (SseBatch Total, int Reads) Feed(SseScanner scanner, byte[] bytes, params int[] readSizes)
    {
        var total = SseBatch.Empty;
        int reads = 0;
        for (int offset = 0, i = 0; offset < bytes.Length; i++)
        {
            var buffer = scanner.GetReadBuffer();
            int count = Math.Min(Math.Min(readSizes[i % readSizes.Length], bytes.Length - offset), buffer.Length);
            bytes.AsSpan(offset, count).CopyTo(buffer.Span);
            offset += count;
            var batch = scanner.Advance(count);
            total.ContentEvents += batch.ContentEvents;
            total.CompletionTokens = batch.CompletionTokens >= 0 ? batch.CompletionTokens : total.CompletionTokens;
            total.Done |= batch.Done;
            total.Error ??= batch.Error;
            reads++;
        }

        return (total, reads);
    }

    [Fact]
    public void Advance_WholeStream_CountsOnlyNonEmptyContentEvents()
    {
        var (total, _) = Feed(new SseScanner(), Encoding.UTF8.GetBytes(Stream()), int.MaxValue);

        Assert.Equal(3, total.ContentEvents);
        Assert.Equal(3, total.CompletionTokens);
        Assert.True(total.Done);
        Assert.Null(total.Error);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Advance_EverySplitPoint_SameResult(string newline)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Stream(newline));
        for (int split = 1; split < bytes.Length; split++)
        {
            var scanner = new SseScanner(16);
            var (total, _) = Feed(scanner, bytes, split, bytes.Length);

            Assert.True(total.ContentEvents == 3, $"split at {split}: {total.ContentEvents} content events");
            Assert.Equal(3, total.CompletionTokens);
            Assert.True(total.Done, $"split at {split}: [DONE] not seen");
            Assert.Null(total.Error);
        }
    }

    [Fact]
    public void Advance_OneByteReads_EachEventDispatchedOnceAtItsBlankLine()
    {
        byte[] bytes = Encoding.UTF8.GetBytes($"data: {Content("a")}\r\n\r\ndata: {Content("b")}\r\n\r\n");
        var scanner = new SseScanner(16);
        var perRead = new List<int>();
        foreach (byte b in bytes)
        {
            scanner.GetReadBuffer().Span[0] = b;
            perRead.Add(scanner.Advance(1).ContentEvents);
        }

        Assert.Equal(2, perRead.Sum());
        // Dispatched at the CR that ends the blank line, not before.
        int blankLineEnd = Encoding.UTF8.GetByteCount($"data: {Content("a")}\r\n\r") - 1;
        Assert.Equal(1, perRead[blankLineEnd]);
        Assert.Equal(0, perRead[..blankLineEnd].Sum());
        Assert.Equal(1, perRead[^2]);
    }

    [Fact]
    public void Advance_CommentsHeartbeatsAndOtherFields_Ignored()
    {
        string text = ": keep-alive\n\n: keep-alive\nevent: message\nid: 7\nretry: 100\ndata: " + Content("x") + "\n\n:\n\n";
        var (total, _) = Feed(new SseScanner(), Encoding.UTF8.GetBytes(text), 5);

        Assert.Equal(1, total.ContentEvents);
        Assert.False(total.Done);
        Assert.Null(total.Error);
    }

    [Fact]
    public void Advance_EventWithoutBlankLine_NotDispatched()
    {
        var scanner = new SseScanner();
        var (total, _) = Feed(scanner, Encoding.UTF8.GetBytes("data: " + Content("x") + "\n"), 1000);

        Assert.Equal(0, total.ContentEvents);
        Assert.True(scanner.PendingBytes > 0);
    }

    [Fact]
    public void Advance_DataWithoutSpaceAndSeveralDataLines_JoinedAsTheSpecificationSays()
    {
        string text = "data:{\"choices\":[{\"delta\":\n" + "data: {\"content\":\"hi\"}}]}\n\n" + "data:[DONE]\n\n";
        var (total, _) = Feed(new SseScanner(16), Encoding.UTF8.GetBytes(text), 7);

        Assert.Equal(1, total.ContentEvents);
        Assert.True(total.Done);
    }

    [Fact]
    public void Advance_AfterDone_IgnoresEverything()
    {
        string text = "data: [DONE]\n\ndata: " + Content("late") + "\n\ndata: {not json}\n\n";
        var (total, _) = Feed(new SseScanner(), Encoding.UTF8.GetBytes(text), 9);

        Assert.True(total.Done);
        Assert.Equal(0, total.ContentEvents);
        Assert.Null(total.Error);
    }

    [Fact]
    public void Advance_ErrorEvent_ReportsItsMessage()
    {
        string text = "data: " + Content("a") + "\n\ndata: {\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
        var (total, _) = Feed(new SseScanner(), Encoding.UTF8.GetBytes(text), 1000);

        Assert.Equal(1, total.ContentEvents);
        Assert.Equal("error event: model crashed", total.Error);
        Assert.False(total.Done);
    }

    [Fact]
    public void Advance_MalformedJson_ReportedAsError()
    {
        var (total, _) = Feed(new SseScanner(), "data: {\"choices\":[{\"delta\n\n"u8.ToArray(), 1000);

        Assert.NotNull(total.Error);
        Assert.StartsWith("malformed event", total.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Advance_EventLongerThanTheBuffer_BufferGrows()
    {
        string big = new('x', 100_000);
        var (total, _) = Feed(new SseScanner(64), Encoding.UTF8.GetBytes($"data: {Content(big)}\n\ndata: [DONE]\n\n"), 4096);

        Assert.Equal(1, total.ContentEvents);
        Assert.True(total.Done);
    }

    [Fact]
    public void Reset_AfterAnUnfinishedStream_StartsClean()
    {
        var scanner = new SseScanner();
        Feed(scanner, Encoding.UTF8.GetBytes("data: [DONE]\n\ndata: {\"choi"), 1000);
        scanner.Reset();
        var (total, _) = Feed(scanner, Encoding.UTF8.GetBytes(Stream()), 33);

        Assert.Equal(0, scanner.PendingBytes);
        Assert.Equal(3, total.ContentEvents);
        Assert.True(total.Done);
    }
}
