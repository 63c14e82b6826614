using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// A base for hosts whose model loop generates many sequences at once and pushes their tokens as they come: derive,
/// override <see cref="StartSequence"/> to hand each request to the loop, and the loop writes tokens with
/// <see cref="ChatSequence.WriteToken(string)"/>, never waiting on any client. When a client disconnects, the sequence's
/// <see cref="ChatSequence.CancellationToken"/> fires and <see cref="ChatSequence.WriteToken(string)"/> returns false: drop
/// the sequence from the batch.
/// </summary>
/// <remarks>
/// Registered as it is with <c>AddChatModel</c>, the loop writes straight into the request's pump: one queue between
/// the model and the client. Inside a <see cref="ChatClientBuilder"/> pipeline, the endpoints call the pipeline like
/// any client, so that its middleware sees every update; each sequence then writes into a queue of its own, which the
/// pipeline reads.
/// </remarks>
public abstract class TokenStreamChatClient : IChatClient
{
    /// <summary>The queue of a sequence read through <see cref="GetStreamingResponseAsync"/>: never full, never merged,
    /// because its reader (a pipeline, then the request's pump) takes every update as it comes.</summary>
    private static readonly TokenPumpOptions s_readerQueue = new() { Capacity = int.MaxValue, MaxBufferedBytes = long.MaxValue };

    private bool _disposed;

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
        var queue = TokenPump<ChatDelta>.Create(ChatDeltaMerger.Instance, s_readerQueue, cancellationToken);
        await using (queue.ConfigureAwait(false))
        {
            StartSequence(new ChatSequence([.. messages], options, queue));
            while (await queue.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false) != PumpSignal.Completed)
            {
                while (queue.TryRead(out var delta))
                {
                    yield return delta.ToUpdate();
                }
            }
        }
    }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <summary>
    /// What the model loop can do beyond text. Default <see cref="ChatModelCapabilities.None"/>; a loop that writes
    /// logprobs (<see cref="ChatSequence.WriteToken(string, LogprobContent?)"/>) overrides it with
    /// <c>new() { Logprobs = true }</c>.
    /// </summary>
    protected virtual ChatModelCapabilities Capabilities => ChatModelCapabilities.None;

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(ChatModelCapabilities) ? Capabilities
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Releases the model's resources once, however often it is called (the host's container disposes a
    /// registered model, and so may its creator). The default does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Hands a request's sequence, which writes into the request's own pump, to the model loop.</summary>
    internal void Start(ChatSequence sequence) => StartSequence(sequence);

    /// <summary>Releases the model's resources.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
    }
}
