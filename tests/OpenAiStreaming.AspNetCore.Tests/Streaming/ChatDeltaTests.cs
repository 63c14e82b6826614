using System.Buffers;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

public sealed class ChatDeltaTests
{
    [Fact]
    public void From_TextOnlyUpdate_IsMergeableText()
    {
        var delta = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, "hi"));

        Assert.Null(delta.Update);
        Assert.Equal(2, delta.TextLength);
        Assert.Equal(1, delta.TextUpdates);
    }

    [Fact]
    public void From_UpdateWithFinishReasonOrOtherContent_PassedWhole()
    {
        var finish = new ChatResponseUpdate(ChatRole.Assistant, "end") { FinishReason = ChatFinishReason.Stop };
        var usage = new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails())] };

        Assert.Same(finish, ChatDelta.From(finish).Update);
        Assert.Same(usage, ChatDelta.From(usage).Update);
    }

    [Fact]
    public void TryAppend_TextDeltas_ConcatenateInOrderAndCount()
    {
        var first = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, "a"));
        var second = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, "bc"));
        var third = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, "d"));
        Assert.True(second.TryAppend(third));

        Assert.True(first.TryAppend(second));

        var text = new ArrayBufferWriter<char>();
        first.CopyTextTo(text);
        Assert.Equal("abcd", text.WrittenSpan.ToString());
        Assert.Equal(3, first.TextUpdates);
        Assert.Equal(4 * sizeof(char), ChatDeltaMerger.Instance.GetSize(first));
    }

    [Fact]
    public void TryAppend_WholeUpdateOnEitherSide_Refused()
    {
        var text = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, "a"));
        var whole = ChatDelta.From(new ChatResponseUpdate { FinishReason = ChatFinishReason.Length });

        Assert.False(text.TryAppend(whole));
        Assert.False(whole.TryAppend(text));
    }

    [Fact]
    public void TryAppend_TextWithLogprobs_LogprobsMergeInOrderAndCountInSize()
    {
        var first = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, [new TextContent("a"), new LogprobContent("a", -1)]));
        var second = ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, [new TextContent("b"), new LogprobContent("b", -2, [new TopLogprob("b", -2)])]));
        long separate = ChatDeltaMerger.Instance.GetSize(first) + ChatDeltaMerger.Instance.GetSize(second);

        Assert.Null(first.Update);
        Assert.True(first.TryAppend(second));

        Assert.Equal(["a", "b"], first.Logprobs.Select(l => l.Token));
        Assert.Equal(separate, ChatDeltaMerger.Instance.GetSize(first));
        Assert.Equal(["a", "b"], first.ToUpdate().Contents.OfType<LogprobContent>().Select(l => l.Token));
    }

    [Fact]
    public void TryAppend_DifferentChoices_Refused()
    {
        var zero = ChatDelta.FromText("a");
        var one = ChatDelta.FromText("b", null, choice: 1);

        Assert.False(zero.TryAppend(one));
        Assert.Equal(1, one.Choice);
    }
}
