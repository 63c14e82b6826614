using System.Text;
using OpenAiStreaming.LoadGenerator.Sse;

namespace OpenAiStreaming.LoadGenerator.Tests.Sse;

public sealed class ChunkClassifierTests
{
    private static SseBatch Classify(string json)
    {
        var batch = SseBatch.Empty;
        ChunkClassifier.Classify(Encoding.UTF8.GetBytes(json), ref batch);
        return batch;
    }

    [Theory]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"A"},"finish_reason":null}]}""", 1)]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":"\n"}}]}""", 1)]
    [InlineData("""{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""", 0)]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":null}}]}""", 0)]
    [InlineData("""{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""", 0)]
    [InlineData("""{"choices":[],"usage":{"completion_tokens":5}}""", 0)]
    [InlineData("""{"choices":[{"index":0,"text":"hello","finish_reason":null}]}""", 1)]
    [InlineData("""{"choices":[{"index":0,"delta":{"content":""}},{"index":1,"delta":{"content":"B"}}]}""", 0)]
    [InlineData("""{"extra":{"nested":[1,{"content":"x"}]},"choices":[{"delta":{"tool_calls":[{"id":"1"}],"content":"y"}}]}""", 1)]
    public void Classify_ContentEvents_OnlyFirstChoiceWithNonEmptyContent(string json, int expected)
    {
        var batch = Classify(json);

        Assert.Equal(expected, batch.ContentEvents);
        Assert.Null(batch.Error);
    }

    [Fact]
    public void Classify_UsageChunk_ReadsCompletionTokens()
    {
        var batch = Classify("""{"id":"x","choices":[],"usage":{"prompt_tokens":17,"completion_tokens":10,"total_tokens":27}}""");

        Assert.Equal(10, batch.CompletionTokens);
        Assert.Equal(0, batch.ContentEvents);
    }

    [Fact]
    public void Classify_NullUsage_NoTokens()
    {
        Assert.Equal(-1, Classify("""{"choices":[{"delta":{"content":"a"}}],"usage":null}""").CompletionTokens);
    }

    [Fact]
    public void Classify_Done_SetsDone()
    {
        Assert.True(Classify("[DONE]").Done);
    }

    [Theory]
    [InlineData("""{"error":{"message":"boom","type":"server_error"}}""", "error event: boom")]
    [InlineData("""{"error":"plain"}""", "plain")]
    public void Classify_ErrorEvent_ReportsMessage(string json, string message)
    {
        Assert.Equal(message, Classify(json).Error);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("not json")]
    [InlineData("""{"choices":[{"delta":{"content":"a"}""")]
    public void Classify_NotAJsonObject_Error(string data)
    {
        Assert.NotNull(Classify(data).Error);
    }
}
