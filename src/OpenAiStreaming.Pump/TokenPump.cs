using System.Diagnostics;
using System.Threading.Channels;

namespace OpenAiStreaming.Pump;

/// <summary>
/// Moves deltas from a producer (a model's token stream) to a consumer (the HTTP response) through a bounded channel.
/// The producer runs on its own task under a token linked to the caller's, so cancelling the request, or disposing the
/// pump, stops generation; disposing also waits for the producer, so no generation outlives its request.
/// </summary>
/// <typeparam name="T">The delta type.</typeparam>
/// <remarks>
/// One consumer: <see cref="WaitAsync"/> and <see cref="TryRead"/> are called from one task at a time. A producer's
/// exception surfaces from <see cref="WaitAsync"/> after the deltas written before it have been read.
/// </remarks>
public sealed class TokenPump<T> : IAsyncDisposable
{
    /// <summary>The channel between producer and consumer; completed by the producer task, with its error if any.</summary>
    private readonly Channel<T> _channel;

    /// <summary>Linked to the caller's token; cancelled by <see cref="Cancel"/> and <see cref="DisposeAsync"/>.</summary>
    private readonly CancellationTokenSource _cts;

    /// <summary>The producer task; never faults (errors go into the channel), so awaiting it never throws.</summary>
    private readonly Task _producer;

    /// <summary>Cancels a wait after the idle timeout; reset after each wait that ends in time.</summary>
    private CancellationTokenSource? _idleCts;

    /// <summary>The caller's token <see cref="_idleCts"/> is linked to.</summary>
    private CancellationToken _idleCtsLinkedTo;

    private TokenPump(Func<CancellationToken, IAsyncEnumerable<T>> source, TokenPumpOptions options, CancellationToken cancellationToken)
    {
        _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(options.Capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _producer = Task.Run(() => ProduceAsync(source));
    }

    /// <summary>The token the producer runs under: cancelled when the caller's token is, or by <see cref="Cancel"/>.</summary>
    public CancellationToken ProducerToken => _cts.Token;

    /// <summary>Completes when the producer has finished, whatever the outcome. Never faults.</summary>
    public Task Completion => _producer;

    /// <summary>Starts <paramref name="source"/> on its own task and returns the pump that carries its deltas.</summary>
    /// <param name="source">Produces the deltas; receives the producer token and must honour it.</param>
    /// <param name="options">Pump options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the producer when cancelled, typically the request's aborted token.</param>
    /// <returns>The running pump; dispose it to stop and await the producer.</returns>
    public static TokenPump<T> Start(Func<CancellationToken, IAsyncEnumerable<T>> source, TokenPumpOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        options ??= new TokenPumpOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, nameof(options));
        return new TokenPump<T>(source, options, cancellationToken);
    }

    /// <summary>
    /// Waits until deltas are ready, the producer has finished, or nothing happened for <paramref name="idleTimeout"/>.
    /// </summary>
    /// <param name="idleTimeout">How long to wait before answering <see cref="PumpSignal.Idle"/>;
    /// <see cref="Timeout.InfiniteTimeSpan"/> or zero waits without limit.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Why the wait ended.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled, or the producer was.</exception>
    /// <exception cref="Exception">The producer failed; its exception is rethrown once its earlier deltas are read.</exception>
    public async ValueTask<PumpSignal> WaitAsync(TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        var reader = _channel.Reader;
        if (reader.TryPeek(out _))
        {
            return PumpSignal.Data;
        }

        if (idleTimeout <= TimeSpan.Zero || idleTimeout == Timeout.InfiniteTimeSpan)
        {
            return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) ? PumpSignal.Data : PumpSignal.Completed;
        }

        if (_idleCts is null || _idleCtsLinkedTo != cancellationToken)
        {
            _idleCts?.Dispose();
            _idleCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _idleCtsLinkedTo = cancellationToken;
        }

        _idleCts.CancelAfter(idleTimeout);
        try
        {
            bool ready = await reader.WaitToReadAsync(_idleCts.Token).ConfigureAwait(false);
            ResetIdleTimer();
            return ready ? PumpSignal.Data : PumpSignal.Completed;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _idleCts.IsCancellationRequested)
        {
            // The idle timer fired; a cancelled source cannot be reset, so the next wait links a new one.
            _idleCts.Dispose();
            _idleCts = null;
            return PumpSignal.Idle;
        }
    }

    /// <summary>Takes one ready delta without waiting.</summary>
    /// <param name="item">The delta, when one was ready.</param>
    /// <returns>True when a delta was taken.</returns>
    public bool TryRead(out T item) => _channel.Reader.TryRead(out item!);

    /// <summary>Asks the producer to stop. Deltas already queued can still be read.</summary>
    public void Cancel() => _cts.Cancel();

    /// <summary>Cancels the producer if it is still running and waits for it to finish.</summary>
    /// <returns>A task that completes when the producer has finished.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!_producer.IsCompleted)
        {
            _cts.Cancel();
        }

        await _producer.ConfigureAwait(false);
        _cts.Dispose();
        _idleCts?.Dispose();
    }

    private void ResetIdleTimer()
    {
        Debug.Assert(_idleCts is not null);
        if (!_idleCts.TryReset())
        {
            _idleCts.Dispose();
            _idleCts = null;
        }
    }

    private async Task ProduceAsync(Func<CancellationToken, IAsyncEnumerable<T>> source)
    {
        var token = _cts.Token;
        Exception? error = null;
        try
        {
            await foreach (var item in source(token).WithCancellation(token).ConfigureAwait(false))
            {
                await _channel.Writer.WriteAsync(item, token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // The producer's failure, whatever it is, belongs to the consumer.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            error = ex;
        }

        _channel.Writer.TryComplete(error);
    }
}
