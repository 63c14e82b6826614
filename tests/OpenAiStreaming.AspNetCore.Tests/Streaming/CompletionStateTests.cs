using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

public class CompletionStateTests
{
    [Theory]
    [InlineData("stop", "stop")]
    [InlineData("length", "length")]
    [InlineData("tool_calls", "tool_calls")]
    [InlineData("content_filter", "content_filter")]
    [InlineData("error", "stop")]
    [InlineData("end_turn", "stop")]
    public void FinishReason_BackendReason_OpenAiValue(string backendReason, string expected)
    {
        var state = new CompletionState();

        state.Apply(new ChatResponseUpdate { FinishReason = new ChatFinishReason(backendReason) });

        Assert.Equal(expected, state.FinishReason);
    }

    [Fact]
    public void FinishReason_WellKnownReasons_OpenAiValues()
    {
        Assert.Equal("stop", FinishOf(ChatFinishReason.Stop));
        Assert.Equal("length", FinishOf(ChatFinishReason.Length));
        Assert.Equal("tool_calls", FinishOf(ChatFinishReason.ToolCalls));
        Assert.Equal("content_filter", FinishOf(ChatFinishReason.ContentFilter));
    }

    [Fact]
    public void Reset_AfterEverythingAChoiceHolds_LooksLikeANewState()
    {
        var state = new CompletionState();
        state.Apply(ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, "choice one"), choice: 1));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new TextContent(new string('x', 5000)), new FunctionCallContent("c1", "f")])
        {
            FinishReason = ChatFinishReason.Length,
        });
        state.Apply(ChatDelta.FromText("y", new LogprobContent("y", -0.5)));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 7, OutputTokenCount = 9 })]));
        state.ClearPendingText();
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "pending"));

        state.Reset();

        var fresh = new CompletionState();
        Assert.Equal(0, state.Current.Index);
        Assert.Equal(0, state.PendingText.Length);
        Assert.Empty(state.ToolCalls);
        Assert.Empty(state.Current.PendingLogprobs);
        Assert.Equal(0, state.Current.WrittenLength);
        Assert.Equal(fresh.FinishReason, state.FinishReason);
        Assert.Equal(0, state.OutputTokens);
        Assert.Equal(fresh.Usage([new ChatMessage(ChatRole.User, "abcd")]), state.Usage([new ChatMessage(ChatRole.User, "abcd")]));
        Assert.False(state.Choice(1).HasFinished);
        Assert.Equal(0, state.Choice(1).TextDeltas);
    }

    [Fact]
    public void FinishReason_NoneGiven_Stop()
    {
        var state = new CompletionState();

        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "hi"));

        Assert.Equal("stop", state.FinishReason);
    }

    [Fact]
    public void FinishReason_NoneGivenAfterToolCall_ToolCalls()
    {
        var state = new CompletionState();

        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("c1", "f")]));

        Assert.Equal("tool_calls", state.FinishReason);
    }

    [Fact]
    public void FinishReason_ExplicitReasonWithToolCall_ExplicitReasonKept()
    {
        var state = new CompletionState();

        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("c1", "f")]) { FinishReason = ChatFinishReason.Length });

        Assert.Equal("length", state.FinishReason);
    }

    [Fact]
    public void FinishReason_LaterUpdateWithoutReason_EarlierReasonKept()
    {
        var state = new CompletionState();

        state.Apply(new ChatResponseUpdate { FinishReason = ChatFinishReason.Length });
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "tail"));

        Assert.Equal("length", state.FinishReason);
    }

    [Fact]
    public void Apply_TextUpdates_PendingTextAccumulatesUntilCleared()
    {
        var state = new CompletionState();

        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "Hel"));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "lo"));
        Assert.Equal("Hello", state.PendingText.ToString());

        state.ClearPendingText();
        Assert.True(state.PendingText.IsEmpty);

        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, " world"));
        Assert.Equal(" world", state.PendingText.ToString());
    }

    [Fact]
    public void Apply_TextDeltas_HeldThenJoinedInOrderAndCountedWhenCleared()
    {
        // A lone text delta's string is held rather than copied; more text, merged text or an update joins it in order.
        var state = new CompletionState();
        var merged = ChatDelta.FromText("c");
        Assert.True(merged.TryAppend(ChatDelta.FromText("d")));

        state.Apply(ChatDelta.FromText("ab"));
        Assert.Equal("ab", state.PendingText.ToString());
        state.Apply(merged);
        state.Apply(ChatDelta.FromText("e"));
        Assert.Equal("abcde", state.PendingText.ToString());
        state.ClearPendingText();
        Assert.Equal(5, state.Current.WrittenLength);

        state.Apply(ChatDelta.FromText("fg"));
        state.ClearPendingText();
        Assert.Equal(7, state.Current.WrittenLength);
        Assert.Equal(5, state.OutputTokens);
    }

    [Fact]
    public void Apply_HeldTextDeltaThenToolCall_CallPositionedAfterTheText()
    {
        var state = new CompletionState();
        var call = new FunctionCallContent("c1", "f", null);

        state.Apply(ChatDelta.FromText("let me check"));
        int calls = state.Apply(ChatDelta.From(new ChatResponseUpdate(ChatRole.Assistant, [call])));

        Assert.Equal(1, calls);
        Assert.Equal([new PendingToolCall(call, 12)], state.ToolCalls);
        Assert.Equal("let me check", state.PendingText.ToString());
    }

    [Fact]
    public void Apply_ToolCallsBetweenText_ReturnsTheirCountAndWhereInTheTextEachCame()
    {
        var state = new CompletionState();
        var first = new FunctionCallContent("c1", "weather", new Dictionary<string, object?> { ["city"] = "Paris" });
        var second = new FunctionCallContent("c2", "time", null);

        int calls = state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new TextContent("checking"), first, new TextContent("..."), second]));

        Assert.Equal(2, calls);
        Assert.Equal([new PendingToolCall(first, 8), new PendingToolCall(second, 11)], state.ToolCalls);
        Assert.Equal("checking...", state.PendingText.ToString());
        Assert.Equal(0, state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "more")));
    }

    [Fact]
    public void Usage_BackendReported_BackendNumbers()
    {
        var state = new CompletionState();
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "a"));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 11, OutputTokenCount = 7 })]));

        var usage = state.Usage([new ChatMessage(ChatRole.User, "a long prompt that would count differently")]);

        Assert.Equal(new TokenUsage(11, 7), usage);
    }

    [Fact]
    public void Usage_NotReported_DeltasAndQuarterOfPromptCharactersRoundedUp()
    {
        var state = new CompletionState();
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "one"));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, ""));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, " two"));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, " three"));

        // 5 + 4 characters: ceil(9 / 4) = 3. Empty deltas are not tokens.
        var usage = state.Usage([new ChatMessage(ChatRole.System, "abcde"), new ChatMessage(ChatRole.User, "fghi")]);

        Assert.Equal(new TokenUsage(3, 3), usage);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(4, 1)]
    [InlineData(5, 2)]
    [InlineData(8, 2)]
    [InlineData(9, 3)]
    public void Usage_NotReported_PromptTokensCeilingOfCharactersOverFour(int characters, int expected)
    {
        var state = new CompletionState();

        var (prompt, completion) = state.Usage([new ChatMessage(ChatRole.User, new string('x', characters))]);

        Assert.Equal(expected, prompt);
        Assert.Equal(0, completion);
    }

    [Fact]
    public void Usage_ToolResultsInPrompt_CountedAsCharacters()
    {
        var state = new CompletionState();
        var prompt = new List<ChatMessage>
        {
            new(ChatRole.User, "abcd"),
            new(ChatRole.Tool, [new FunctionResultContent("c1", "12345678")]),
        };

        Assert.Equal(3, state.Usage(prompt).Prompt);
    }

    [Fact]
    public void Usage_OnlyOutputReported_PromptEstimated()
    {
        var state = new CompletionState();
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { OutputTokenCount = 9 })]));

        Assert.Equal(new TokenUsage(2, 9), state.Usage([new ChatMessage(ChatRole.User, "12345678")]));
    }

    [Fact]
    public void Usage_OnlyInputReported_DeltasCounted()
    {
        var state = new CompletionState();
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "a"));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, "b"));
        state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 40 })]));

        Assert.Equal(new TokenUsage(40, 2), state.Usage([new ChatMessage(ChatRole.User, "x")]));
    }

    private static string FinishOf(ChatFinishReason reason)
    {
        var state = new CompletionState();
        state.Apply(new ChatResponseUpdate { FinishReason = reason });
        return state.FinishReason;
    }
}
