using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace OpenAiStreaming.Pump;

/// <summary>
/// Carries deltas from a producer (a model) to a consumer (an HTTP response) so that neither can hurt the other. The
/// producer never waits: when the consumer lags, new deltas merge into the last waiting one, up to a byte limit past
/// which the stream fails and the producer is cancelled. The consumer takes everything that is ready at each wake-up.
/// The producer runs under a token linked to the caller's, so cancelling the request stops generation; disposing
/// cancels it and waits for it, so no generation outlives its request.
/// </summary>
/// <typeparam name="T">The delta type.</typeparam>
/// <remarks>
/// Producers: <see cref="Start"/> pumps an <see cref="IAsyncEnumerable{T}"/> on its own task; <see cref="Create"/>
/// leaves <see cref="TryWrite"/> and <see cref="Complete"/> to a host's model loop. One consumer:
/// <see cref="WaitAsync"/> and <see cref="TryRead"/> are called from one task at a time.
/// </remarks>
public sealed class TokenPump<T> : IAsyncDisposable
{
    /// <summary>Guards every field below it.</summary>
    private readonly Lock _lock = new();

    /// <summary>Deltas waiting for the consumer, oldest first.</summary>
    private readonly Queue<T> _queue = new();

    /// <summary>The newest queued delta, which absorbs new ones while the queue is at capacity; valid while the queue is not empty.</summary>
    private T? _tail;

    /// <summary>Bytes held by <see cref="_queue"/>, as the merger counts them.</summary>
    private long _bufferedBytes;

    /// <summary>The most bytes ever held at once.</summary>
    private long _peakBufferedBytes;

    /// <summary>Deltas merged into an earlier one instead of queued.</summary>
    private long _mergedCount;

    /// <summary>True once the producer has finished, failed, or overflowed: nothing more is written.</summary>
    private bool _completed;

    /// <summary>Why the stream ended, if it failed; thrown to the consumer once the queue is drained.</summary>
    private Exception? _error;

    /// <summary>True once <see cref="DisposeAsync"/> has run.</summary>
    private bool _disposed;

    /// <summary>Rings the bell of the pump passed as state: how a cancelled wait wakes the consumer.</summary>
    private static readonly Action<object?> s_ring = static pump => ((TokenPump<T>)pump!)._doorbell.Writer.TryWrite(true);

    /// <summary>Rung (one slot, extra rings dropped) whenever the state changes; the consumer waits on it.</summary>
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private readonly IDeltaMerger<T> _merger;
    private readonly int _capacity;
    private readonly long _maxBufferedBytes;

    /// <summary>Where idle deadlines and the idle timer read time.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>Linked to the caller's token; cancelled by <see cref="Cancel"/>, an overflow, and <see cref="DisposeAsync"/>.</summary>
    private readonly CancellationTokenSource _cts;

    /// <summary>The task that pumps an enumerable producer; completed at once for a pushing one. Never faults.</summary>
    private Task _producer = Task.CompletedTask;

    /// <summary>
    /// Rings the bell when a consumer's idle deadline may have come. Armed only when it is not already due to fire
    /// before the deadline, so a wait costs a clock read rather than a timer change: the waiter checks the deadline when
    /// the bell rings and re-arms for the rest if it came early.
    /// </summary>
    private ITimer? _idleTimer;

    /// <summary>When <see cref="_idleTimer"/> fires (<see cref="TimeProvider.GetTimestamp"/> ticks), or <see cref="long.MaxValue"/> when disarmed.</summary>
    private long _idleTimerDue = long.MaxValue;

    /// <summary>The consumer's token, registered once to ring the bell when cancelled, and its registration.</summary>
    private CancellationToken _waitToken;
    private CancellationTokenRegistration _waitRegistration;

    private TokenPump(IDeltaMerger<T> merger, TokenPumpOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(merger);
        options ??= new TokenPumpOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBufferedBytes, 1, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        _merger = merger;
        _timeProvider = options.TimeProvider;
        _capacity = options.Capacity;
        _maxBufferedBytes = options.MaxBufferedBytes;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    /// <summary>The token the producer runs under: cancelled with the caller's token, by <see cref="Cancel"/>, when the
    /// consumer falls past the byte limit, and on dispose. A pushing model loop stops the sequence when it fires.</summary>
    public CancellationToken ProducerToken { get; private set; }

    /// <summary>Completes when an enumerable producer has finished, whatever the outcome. Never faults.</summary>
    public Task Completion => _producer;

    /// <summary>Bytes waiting for the consumer now.</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_lock)
            {
                return _bufferedBytes;
            }
        }
    }

    /// <summary>The most bytes that ever waited for the consumer at once.</summary>
    public long PeakBufferedBytes
    {
        get
        {
            lock (_lock)
            {
                return _peakBufferedBytes;
            }
        }
    }

    /// <summary>How many deltas were merged into an earlier one because the consumer lagged.</summary>
    public long MergedCount
    {
        get
        {
            lock (_lock)
            {
                return _mergedCount;
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="source"/> at once, on the caller's thread (so a producer that rejects its input throws
    /// here, while the caller can still answer with a status code), then enumerates it on its own task.
    /// </summary>
    /// <param name="source">Creates the deltas; receives the producer token and must honour it.</param>
    /// <param name="merger">Merges and sizes deltas.</param>
    /// <param name="options">Pump options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the producer when cancelled, typically the request's aborted token.</param>
    /// <returns>The running pump; dispose it to stop and await the producer.</returns>
    public static TokenPump<T> Start(
        Func<CancellationToken, IAsyncEnumerable<T>> source, IDeltaMerger<T> merger, TokenPumpOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var pump = new TokenPump<T>(merger, options, cancellationToken);
        IAsyncEnumerable<T> items;
        try
        {
            pump.ProducerToken = pump._cts.Token;
            items = source(pump.ProducerToken);
        }
        catch
        {
            pump._cts.Dispose();
            throw;
        }

        pump._producer = Task.Run(() => pump.PumpAsync(items));
        return pump;
    }

    /// <summary>Creates a pump that a host's model loop writes to with <see cref="TryWrite"/> and ends with <see cref="Complete"/>.</summary>
    /// <param name="merger">Merges and sizes deltas.</param>
    /// <param name="options">Pump options, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels <see cref="ProducerToken"/> when cancelled.</param>
    /// <returns>The pump.</returns>
    public static TokenPump<T> Create(IDeltaMerger<T> merger, TokenPumpOptions? options = null, CancellationToken cancellationToken = default)
    {
        var pump = new TokenPump<T>(merger, options, cancellationToken);
        pump.ProducerToken = pump._cts.Token;
        return pump;
    }

    /// <summary>
    /// Hands a delta to the consumer without ever waiting. Safe to call from any thread, one producer at a time.
    /// </summary>
    /// <param name="delta">The delta; the pump owns it from now on and may merge later deltas into it.</param>
    /// <returns>False when the stream is over (completed, cancelled or past its byte limit): stop producing.</returns>
    public bool TryWrite(T delta)
    {
        bool overflowed = false;
        lock (_lock)
        {
            if (_completed || ProducerToken.IsCancellationRequested)
            {
                return false;
            }

            long size = _merger.GetSize(delta);
            if (_bufferedBytes + size > _maxBufferedBytes)
            {
                _completed = true;
                _error = new TokenPumpOverflowException(_maxBufferedBytes);
                overflowed = true;
            }
            else
            {
                if (_queue.Count >= _capacity && _merger.TryMerge(_tail!, delta))
                {
                    _mergedCount++;
                }
                else
                {
                    _queue.Enqueue(delta);
                    _tail = delta;
                }

                _bufferedBytes += size;
                _peakBufferedBytes = Math.Max(_peakBufferedBytes, _bufferedBytes);
            }
        }

        if (overflowed)
        {
            // Outside the lock: cancellation runs the producer's callbacks.
            _cts.Cancel();
        }

        _doorbell.Writer.TryWrite(true);
        return !overflowed;
    }

    /// <summary>
    /// Ends the stream. Deltas already written are still delivered, then the consumer sees the end or the error.
    /// After <see cref="ProducerToken"/> is cancelled the end is always an <see cref="OperationCanceledException"/>:
    /// a producer that stopped because it was cancelled must not look finished.
    /// </summary>
    /// <param name="error">Why the producer failed, or null when it finished.</param>
    public void Complete(Exception? error = null)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            _error = error ?? (ProducerToken.IsCancellationRequested ? new OperationCanceledException(ProducerToken) : null);
        }

        _doorbell.Writer.TryWrite(true);
    }

    /// <summary>
    /// Waits until deltas are ready, the stream has ended, or nothing happened for <paramref name="idleTimeout"/>.
    /// </summary>
    /// <param name="idleTimeout">How long to wait before answering <see cref="PumpSignal.Idle"/>;
    /// <see cref="Timeout.InfiniteTimeSpan"/> or zero waits without limit.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Why the wait ended.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled, or the producer was.</exception>
    /// <exception cref="TokenPumpOverflowException">The consumer fell past the byte limit.</exception>
    /// <exception cref="Exception">The producer failed; its exception is rethrown once its earlier deltas are read.</exception>
    public ValueTask<PumpSignal> WaitAsync(TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        // The common case, a delta already waiting, needs no state machine.
        _doorbell.Reader.TryRead(out _);
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                return new ValueTask<PumpSignal>(PumpSignal.Data);
            }
        }

        return WaitCoreAsync(idleTimeout, cancellationToken);
    }

    /// <summary>
    /// <see cref="WaitAsync"/> when it must wait. Pooled, so that a consumer woken once per token (a model slower than
    /// the network) allocates nothing per wake-up: see benchmarks/OpenAiStreaming.Benchmarks, PumpTokenByTokenBenchmarks.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PumpSignal> WaitCoreAsync(TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        bool idle = idleTimeout > TimeSpan.Zero && idleTimeout != Timeout.InfiniteTimeSpan;
        long deadline = idle ? _timeProvider.GetTimestamp() + (long)(idleTimeout.TotalSeconds * _timeProvider.TimestampFrequency) : long.MaxValue;
        if (cancellationToken != _waitToken)
        {
            // The bell is waited on without a token, so the channel reuses its one waiter instead of allocating one per
            // wait; the consumer's token rings the bell instead (registered once, not per wait).
            _waitRegistration.Dispose();
            _waitToken = cancellationToken;
            _waitRegistration = cancellationToken.UnsafeRegister(s_ring, this);
        }

        while (true)
        {
            // Clear the bell before looking, so a write after the look rings it again.
            _doorbell.Reader.TryRead(out _);
            lock (_lock)
            {
                if (_queue.Count > 0)
                {
                    return PumpSignal.Data;
                }

                if (_completed)
                {
                    if (_error is not null)
                    {
                        ExceptionDispatchInfo.Throw(_error);
                    }

                    return PumpSignal.Completed;
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (idle)
            {
                long now = _timeProvider.GetTimestamp();
                if (now >= deadline)
                {
                    return PumpSignal.Idle;
                }

                if (Volatile.Read(ref _idleTimerDue) > deadline)
                {
                    ArmIdleTimer(now, deadline);
                }
            }

            await _doorbell.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Arms the idle timer to ring the bell at <paramref name="deadline"/>.</summary>
    private void ArmIdleTimer(long now, long deadline)
    {
        _idleTimer ??= _timeProvider.CreateTimer(
            static state =>
            {
                var pump = (TokenPump<T>)state!;
                Volatile.Write(ref pump._idleTimerDue, long.MaxValue);
                pump._doorbell.Writer.TryWrite(true);
            },
            this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _idleTimerDue, deadline);
        _idleTimer.Change(_timeProvider.GetElapsedTime(now, deadline) + TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
    }

    /// <summary>Takes the oldest ready delta without waiting.</summary>
    /// <param name="delta">The delta, when one was ready.</param>
    /// <returns>True when a delta was taken.</returns>
    public bool TryRead(out T delta)
    {
        lock (_lock)
        {
            if (!_queue.TryDequeue(out delta!))
            {
                return false;
            }

            _bufferedBytes -= _merger.GetSize(delta);
            if (_queue.Count == 0)
            {
                Debug.Assert(_bufferedBytes == 0, "A merger's sizes must add up.");
                _tail = default;
            }

            return true;
        }
    }

    /// <summary>Asks the producer to stop. Deltas already written can still be read.</summary>
    public void Cancel() => _cts.Cancel();

    /// <summary>Cancels the producer if it is still running and waits for an enumerable producer to finish.</summary>
    /// <returns>A task that completes when the producer has finished.</returns>
    public async ValueTask DisposeAsync()
    {
        bool running;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            running = !_completed;
        }

        if (running || !_producer.IsCompleted)
        {
            _cts.Cancel();
        }

        await _producer.ConfigureAwait(false);
        _cts.Dispose();
        _idleTimer?.Dispose();
        _waitRegistration.Dispose();
    }

    private async Task PumpAsync(IAsyncEnumerable<T> items)
    {
        try
        {
            await foreach (var item in items.WithCancellation(ProducerToken).ConfigureAwait(false))
            {
                if (!TryWrite(item))
                {
                    break;
                }
            }

            Complete();
        }
#pragma warning disable CA1031 // The producer's failure, whatever it is, belongs to the consumer.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Complete(ex);
        }
    }
}
