using System.Buffers;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// What a completion has produced so far: text not yet written, tool calls, the finish reason, and the token counts.
/// Both the streaming and the whole-answer paths fold the backend's deltas through it, so they agree; it is the one
/// place where output tokens are counted.
/// </summary>
internal sealed class CompletionState
{
    /// <summary>Text received and not yet written; a streaming writer empties it after each delta.</summary>
    private readonly ArrayBufferWriter<char> _pendingText = new();

    /// <summary>Text deltas received: the output token count when the backend reports none.</summary>
    private int _textDeltas;

    /// <summary>The backend's last finish reason, if it gave one.</summary>
    private ChatFinishReason? _finishReason;

    /// <summary>The backend's usage report, if it gave one.</summary>
    private UsageDetails? _usage;

    public ReadOnlySpan<char> PendingText => _pendingText.WrittenSpan;

    /// <summary>Every tool call so far, each with where in <see cref="PendingText"/> it arrived.</summary>
    public List<PendingToolCall> ToolCalls { get; } = [];

    /// <summary>The finish reason in OpenAI's vocabulary: stop, length, tool_calls or content_filter.</summary>
    public string FinishReason => _finishReason?.Value switch
    {
        "length" => "length",
        "tool_calls" => "tool_calls",
        "content_filter" => "content_filter",
        null when ToolCalls.Count > 0 => "tool_calls",
        _ => "stop",
    };

    public void ClearPendingText() => _pendingText.ResetWrittenCount();

    /// <summary>Folds one pumped delta in.</summary>
    /// <returns>How many tool calls it carried: they are the last entries of <see cref="ToolCalls"/>.</returns>
    public int Apply(ChatDelta delta)
    {
        if (delta.Update is { } update)
        {
            return Apply(update);
        }

        delta.CopyTextTo(_pendingText);
        _textDeltas += delta.TextUpdates;
        return 0;
    }

    /// <summary>Folds one update in.</summary>
    /// <returns>How many tool calls it carried: they are the last entries of <see cref="ToolCalls"/>.</returns>
    public int Apply(ChatResponseUpdate update)
    {
        int toolCalls = 0;
        foreach (var content in update.Contents)
        {
            switch (content)
            {
                case TextContent { Text.Length: > 0 } text:
                    _pendingText.Write(text.Text.AsSpan());
                    _textDeltas++;
                    break;
                case FunctionCallContent call:
                    ToolCalls.Add(new PendingToolCall(call, _pendingText.WrittenCount));
                    toolCalls++;
                    break;
                case UsageContent usage:
                    _usage = usage.Details;
                    break;
            }
        }

        if (update.FinishReason is { } finishReason)
        {
            _finishReason = finishReason;
        }

        return toolCalls;
    }

    /// <summary>
    /// Usage as the backend reported it; what it left out is counted here: output tokens as the number of text deltas
    /// (a model loop emits one per token), prompt tokens as a quarter of the prompt's characters, rounded up.
    /// </summary>
    public TokenUsage Usage(IReadOnlyList<ChatMessage> prompt)
    {
        int promptTokens = (int?)_usage?.InputTokenCount ?? EstimatePromptTokens(prompt);
        return new TokenUsage(promptTokens, OutputTokens);
    }

    /// <summary>Output tokens so far, as <see cref="Usage"/> reports them.</summary>
    public int OutputTokens => (int?)_usage?.OutputTokenCount ?? _textDeltas;

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
