using System.Buffers;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>What one choice has produced so far: text and logprobs not yet written, tool calls, its finish reason and usage.</summary>
internal sealed class ChoiceState(int index)
{
    /// <summary>The most characters of pending text a reset keeps room for (a whole answer can be longer).</summary>
    private const int MaxRetainedChars = 4096;

    /// <summary>Text received and not yet written; a streaming writer empties it after each delta.</summary>
    private ArrayBufferWriter<char> _pendingText = new();

    /// <summary>
    /// The pending text while it is one delta's whole text, held instead of copied into <see cref="_pendingText"/>: a
    /// streamed token is written straight from its own string, and a stream that never has more than one delta pending
    /// never touches, or allocates, the buffer.
    /// </summary>
    private string? _pendingString;

    /// <summary>True while the pending text is in <see cref="_pendingText"/> (then <see cref="_pendingString"/> is null).</summary>
    private bool _pendingInBuffer;

    /// <summary>The backend's last finish reason, if it gave one.</summary>
    private ChatFinishReason? _finishReason;

    /// <summary>The choice's <c>index</c>.</summary>
    public int Index { get; } = index;

    public ReadOnlySpan<char> PendingText => _pendingInBuffer ? _pendingText.WrittenSpan : _pendingString.AsSpan();

    /// <summary>The logprobs of <see cref="PendingText"/>'s tokens; created with the first (most models report none).</summary>
    private List<LogprobContent>? _pendingLogprobs;

    /// <summary>Every tool call so far; created with the first.</summary>
    private List<PendingToolCall>? _toolCalls;

    /// <summary>The logprobs of <see cref="PendingText"/>'s tokens, in order.</summary>
    public IReadOnlyList<LogprobContent> PendingLogprobs => (IReadOnlyList<LogprobContent>?)_pendingLogprobs ?? [];

    /// <summary>Every tool call so far, each with where in <see cref="PendingText"/> it arrived.</summary>
    public IReadOnlyList<PendingToolCall> ToolCalls => (IReadOnlyList<PendingToolCall>?)_toolCalls ?? [];

    /// <summary>Characters of text written before <see cref="PendingText"/>: the legacy logprobs' <c>text_offset</c> base.</summary>
    public int WrittenLength { get; private set; }

    /// <summary>Text deltas received: the output token count when the backend reports none.</summary>
    public int TextDeltas { get; private set; }

    /// <summary>The backend's usage report, if it gave one.</summary>
    public UsageDetails? Usage { get; private set; }

    /// <summary>True once the backend gave a finish reason.</summary>
    public bool HasFinished => _finishReason is not null;

    /// <summary>The finish reason in OpenAI's vocabulary: stop, length, tool_calls or content_filter.</summary>
    public string FinishReason => _finishReason?.Value switch
    {
        "length" => "length",
        "tool_calls" => "tool_calls",
        "content_filter" => "content_filter",
        null when ToolCalls.Count > 0 => "tool_calls",
        _ => "stop",
    };

    /// <summary>Output tokens so far: the backend's count, or the text deltas.</summary>
    public int OutputTokens => (int?)Usage?.OutputTokenCount ?? TextDeltas;

    /// <summary>Forgets everything, for the next request.</summary>
    public void Reset()
    {
        if (_pendingText.Capacity > MaxRetainedChars)
        {
            _pendingText = new();
        }

        _pendingText.ResetWrittenCount();
        _pendingInBuffer = false;
        _pendingString = null;
        _finishReason = null;
        _pendingLogprobs = null;
        _toolCalls = null;
        WrittenLength = 0;
        TextDeltas = 0;
        Usage = null;
    }

    public void ClearPending()
    {
        WrittenLength += PendingText.Length;
        if (_pendingInBuffer)
        {
            _pendingText.ResetWrittenCount();
            _pendingInBuffer = false;
        }

        _pendingString = null;
        _pendingLogprobs?.Clear();
    }

    public void Apply(ChatDelta delta)
    {
        if (!_pendingInBuffer && _pendingString is null && delta.UnmergedText is { } text)
        {
            _pendingString = text;
        }
        else
        {
            UseBuffer();
            delta.CopyTextTo(_pendingText);
        }

        if (delta.Logprobs.Count > 0)
        {
            (_pendingLogprobs ??= []).AddRange(delta.Logprobs);
        }

        TextDeltas += delta.TextUpdates;
    }

    /// <returns>How many tool calls it carried: they are the last entries of <see cref="ToolCalls"/>.</returns>
    public int Apply(ChatResponseUpdate update)
    {
        UseBuffer();
        int toolCalls = 0;
        foreach (var content in update.Contents)
        {
            switch (content)
            {
                case TextContent { Text.Length: > 0 } text:
                    _pendingText.Write(text.Text.AsSpan());
                    TextDeltas++;
                    break;
                case LogprobContent logprob:
                    (_pendingLogprobs ??= []).Add(logprob);
                    break;
                case FunctionCallContent call:
                    (_toolCalls ??= []).Add(new PendingToolCall(call, _pendingText.WrittenCount));
                    toolCalls++;
                    break;
                case UsageContent usage:
                    Usage = usage.Details;
                    break;
            }
        }

        if (update.FinishReason is { } finishReason)
        {
            _finishReason = finishReason;
        }

        return toolCalls;
    }

    /// <summary>Moves the pending text into the buffer (a held delta's text first), before more text or a tool call's
    /// position joins it.</summary>
    private void UseBuffer()
    {
        if (_pendingInBuffer)
        {
            return;
        }

        _pendingInBuffer = true;
        if (_pendingString is { } text)
        {
            _pendingString = null;
            _pendingText.Write(text.AsSpan());
        }
    }
}
