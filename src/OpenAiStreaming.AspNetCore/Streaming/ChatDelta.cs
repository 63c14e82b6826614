using System.Buffers;
using System.Text;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// What the pump carries: either text (one update's, or several merged while the client lagged) or a whole update that
/// carries more than text (a finish reason, usage, a tool call), passed on untouched.
/// </summary>
internal sealed class ChatDelta
{
    /// <summary>The text of the first text update; later merged text goes to <see cref="_merged"/>.</summary>
    private readonly string? _text;

    /// <summary>Created on the first merge, so the common unmerged delta allocates no builder.</summary>
    private StringBuilder? _merged;

    private ChatDelta(string? text, ChatResponseUpdate? update)
    {
        _text = text;
        Update = update;
        TextUpdates = text is null ? 0 : 1;
    }

    /// <summary>An update that is more than text, or null for a text delta.</summary>
    public ChatResponseUpdate? Update { get; }

    /// <summary>How many text updates this delta holds: the output token count when the backend reports none.</summary>
    public int TextUpdates { get; private set; }

    /// <summary>The characters of text this delta holds.</summary>
    public int TextLength => _merged?.Length ?? _text?.Length ?? 0;

    public static ChatDelta From(ChatResponseUpdate update)
    {
        // An update that is one piece of text and nothing else (the common case: one per token) becomes mergeable text.
        if (update.FinishReason is null && update.Contents is [TextContent { Text: var text }])
        {
            return new ChatDelta(text, null);
        }

        return new ChatDelta(null, update);
    }

    /// <summary>One token's text, as a pushing model loop writes it.</summary>
    public static ChatDelta FromText(string text) => new(text, null);

    public static async IAsyncEnumerable<ChatDelta> FromAsync(IAsyncEnumerable<ChatResponseUpdate> updates)
    {
        await foreach (var update in updates.ConfigureAwait(false))
        {
            yield return From(update);
        }
    }

    /// <summary>This delta as an update, for a reader that expects updates rather than deltas.</summary>
    public ChatResponseUpdate ToUpdate() => Update ?? new ChatResponseUpdate(ChatRole.Assistant, _merged?.ToString() ?? _text);

    /// <summary>Appends this delta's text to <paramref name="destination"/>.</summary>
    public void CopyTextTo(ArrayBufferWriter<char> destination)
    {
        if (_merged is not null)
        {
            foreach (var chunk in _merged.GetChunks())
            {
                destination.Write(chunk.Span);
            }
        }
        else if (_text is not null)
        {
            destination.Write(_text.AsSpan());
        }
    }

    public bool TryAppend(ChatDelta next)
    {
        if (Update is not null || next.Update is not null)
        {
            return false;
        }

        _merged ??= new StringBuilder(_text);
        if (next._merged is not null)
        {
            _merged.Append(next._merged);
        }
        else
        {
            _merged.Append(next._text);
        }

        TextUpdates += next.TextUpdates;
        return true;
    }
}
