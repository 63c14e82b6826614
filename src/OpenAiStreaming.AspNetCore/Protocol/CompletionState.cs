using System.Buffers;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>
/// What a completion has produced so far: text not yet written, tool calls, the finish reason and usage. Both the
/// streaming and the whole-answer paths fold the backend's updates through it, so they agree.
/// </summary>
internal sealed class CompletionState
{
    /// <summary>Text received and not yet written; a streaming writer empties it once per drained batch.</summary>
    private readonly ArrayBufferWriter<char> _pendingText = new();

    /// <summary>Text deltas received: the output token count when the backend reports none.</summary>
    private int _textDeltas;

    /// <summary>The backend's last finish reason, if it gave one.</summary>
    private ChatFinishReason? _finishReason;

    /// <summary>The backend's usage report, if it gave one.</summary>
    private UsageDetails? _usage;

    public ReadOnlySpan<char> PendingText => _pendingText.WrittenSpan;

    public List<FunctionCallContent> ToolCalls { get; } = [];

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

    /// <summary>Folds one pumped delta in; <paramref name="onToolCall"/> sees each function call as it arrives.</summary>
    public void Apply(ChatDelta delta, Action<CompletionState, FunctionCallContent>? onToolCall = null)
    {
        if (delta.Update is { } update)
        {
            Apply(update, onToolCall);
            return;
        }

        delta.CopyTextTo(_pendingText);
        _textDeltas += delta.TextUpdates;
    }

    /// <summary>Folds one update in; <paramref name="onToolCall"/> sees each function call as it arrives.</summary>
    public void Apply(ChatResponseUpdate update, Action<CompletionState, FunctionCallContent>? onToolCall = null)
    {
        foreach (var content in update.Contents)
        {
            switch (content)
            {
                case TextContent { Text.Length: > 0 } text:
                    _pendingText.Write(text.Text.AsSpan());
                    _textDeltas++;
                    break;
                case FunctionCallContent call:
                    onToolCall?.Invoke(this, call);
                    ToolCalls.Add(call);
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
    }

    /// <summary>
    /// Usage as the backend reported it; what it left out is counted here: output tokens as the number of text deltas
    /// (a model loop emits one per token), prompt tokens as a quarter of the prompt's characters, rounded up.
    /// </summary>
    public (int Prompt, int Completion) Usage(IReadOnlyList<ChatMessage> prompt)
    {
        int completion = (int?)_usage?.OutputTokenCount ?? _textDeltas;
        int promptTokens = (int?)_usage?.InputTokenCount ?? EstimatePromptTokens(prompt);
        return (promptTokens, completion);
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
