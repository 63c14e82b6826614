using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// One request inside a host's model loop: what to generate, and the non-blocking writer for its tokens. Written by
/// one thread at a time (the loop), read by the request.
/// </summary>
public sealed class ChatSequence
{
    /// <summary>Where the tokens go: the request's pump, where a slow client's backlog is merged and capped.</summary>
    private readonly TokenPump<ChatDelta> _pump;

    /// <summary>The request's stop strings, applied here so that a stop ends the sequence at once; null without any.</summary>
    private readonly StopSequenceFilter? _stops;

    /// <summary>What the stop filter lets through after each token.</summary>
    private readonly List<ChatDelta> _released = [];

    internal ChatSequence(IReadOnlyList<ChatMessage> messages, ChatOptions? options, TokenPump<ChatDelta> pump, StopSequenceFilter? stops = null)
    {
        Messages = messages;
        Options = options;
        _pump = pump;
        _stops = stops;
    }

    /// <summary>The conversation to continue.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>The request's options (temperature, maximum tokens, stop sequences, ...), or null.</summary>
    public ChatOptions? Options { get; }

    /// <summary>Fires when the client disconnects, the server shuts down, or the stream times out: stop generating.</summary>
    public CancellationToken CancellationToken => _pump.ProducerToken;

    /// <summary>Hands one token's text to the client without waiting.</summary>
    /// <param name="text">The token's text.</param>
    /// <returns>False when the sequence is over (cancelled or ended): drop it from the batch.</returns>
    public bool WriteToken(string text) => WriteToken(text, null);

    /// <summary>Hands one token's text and its log-probability to the client without waiting.</summary>
    /// <param name="text">The token's text.</param>
    /// <param name="logprob">The token's logprob report, when the request asked for one
    /// (<see cref="LogprobContent.GetRequestedTopLogprobs"/> on <see cref="Options"/>), or null.</param>
    /// <returns>False when the sequence is over (cancelled, ended, or it reached one of the request's stop strings):
    /// drop it from the batch.</returns>
    public bool WriteToken(string text, LogprobContent? logprob)
    {
        ArgumentNullException.ThrowIfNull(text);
        var delta = ChatDelta.FromText(text, logprob);
        if (_stops is null)
        {
            return _pump.TryWrite(delta);
        }

        bool stopped = _stops.Push(delta, _released);
        bool open = WriteReleased();
        if (stopped)
        {
            Complete(ChatFinishReason.Stop);
            return false;
        }

        return open;
    }

    /// <summary>Ends the sequence normally.</summary>
    /// <param name="finishReason">Why it ended: <see cref="ChatFinishReason.Stop"/>, <see cref="ChatFinishReason.Length"/>, ...</param>
    /// <param name="usage">Token counts, when the loop knows them (it usually does: it tokenized the prompt).</param>
    public void Complete(ChatFinishReason finishReason, UsageDetails? usage = null)
    {
        if (_stops is not null)
        {
            _stops.Flush(_released);
            WriteReleased();
        }

        var last = new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = finishReason };
        if (usage is not null)
        {
            last.Contents.Add(new UsageContent(usage));
        }

        _pump.TryWrite(ChatDelta.From(last));
        _pump.Complete();
    }

    private bool WriteReleased()
    {
        bool open = true;
        foreach (var delta in _released)
        {
            open &= _pump.TryWrite(delta);
        }

        _released.Clear();
        return open;
    }

    /// <summary>Ends the sequence with an error: the client gets an error event and an aborted connection.</summary>
    /// <param name="error">What went wrong.</param>
    public void Fail(Exception error) => _pump.Complete(error);
}
