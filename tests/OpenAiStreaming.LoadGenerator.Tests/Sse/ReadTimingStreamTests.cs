using System.Net.ServerSentEvents;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using OpenAiStreaming.LoadGenerator.Sse;

namespace OpenAiStreaming.LoadGenerator.Tests.Sse;

/// <summary>
/// The generator's reading path: <see cref="SseParser"/> over a <see cref="ReadTimingStream"/>, each event classified
/// by <see cref="ChunkClassifier.Parse"/>, the body arriving in reads of chosen sizes.
/// </summary>
public sealed class ReadTimingStreamTests
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

    /// <summary>
    /// Reads <paramref name="text"/> in reads of the given sizes (cycled), the fake clock one millisecond further at
    /// each read; every event with the time of the read it was stamped with, from the start.
    /// </summary>
    private static List<(SseBatch Batch, TimeSpan At)> Read(string text, params int[] readSizes)
    {
        var time = new FakeTimeProvider();
        long start = time.GetTimestamp();
        using var timed = new ReadTimingStream(new SteppedStream(Encoding.UTF8.GetBytes(text), readSizes, time), time);
        return [.. SseParser.Create(timed, ChunkClassifier.Parse).Enumerate().Select(item => (item.Data, time.GetElapsedTime(start, timed.LastReadTimestamp)))];
    }

    private static SseBatch Total(IEnumerable<(SseBatch Batch, TimeSpan At)> events)
    {
        var total = SseBatch.Empty;
        foreach (var (batch, _) in events)
        {
            total.ContentEvents += batch.ContentEvents;
            total.CompletionTokens = batch.CompletionTokens >= 0 ? batch.CompletionTokens : total.CompletionTokens;
            total.Done |= batch.Done;
            total.Error ??= batch.Error;
        }

        return total;
    }

    [Fact]
    public void Parse_WholeStream_CountsOnlyNonEmptyContentEvents()
    {
        var total = Total(Read(Stream(), int.MaxValue));

        Assert.Equal(3, total.ContentEvents);
        Assert.Equal(3, total.CompletionTokens);
        Assert.True(total.Done);
        Assert.Null(total.Error);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Parse_EverySplitPoint_SameResult(string newline)
    {
        string text = Stream(newline);
        for (int split = 1; split < text.Length; split++)
        {
            var total = Total(Read(text, split, text.Length));

            Assert.True(total.ContentEvents == 3, $"split at {split}: {total.ContentEvents} content events");
            Assert.Equal(3, total.CompletionTokens);
            Assert.True(total.Done, $"split at {split}: [DONE] not seen");
            Assert.Null(total.Error);
        }
    }

    [Fact]
    public void LastReadTimestamp_OneByteReads_EachEventStampedWithTheReadOfItsBlankLine()
    {
        string first = $"data: {Content("a")}\n\n";
        var events = Read(first + $"data: {Content("b")}\n\n", 1);

        Assert.Equal(2, events.Count);
        // Read k (from 1) returns at k ms on the fake clock: the first event's blank line is its last byte.
        Assert.Equal(TimeSpan.FromMilliseconds(first.Length), events[0].At);
        Assert.Equal(TimeSpan.FromMilliseconds(first.Length * 2), events[1].At);
    }

    [Fact]
    public void LastReadTimestamp_EventsOfOneRead_ShareItsTimestamp()
    {
        // Smaller than the parser's buffer, so that one read brings all three.
        var events = Read($"data: {Content("a")}\n\ndata: {Content("b")}\n\ndata: [DONE]\n\n", int.MaxValue);

        Assert.Equal(3, events.Count);
        Assert.All(events, e => Assert.Equal(TimeSpan.FromMilliseconds(1), e.At));
    }

    [Fact]
    public void Parse_CommentsHeartbeatsAndOtherFields_Ignored()
    {
        string text = ": keep-alive\n\n: keep-alive\nevent: message\nid: 7\nretry: 100\ndata: " + Content("x") + "\n\n:\n\n";
        var total = Total(Read(text, 5));

        Assert.Equal(1, total.ContentEvents);
        Assert.False(total.Done);
        Assert.Null(total.Error);
    }

    [Fact]
    public void Parse_EventWithoutBlankLine_NotDispatched()
    {
        Assert.Empty(Read("data: " + Content("x") + "\n", 1000));
    }

    [Fact]
    public void Parse_DataWithoutSpaceAndSeveralDataLines_JoinedAsTheSpecificationSays()
    {
        string text = "data:{\"choices\":[{\"delta\":\n" + "data: {\"content\":\"hi\"}}]}\n\n" + "data:[DONE]\n\n";
        var total = Total(Read(text, 7));

        Assert.Equal(1, total.ContentEvents);
        Assert.True(total.Done);
    }

    [Fact]
    public void Parse_ErrorEvent_ReportsItsMessage()
    {
        string text = "data: " + Content("a") + "\n\ndata: {\"error\":{\"message\":\"model crashed\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
        var total = Total(Read(text, 1000));

        Assert.Equal(1, total.ContentEvents);
        Assert.Equal("error event: model crashed", total.Error);
        Assert.False(total.Done);
    }

    [Fact]
    public void Parse_MalformedJson_ReportedAsError()
    {
        var total = Total(Read("data: {\"choices\":[{\"delta\n\n", 1000));

        Assert.NotNull(total.Error);
        Assert.StartsWith("malformed event", total.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EventLongerThanTheParsersBuffer_ReadWhole()
    {
        string big = new('x', 100_000);
        var total = Total(Read($"data: {Content(big)}\n\ndata: [DONE]\n\n", 4096));

        Assert.Equal(1, total.ContentEvents);
        Assert.True(total.Done);
    }

    /// <summary>A body in memory served in reads of the given sizes, each read one millisecond later on the fake clock.</summary>
    private sealed class SteppedStream(byte[] body, int[] readSizes, FakeTimeProvider time) : Stream
    {
        private int _position;
        private int _reads;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => body.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int count = Math.Min(Math.Min(buffer.Length, readSizes[_reads++ % readSizes.Length]), body.Length - _position);
            body.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            time.Advance(TimeSpan.FromMilliseconds(1));
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
