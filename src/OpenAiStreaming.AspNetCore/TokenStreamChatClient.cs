using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// A base for hosts whose model loop generates many sequences at once and pushes their tokens as they come: derive,
/// override <see cref="StartSequence"/> to hand each request to the loop, and the loop writes tokens with
/// <see cref="ChatSequence.WriteToken"/>, never waiting on any client. When a client disconnects, the sequence's
/// <see cref="ChatSequence.CancellationToken"/> fires and <see cref="ChatSequence.WriteToken"/> returns false: drop
/// the sequence from the batch.
/// </summary>
public abstract class TokenStreamChatClient : IChatClient
{
    /// <summary>
    /// Hands one request to the model loop. Return at once; the loop writes the sequence's tokens and ends it with
    /// <see cref="ChatSequence.Complete"/> or <see cref="ChatSequence.Fail"/>. Throw <see cref="ArgumentException"/>
    /// here to reject the request's options (the client gets 400).
    /// </summary>
    /// <param name="sequence">The request: its messages, options, cancellation, and the writer for its tokens.</param>
    protected abstract void StartSequence(ChatSequence sequence);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sequence = new ChatSequence([.. messages], options, cancellationToken);
        StartSequence(sequence);
        await foreach (var update in sequence.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Releases the model's resources. The default does nothing.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the model's resources.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>
/// One request inside a host's model loop: what to generate, and the non-blocking writer for its tokens. Written by
/// one thread at a time (the loop), read by the request.
/// </summary>
public sealed class ChatSequence
{
    /// <summary>Updates on their way to the request; unbounded, because the request drains it at once into its pump,
    /// which is where a slow client's backlog is merged and capped.</summary>
    private readonly Channel<ChatResponseUpdate> _updates = Channel.CreateUnbounded<ChatResponseUpdate>(new UnboundedChannelOptions
    {
        SingleReader = true,
        SingleWriter = true,
    });

    internal ChatSequence(IReadOnlyList<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        Messages = messages;
        Options = options;
        CancellationToken = cancellationToken;
    }

    /// <summary>The conversation to continue.</summary>
    public IReadOnlyList<ChatMessage> Messages { get; }

    /// <summary>The request's options (temperature, maximum tokens, stop sequences, ...), or null.</summary>
    public ChatOptions? Options { get; }

    /// <summary>Fires when the client disconnects, the server shuts down, or the stream times out: stop generating.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Hands one token's text to the client without waiting.</summary>
    /// <param name="text">The token's text.</param>
    /// <returns>False when the sequence is over (cancelled or ended): drop it from the batch.</returns>
    public bool WriteToken(string text) =>
        !CancellationToken.IsCancellationRequested && _updates.Writer.TryWrite(new ChatResponseUpdate(ChatRole.Assistant, text));

    /// <summary>Ends the sequence normally.</summary>
    /// <param name="finishReason">Why it ended: <see cref="ChatFinishReason.Stop"/>, <see cref="ChatFinishReason.Length"/>, ...</param>
    /// <param name="usage">Token counts, when the loop knows them (it usually does: it tokenized the prompt).</param>
    public void Complete(ChatFinishReason finishReason, UsageDetails? usage = null)
    {
        var last = new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = finishReason };
        if (usage is not null)
        {
            last.Contents.Add(new UsageContent(usage));
        }

        _updates.Writer.TryWrite(last);
        _updates.Writer.TryComplete();
    }

    /// <summary>Ends the sequence with an error: the client gets an error event and an aborted connection.</summary>
    /// <param name="error">What went wrong.</param>
    public void Fail(Exception error) => _updates.Writer.TryComplete(error);

    internal IAsyncEnumerable<ChatResponseUpdate> ReadAllAsync(CancellationToken cancellationToken) =>
        _updates.Reader.ReadAllAsync(cancellationToken);
}
