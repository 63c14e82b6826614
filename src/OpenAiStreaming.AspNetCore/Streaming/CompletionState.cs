using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// What a completion has produced so far, per choice (<see cref="ChoiceState"/>): text and logprobs not yet written,
/// tool calls, finish reasons, and the token counts. Both the streaming and the whole-answer paths fold the backend's
/// deltas through it, so they agree; it is the one place where output tokens are counted.
/// </summary>
internal sealed class CompletionState
{
    /// <summary>Choice 0, which every completion has.</summary>
    private readonly ChoiceState _first = new(0);

    /// <summary>Every choice by index, once a delta of a choice past 0 came (<c>n</c> &gt; 1); null until then.</summary>
    private List<ChoiceState>? _choices;

    public CompletionState() => Current = _first;

    /// <summary>Forgets everything, for the next request.</summary>
    public void Reset()
    {
        _first.Reset();
        _choices = null;
        Current = _first;
    }

    /// <summary>The choice the last delta belonged to: what <see cref="PendingText"/> and <see cref="ToolCalls"/> show.</summary>
    public ChoiceState Current { get; private set; }

    public ReadOnlySpan<char> PendingText => Current.PendingText;

    /// <summary>Every tool call of <see cref="Current"/> so far, each with where in <see cref="PendingText"/> it arrived.</summary>
    public IReadOnlyList<PendingToolCall> ToolCalls => Current.ToolCalls;

    /// <summary>The finish reason of choice 0 in OpenAI's vocabulary: stop, length, tool_calls or content_filter.</summary>
    public string FinishReason => _first.FinishReason;

    /// <summary>Output tokens so far, all choices together, as <see cref="Usage"/> reports them.</summary>
    public int OutputTokens => _choices?.Sum(c => c.OutputTokens) ?? _first.OutputTokens;

    /// <summary>The choice with index <paramref name="index"/>, created when no delta of it came yet.</summary>
    public ChoiceState Choice(int index)
    {
        if (index == 0)
        {
            return _first;
        }

        _choices ??= [_first];
        while (_choices.Count <= index)
        {
            _choices.Add(new ChoiceState(_choices.Count));
        }

        return _choices[index];
    }

    public void ClearPendingText() => Current.ClearPending();

    /// <summary>Folds one pumped delta in; it becomes <see cref="Current"/>'s.</summary>
    /// <returns>How many tool calls it carried: they are the last entries of <see cref="ToolCalls"/>.</returns>
    public int Apply(ChatDelta delta)
    {
        Current = Choice(delta.Choice);
        if (delta.Update is { } update)
        {
            return Current.Apply(update);
        }

        Current.Apply(delta);
        return 0;
    }

    /// <summary>Folds one update of choice 0 in.</summary>
    /// <returns>How many tool calls it carried: they are the last entries of <see cref="ToolCalls"/>.</returns>
    public int Apply(ChatResponseUpdate update)
    {
        Current = _first;
        return Current.Apply(update);
    }

    /// <summary>
    /// Usage as the backend reported it, all choices together; what it left out is counted here: output tokens as the
    /// number of text deltas (a model loop emits one per token), prompt tokens as a quarter of the prompt's characters,
    /// rounded up.
    /// </summary>
    public TokenUsage Usage(IReadOnlyList<ChatMessage> prompt)
    {
        long? reported = _first.Usage?.InputTokenCount;
        foreach (var choice in _choices ?? [])
        {
            reported ??= choice.Usage?.InputTokenCount;
        }

        int promptTokens = (int?)reported ?? EstimatePromptTokens(prompt);
        return new TokenUsage(promptTokens, OutputTokens);
    }

    private static int EstimatePromptTokens(IReadOnlyList<ChatMessage> prompt)
    {
        long characters = 0;
        foreach (var message in prompt)
        {
            foreach (var content in message.Contents)
            {
                characters += content switch
                {
                    TextContent text => text.Text.Length,
                    FunctionResultContent result => result.Result?.ToString()?.Length ?? 0,
                    _ => 0,
                };
            }
        }

        return (int)Math.Min(int.MaxValue, (characters + 3) / 4);
    }
}
