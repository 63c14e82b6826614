using System.Buffers;
using System.Text;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// What the pump carries: either text with its tokens' logprobs (one update's, or several merged while the client
/// lagged) or a whole update that carries more than text (a finish reason, usage, a tool call), passed on untouched.
/// Every delta belongs to one choice (<c>n</c> > 1 multiplexes several in one pump); only a choice's own deltas merge.
/// </summary>
internal sealed class ChatDelta
{
    /// <summary>The text of the first text update; later merged text goes to <see cref="_merged"/>.</summary>
    private readonly string? _text;

    /// <summary>Created on the first merge, so the common unmerged delta allocates no builder.</summary>
    private StringBuilder? _merged;

    /// <summary>The tokens' logprobs, in order, or null when the model reports none.</summary>
    private List<LogprobContent>? _logprobs;

    private ChatDelta(string? text, ChatResponseUpdate? update, int choice, List<LogprobContent>? logprobs = null)
    {
        _text = text;
        Update = update;
        Choice = choice;
        _logprobs = logprobs;
        TextUpdates = text is null ? 0 : 1;
    }

    /// <summary>An update that is more than text, or null for a text delta.</summary>
    public ChatResponseUpdate? Update { get; }

    /// <summary>The choice (<c>index</c>) this delta belongs to.</summary>
    public int Choice { get; }

    /// <summary>How many text updates this delta holds: the output token count when the backend reports none.</summary>
    public int TextUpdates { get; private set; }

    /// <summary>The characters of text this delta holds.</summary>
    public int TextLength => _merged?.Length ?? _text?.Length ?? 0;

    /// <summary>The logprobs of this text delta's tokens, in order; empty when the model reports none.</summary>
    public IReadOnlyList<LogprobContent> Logprobs => (IReadOnlyList<LogprobContent>?)_logprobs ?? [];

    /// <summary>This text delta's text when nothing was merged into it (no copy needed), otherwise null.</summary>
    public string? UnmergedText => _merged is null ? _text : null;

    /// <summary>This delta's text (allocates when merged).</summary>
    public string Text => _merged?.ToString() ?? _text ?? string.Empty;

    public static ChatDelta From(ChatResponseUpdate update, int choice = 0)
    {
        // An update that is one piece of text (with its logprobs) and nothing else, the common case of one per token,
        // becomes mergeable text.
        if (update.FinishReason is null && update.Contents is [TextContent { Text: var text }, ..] contents && AllLogprobs(contents))
        {
            List<LogprobContent>? logprobs = null;
            for (int i = 1; i < contents.Count; i++)
            {
                (logprobs ??= []).Add((LogprobContent)contents[i]);
            }

            return new ChatDelta(text, null, choice, logprobs);
        }

        return new ChatDelta(null, update, choice);
    }

    /// <summary>One token's text, as a pushing model loop writes it.</summary>
    public static ChatDelta FromText(string text, LogprobContent? logprob = null, int choice = 0) =>
        new(text, null, choice, logprob is null ? null : [logprob]);

    /// <summary>Text cut from a longer delta, with the logprobs that go with it.</summary>
    public static ChatDelta Cut(string text, List<LogprobContent>? logprobs, int choice) => new(text, null, choice, logprobs);

    /// <summary>This delta as an update, for a reader that expects updates rather than deltas.</summary>
    public ChatResponseUpdate ToUpdate()
    {
        if (Update is not null)
        {
            return Update;
        }

        var update = new ChatResponseUpdate(ChatRole.Assistant, _merged?.ToString() ?? _text);
        if (_logprobs is not null)
        {
            foreach (var logprob in _logprobs)
            {
                update.Contents.Add(logprob);
            }
        }

        return update;
    }

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
        if (Update is not null || next.Update is not null || Choice != next.Choice)
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

        if (next._logprobs is not null)
        {
            // Logprobs merge with their text, in order.
            (_logprobs ??= []).AddRange(next._logprobs);
        }

        TextUpdates += next.TextUpdates;
        return true;
    }

    /// <summary>True when every content after the first is a <see cref="LogprobContent"/>.</summary>
    private static bool AllLogprobs(IList<AIContent> contents)
    {
        for (int i = 1; i < contents.Count; i++)
        {
            if (contents[i] is not LogprobContent)
            {
                return false;
            }
        }

        return true;
    }
}
