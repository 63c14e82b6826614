using System.Diagnostics;
using System.Runtime.CompilerServices;

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
/// <para>
/// Producers: <see cref="Start"/> pumps an <see cref="IAsyncEnumerable{T}"/> on its own task; <see cref="Create"/>
/// leaves <see cref="TryWrite"/> and <see cref="Complete"/> to a host's model loop, and is then the only queue between
/// the loop and the response (the loop writes straight into it, with nothing in between to drain).
/// </para>
/// <para>
/// A pushing loop (typically one thread that steps a batch of sequences, one pump each) calls <see cref="TryWrite"/>
/// for every token of a sequence. It never waits: the pump's lock is held only for its own bookkeeping, never while
/// the consumer or the merger runs. When <see cref="TryWrite"/> returns false the sequence is over for both sides
/// (cancelled, completed, or past the byte limit; a cancelled push pump ends for its consumer as soon as
/// <see cref="ProducerToken"/> fires, with the deltas already written read first): the loop drops the sequence and
/// need not call anything else. A sequence that finishes ends with <see cref="Complete"/>, one that fails with
/// <see cref="Complete"/> and the error. One producer at a time per pump; any thread.
/// </para>
/// <para>One consumer: <see cref="WaitAsync"/> and <see cref="TryRead"/> are called from one task at a time.</para>
/// <para>
/// Where the model starts: on the thread pool, or, when the consumer waits before a thread has taken it, inside that
/// first wait, for its first steps only (to its first await, or 16 deltas that were ready at once), so that a request
/// that starts its pump and then waits does not wait for a thread to wake up as well, and a short answer ready at once
/// goes out in one flush. Never inside <see cref="Start"/>.
/// </para>
/// <para>
/// Where a waiting consumer resumes: for <see cref="Start"/>, when the enumerable had to wait for the delta (a paced
/// model), for the delta right after such a one, for the first delta and for the end of the stream, on the producer's
/// thread, inside the write that woke it (no thread-pool hop per delta); its code runs there until it awaits something
/// that is not complete, such as a flush to a backed-up connection, and the producer continues then. A delta that was
/// ready at once after another one that was, and every write to a <see cref="Create"/> pump, wakes it on the thread
/// pool, so a fast producer runs ahead and a loop that pushes into many pumps pays only the pump's bookkeeping per
/// token. Idle timeouts and cancellation wake it on the thread pool too.
/// </para>
/// </remarks>
public sealed class TokenPump<T> : IAsyncDisposable, IWaitAnswer
{
    /// <summary>Guards the fields from <see cref="_queue"/> to <see cref="_disposed"/>, and only those.</summary>
    /// <remarks>
    /// Invariants whenever the lock is free, asserted in debug builds by <see cref="AssertInvariants"/>:
    /// <list type="bullet">
    /// <item><c>_readBytes &lt;= _writtenBytes</c>; what waits, <c>_writtenBytes - _readBytes</c>, is at most
    /// <see cref="_peakBufferedBytes"/>, which is at most <see cref="_maxBufferedBytes"/>.</item>
    /// <item>An empty <see cref="_queue"/> has been read to the end (<c>_readBytes == _writtenBytes</c>), has no
    /// <see cref="_tail"/>, and nothing merges into it; a non-empty one starts where reading stopped (its head's
    /// offset is <see cref="_readBytes"/>).</item>
    /// <item><see cref="_error"/> is set only once <see cref="_completed"/> is.</item>
    /// </list>
    /// No caller code runs under it: the merger runs between two holds (<see cref="TryWrite"/>), and cancellation,
    /// whose callbacks are the caller's, after the lock is released.
    /// </remarks>
    private readonly Lock _lock = new();

    /// <summary>
    /// Deltas waiting for the consumer, oldest first, each with its offset: the bytes written before it. A delta's
    /// bytes, merged ones included, run from its offset to the next one's (or <see cref="_writtenBytes"/>), so
    /// reading needs no call to the merger.
    /// </summary>
    private readonly Queue<(T Delta, long Offset)> _queue = new();

    /// <summary>The newest queued delta, which absorbs new ones while the queue is at capacity; default while the queue is empty.</summary>
    private T? _tail;

    /// <summary>True while the producer merges into <see cref="_tail"/> outside the lock: the consumer must not take it yet.</summary>
    private bool _merging;

    /// <summary>Bytes of every delta accepted so far, merged ones included, as the merger sized them when written.</summary>
    private long _writtenBytes;

    /// <summary>Of <see cref="_writtenBytes"/>, those the consumer has taken.</summary>
    private long _readBytes;

    /// <summary>The most bytes ever waiting at once.</summary>
    private long _peakBufferedBytes;

    /// <summary>Deltas merged into an earlier one instead of queued.</summary>
    private long _mergedCount;

    /// <summary>True once the producer has finished, failed, overflowed, or (push pumps) been cancelled: nothing more is written.</summary>
    private bool _completed;

    /// <summary>Why the stream ended, if it failed; thrown to the consumer once the queue is drained.</summary>
    private Exception? _error;

    /// <summary>True once <see cref="DisposeAsync"/> has run.</summary>
    private bool _disposed;

    /// <summary>Rings the bell of the pump passed as state: how a cancelled wait wakes the consumer (on the thread pool,
    /// never inside the canceller's callback).</summary>
    private static readonly Action<object?> s_ring = static pump => ((TokenPump<T>)pump!)._doorbell.Ring(inline: false);

    /// <summary>Rung (one slot, extra rings dropped) whenever the state changes; the consumer's wait, answered by it.</summary>
    private readonly Doorbell _doorbell;


    /// <summary>Merges and sizes deltas: the caller's code, so never called under <see cref="_lock"/>.</summary>
    private readonly IDeltaMerger<T> _merger;

    /// <summary>How many deltas queue apart before new ones merge into <see cref="_tail"/>; at least 1.</summary>
    private readonly int _capacity;

    /// <summary>The most bytes that may wait; at least 1.</summary>
    private readonly long _maxBufferedBytes;

    /// <summary>Where idle deadlines and the idle timer read time.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>Cancelled with the caller's token, by <see cref="Cancel"/>, an overflow, and <see cref="DisposeAsync"/>.</summary>
    private readonly CancellationTokenSource _cts;

    /// <summary>The caller's token. Its one registration both cancels <see cref="_cts"/> and rings the bell, so a
    /// consumer that waits with this same token (the usual case) needs no registration of its own.</summary>
    private readonly CancellationToken _callerToken;

    /// <summary>The registration of <see cref="_callerToken"/>.</summary>
    private readonly CancellationTokenRegistration _callerRegistration;

    /// <summary>The task that pumps an enumerable producer, set by <see cref="Start"/> before the pump is returned;
    /// completed at once for a pushing one. Never faults.</summary>
    private Task _producer = Task.CompletedTask;

    /// <summary>The pump's own producer while it is parked for the thread-pool work item that <see cref="StartGate"/>
    /// queued (or for the consumer's first wait, before it starts); null while neither has it;
    /// <see cref="s_workItemRan"/> once the work item has run.</summary>
    private Action? _start;

    /// <summary>
    /// The most deltas a producer that the consumer's first wait started makes inside that wait while they are ready at
    /// once (see <see cref="PumpAsync"/>): enough for a short answer and its end to go out in the first flush, few enough
    /// that a fast model's first tokens are not held back behind many more.
    /// </summary>
    internal const int FirstBurst = 16;

    /// <summary>What the work item leaves in <see cref="_start"/>: nothing parked there later will be run by it.</summary>
    private static readonly Action s_workItemRan = static () => { };

    /// <summary>Set by the consumer before it runs <see cref="_start"/> itself; read by the producer as it starts.</summary>
    private bool _startedByConsumer;

    /// <summary><see cref="TokenPumpOptions.StartOnFirstWait"/>: <see cref="StartGate"/> queues no work item; the
    /// consumer's first wait, or <see cref="DisposeAsync"/>, starts the producer.</summary>
    private readonly bool _startOnFirstWait;

    // The consumer's fields: touched only by the one consumer (and the idle timer's callback, through Volatile), so
    // outside the lock.

    /// <summary>
    /// Rings the bell when a consumer's idle deadline may have come. Armed only when it is not already due to fire
    /// before the deadline, so a wait costs a clock read rather than a timer change: the waiter checks the deadline when
    /// the bell rings and re-arms for the rest if it came early.
    /// </summary>
    private ITimer? _idleTimer;

    /// <summary>When <see cref="_idleTimer"/> fires (<see cref="TimeProvider.GetTimestamp"/> ticks), or <see cref="long.MaxValue"/> when disarmed.</summary>
    private long _idleTimerDue = long.MaxValue;

    /// <summary>The consumer's token, registered once to ring the bell when cancelled.</summary>
    private CancellationToken _waitToken;

    /// <summary>Whether the consumer's current wait ends at <see cref="_waitDeadline"/>.</summary>
    private bool _waitIdle;

    /// <summary>When the consumer's current wait answers <see cref="PumpSignal.Idle"/> (<see cref="TimeProvider.GetTimestamp"/> ticks).</summary>
    private long _waitDeadline;

    /// <summary>The registration of <see cref="_waitToken"/>.</summary>
    private CancellationTokenRegistration _waitRegistration;

    private TokenPump(IDeltaMerger<T> merger, TokenPumpOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(merger);
        options ??= new TokenPumpOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBufferedBytes, 1, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        _merger = merger;
        _capacity = options.Capacity;
        _maxBufferedBytes = options.MaxBufferedBytes;
        _timeProvider = options.TimeProvider;
        _startOnFirstWait = options.StartOnFirstWait;
        _doorbell = new Doorbell(this);
        _cts = new CancellationTokenSource();
        ProducerToken = _cts.Token;
        _callerToken = cancellationToken;
        _callerRegistration = cancellationToken.UnsafeRegister(
            static state =>
            {
                var pump = (TokenPump<T>)state!;
                pump._cts.Cancel();
                pump._doorbell.Ring(inline: false);
            },
            this);
    }

    /// <summary>The token the producer runs under: cancelled with the caller's token, by <see cref="Cancel"/>, when the
    /// consumer falls past the byte limit, and on dispose. A pushing model loop stops the sequence when it fires.</summary>
    public CancellationToken ProducerToken { get; }

    /// <summary>Completes when an enumerable producer has finished, whatever the outcome. Never faults.</summary>
    public Task Completion => _producer;

    /// <summary>Bytes waiting for the consumer now.</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_lock)
            {
                return _writtenBytes - _readBytes;
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
    /// here, while the caller can still answer with a status code), then enumerates it on its own task: at once, or from
    /// the consumer's first wait with <see cref="TokenPumpOptions.StartOnFirstWait"/>.
    /// </summary>
    /// <param name="source">Creates the deltas; receives the producer token and must honour it.</param>
    /// <param name="merger">Merges and sizes deltas.</param>
    /// <param name="options">Pump options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the producer when cancelled, typically the request's aborted token.</param>
    /// <returns>The running pump; dispose it to stop and await the producer.</returns>
    public static TokenPump<T> Start(
        Func<CancellationToken, IAsyncEnumerable<T>> source, IDeltaMerger<T> merger, TokenPumpOptions? options = null, CancellationToken cancellationToken = default) =>
        StartSelecting(source, static item => item, merger, options, cancellationToken);

    /// <summary>
    /// <see cref="Start(Func{CancellationToken, IAsyncEnumerable{T}}, IDeltaMerger{T}, TokenPumpOptions?, CancellationToken)"/>
    /// for a source whose items become deltas through <paramref name="selector"/>, applied on the producer's task as
    /// each item arrives: no adapter enumerable (an async iterator more per stream and per item) between the model and
    /// the pump.
    /// </summary>
    /// <typeparam name="TSource">The source's item type.</typeparam>
    /// <param name="source">Creates the items; receives the producer token and must honour it.</param>
    /// <param name="selector">Makes a delta of an item.</param>
    /// <param name="merger">Merges and sizes deltas.</param>
    /// <param name="options">Pump options, or null for the defaults.</param>
    /// <param name="cancellationToken">Stops the producer when cancelled, typically the request's aborted token.</param>
    /// <returns>The running pump; dispose it to stop and await the producer.</returns>
    public static TokenPump<T> StartSelecting<TSource>(
        Func<CancellationToken, IAsyncEnumerable<TSource>> source,
        Func<TSource, T> selector,
        IDeltaMerger<T> merger,
        TokenPumpOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(selector);
        var pump = new TokenPump<T>(merger, options, cancellationToken);
        IAsyncEnumerable<TSource> items;
        try
        {
            items = source(pump.ProducerToken);
        }
        catch
        {
            pump._callerRegistration.Dispose();
            pump._cts.Dispose();
            throw;
        }

        // Where nothing else schedules continuations (a server's request), the producer's own task parks itself for the
        // thread pool or the consumer's first wait (StartGate), with no closure or wrapping task; elsewhere Task.Run
        // leaves the caller's context.
        pump._producer = SynchronizationContext.Current is null && TaskScheduler.Current == TaskScheduler.Default
            ? pump.PumpAsync(items, selector, yieldFirst: true)
            : Task.Run(() => pump.PumpAsync(items, selector, yieldFirst: false));
        return pump;
    }

    /// <summary>
    /// Creates a pump that a host's model loop writes to with <see cref="TryWrite"/> and ends with
    /// <see cref="Complete"/>. Once <see cref="ProducerToken"/> fires the stream is over: the consumer reads what was
    /// written, then gets an <see cref="OperationCanceledException"/>, whether or not the loop calls
    /// <see cref="Complete"/>.
    /// </summary>
    /// <param name="merger">Merges and sizes deltas.</param>
    /// <param name="options">Pump options, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels <see cref="ProducerToken"/> when cancelled.</param>
    /// <returns>The pump.</returns>
    public static TokenPump<T> Create(IDeltaMerger<T> merger, TokenPumpOptions? options = null, CancellationToken cancellationToken = default)
    {
        var pump = new TokenPump<T>(merger, options, cancellationToken);

        // No task ends when a pushing loop stops, so the cancellation itself ends the stream: a loop that drops a
        // cancelled sequence leaves no consumer waiting. The registration lives and dies with _cts.
        pump.ProducerToken.UnsafeRegister(static state => ((TokenPump<T>)state!).CompleteCore(null, inline: false), pump);
        return pump;
    }

    /// <summary>
    /// Hands a delta to the consumer without ever waiting. Safe to call from any thread, one producer at a time.
    /// </summary>
    /// <param name="delta">The delta; the pump owns it from now on and may merge later deltas into it.</param>
    /// <returns>False when the stream is over (completed, cancelled or past its byte limit): stop producing; the
    /// consumer learns the end from the pump.</returns>
    public bool TryWrite(T delta) => TryWriteCore(delta, inline: false);

    /// <summary>
    /// <see cref="TryWrite"/>; when <paramref name="inline"/>, a waiting consumer runs on this thread before it returns
    /// (see <see cref="PumpAsync"/> for when the pump's own producer asks for that).
    /// </summary>
    private bool TryWriteCore(T delta, bool inline)
    {
        // Sized before the lock: the delta is still the producer's alone. It is never sized again (see _queue).
        long size = _merger.GetSize(delta);
        T? pending = default;
        bool merge = false;
        bool overflowed = false;
        lock (_lock)
        {
            Debug.Assert(!_merging, "One producer at a time: the last write is still merging.");
            if (_completed || ProducerToken.IsCancellationRequested)
            {
                return false;
            }

            if (size > _maxBufferedBytes - (_writtenBytes - _readBytes))
            {
                _completed = overflowed = true;
                _error = new TokenPumpOverflowException(_maxBufferedBytes);
            }
            else if (_queue.Count < _capacity)
            {
                _queue.Enqueue((delta, _writtenBytes));
                _tail = delta;
                Accept(size);
            }
            else
            {
                // The bytes count from now; the merge runs after the lock, the tail held back from the consumer.
                merge = _merging = true;
                pending = _tail;
                Accept(size);
            }

            AssertInvariants();
        }

        if (overflowed)
        {
            // Outside the lock: cancellation runs the producer's callbacks.
            _cts.Cancel();
        }
        else if (merge)
        {
            MergeIntoTail(pending!, delta, size);
        }

        // An overflow ends the stream for the consumer, which then cancels and disposes: never on the producer's thread.
        _doorbell.Ring(inline && !overflowed);
        return !overflowed;
    }

    /// <summary>
    /// Merges <paramref name="delta"/> into <paramref name="pending"/>, the tail that <see cref="TryWrite"/> reserved,
    /// outside the lock, because the merger is the caller's code. Nothing else touches <paramref name="pending"/>
    /// meanwhile: only the producer writes, and while <see cref="_merging"/> is set the consumer cannot take the tail
    /// (it waits for the bell rung once the merge is over) and does not see the end of the stream.
    /// </summary>
    private void MergeIntoTail(T pending, T delta, long size)
    {
        bool merged;
        try
        {
            merged = _merger.TryMerge(pending, delta);
        }
        catch
        {
            lock (_lock)
            {
                // As if the write had not happened: its bytes go back and the tail is the consumer's again.
                _merging = false;
                _writtenBytes -= size;
                AssertInvariants();
            }

            _doorbell.Ring(inline: false);
            throw;
        }

        lock (_lock)
        {
            _merging = false;
            if (merged)
            {
                _mergedCount++;
            }
            else
            {
                // Nothing was written since the reservation (one producer), so the delta starts where the tail ends.
                _queue.Enqueue((delta, _writtenBytes - size));
                _tail = delta;
            }

            AssertInvariants();
        }
    }

    /// <summary>Counts <paramref name="size"/> more bytes as written; the lock is held.</summary>
    private void Accept(long size)
    {
        _writtenBytes += size;
        _peakBufferedBytes = Math.Max(_peakBufferedBytes, _writtenBytes - _readBytes);
    }

    /// <summary>
    /// Ends the stream. Deltas already written are still delivered, then the consumer sees the end or the error.
    /// After <see cref="ProducerToken"/> is cancelled an end without an error is an
    /// <see cref="OperationCanceledException"/>: a producer that stopped because it was cancelled must not look
    /// finished. The first end wins; later calls do nothing.
    /// </summary>
    /// <param name="error">Why the producer failed, or null when it finished.</param>
    public void Complete(Exception? error = null) => CompleteCore(error, inline: false);

    /// <summary><see cref="Complete"/>, waking a waiting consumer on this thread when <paramref name="inline"/>.</summary>
    private void CompleteCore(Exception? error, bool inline)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            _error = error ?? (ProducerToken.IsCancellationRequested ? new OperationCanceledException(ProducerToken) : null);
            AssertInvariants();
        }

        _doorbell.Ring(inline);
    }

    /// <summary>
    /// Waits until deltas are ready, the stream has ended, or nothing happened for <paramref name="idleTimeout"/>.
    /// </summary>
    /// <param name="idleTimeout">How long to wait before answering <see cref="PumpSignal.Idle"/>;
    /// <see cref="Timeout.InfiniteTimeSpan"/> or zero waits without limit.</param>
    /// <param name="cancellationToken">Cancels the wait. The caller's token or <see cref="ProducerToken"/> costs no registration of its own.</param>
    /// <returns>Why the wait ended.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled, or the producer was.</exception>
    /// <exception cref="TokenPumpOverflowException">The consumer fell past the byte limit.</exception>
    /// <exception cref="Exception">The producer failed; its exception is rethrown once its earlier deltas are read.</exception>
    public ValueTask<PumpSignal> WaitAsync(TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        // The common case, a delta already waiting, needs no setup.
        _doorbell.Clear();
        lock (_lock)
        {
            if (HasReadable)
            {
                return new ValueTask<PumpSignal>(PumpSignal.Data);
            }
        }

        if (!_startedByConsumer && Volatile.Read(ref _start) is { } start && start != s_workItemRan
            && Interlocked.CompareExchange(ref _start, _startOnFirstWait ? s_workItemRan : null, start) == start)
        {
            // The producer has not started yet and the consumer has nothing to do but wait for it: its first steps run
            // here rather than after a thread wakes up for it (see StartGate); the doorbell below then sees what it did.
            // Once only: what the producer parks later is the work item's (without one, StartOnFirstWait, the
            // producer's hand-off finds s_workItemRan here and queues itself).
            _startedByConsumer = true;
            start();
        }

        _waitIdle = idleTimeout > TimeSpan.Zero && idleTimeout != Timeout.InfiniteTimeSpan;
        _waitDeadline = _waitIdle ? _timeProvider.GetTimestamp() + (long)(idleTimeout.TotalSeconds * _timeProvider.TimestampFrequency) : long.MaxValue;
        if (cancellationToken != _waitToken)
        {
            // The bell is waited on without a token; the consumer's token rings it instead (registered once, not per
            // wait, and not at all when it is the caller's token or the producer token: whatever cancels either rings it
            // already).
            _waitRegistration.Dispose();
            _waitToken = cancellationToken;
            _waitRegistration = cancellationToken == _callerToken || cancellationToken == ProducerToken
                ? default
                : cancellationToken.UnsafeRegister(s_ring, this);
        }

        // Allocates nothing, now or when it completes later: see PumpTokenByTokenBenchmarks.
        return _doorbell.WaitAsync();
    }

    /// <summary>The consumer's wait, looked at by the doorbell whenever it rings: the bell is cleared before the look,
    /// so a write after it rings again.</summary>
    bool IWaitAnswer.TryAnswer(out PumpSignal signal, out Exception? error)
    {
        signal = PumpSignal.Data;
        error = null;
        _doorbell.Clear();
        lock (_lock)
        {
            if (HasReadable)
            {
                return true;
            }

            // A merge in flight may still queue its delta: the end comes after it.
            if (_completed && !_merging)
            {
                signal = PumpSignal.Completed;
                error = _error;
                return true;
            }
        }

        if (_waitToken.IsCancellationRequested)
        {
            error = new OperationCanceledException(_waitToken);
            return true;
        }

        if (_waitIdle)
        {
            long now = _timeProvider.GetTimestamp();
            if (now >= _waitDeadline)
            {
                signal = PumpSignal.Idle;
                return true;
            }

            if (Volatile.Read(ref _idleTimerDue) > _waitDeadline)
            {
                ArmIdleTimer(now, _waitDeadline);

                // The timer counts from `now`: if the deadline passed meanwhile (a clock moved on by another thread, as
                // a test's fake clock is), it would ring late, after a clock that no longer moves; look once more.
                if (_timeProvider.GetTimestamp() >= _waitDeadline)
                {
                    signal = PumpSignal.Idle;
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Arms the idle timer to ring the bell at <paramref name="deadline"/>.</summary>
    private void ArmIdleTimer(long now, long deadline)
    {
        _idleTimer ??= _timeProvider.CreateTimer(
            static state =>
            {
                var pump = (TokenPump<T>)state!;
                Volatile.Write(ref pump._idleTimerDue, long.MaxValue);
                pump._doorbell.Ring(inline: false);
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
            if (!HasReadable)
            {
                delta = default!;
                return false;
            }

            delta = _queue.Dequeue().Delta;
            if (_queue.TryPeek(out var next))
            {
                _readBytes = next.Offset;
            }
            else
            {
                _readBytes = _writtenBytes;
                _tail = default;
            }

            AssertInvariants();
            return true;
        }
    }

    /// <summary>Whether the consumer may take a delta now: one is queued that no merge is writing into. The lock is held.</summary>
    private bool HasReadable => _queue.Count > (_merging ? 1 : 0);

    /// <summary>Asks the producer to stop. Deltas already written can still be read; a consumer waiting with
    /// <see cref="ProducerToken"/> wakes up to an <see cref="OperationCanceledException"/>.</summary>
    public void Cancel()
    {
        _cts.Cancel();
        _doorbell.Ring(inline: false);
    }

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
            AssertInvariants();
        }

        if (running || !_producer.IsCompleted)
        {
            _cts.Cancel();
        }

        if (_startOnFirstWait && Interlocked.Exchange(ref _start, s_workItemRan) is { } parked && parked != s_workItemRan)
        {
            // Nobody waited, so the producer never started: it starts now, cancelled, to end.
            ThreadPool.UnsafeQueueUserWorkItem(static parked => parked(), parked, preferLocal: false);
        }

        await _producer.ConfigureAwait(false);

        // Waits for a cancellation callback in flight, which uses _cts.
        _callerRegistration.Dispose();
        _cts.Dispose();
        _idleTimer?.Dispose();
        _waitRegistration.Dispose();
    }

    /// <summary>Asserts the invariants written beside <see cref="_lock"/>, which the caller holds.</summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "The invariants hold under the lock only.");
        long buffered = _writtenBytes - _readBytes;
        Debug.Assert(0 <= buffered && buffered <= _peakBufferedBytes && _peakBufferedBytes <= _maxBufferedBytes, "Waiting bytes out of bounds.");
        if (_queue.Count == 0)
        {
            Debug.Assert(buffered == 0, "An empty queue has been read to the end.");
            Debug.Assert(EqualityComparer<T>.Default.Equals(_tail, default), "An empty queue has no tail.");
            Debug.Assert(!_merging, "A merge writes into a queued tail.");
        }
        else
        {
            Debug.Assert(_queue.Peek().Offset == _readBytes, "The queue starts where reading stopped.");
        }

        Debug.Assert(_error is null || _completed, "An error ends the stream.");
    }

    /// <summary>
    /// Enumerates an enumerable producer into the pump. A delta that the producer had to wait for (a paced model: its
    /// <c>MoveNextAsync</c> did not complete at once) wakes a waiting consumer on this thread, with no thread-pool hop:
    /// the producer has nothing else ready, and a consumer's flush that must wait hands the thread back at once. A
    /// delta that was ready at once (a model faster than the network) wakes the consumer on the thread pool instead, so
    /// the producer runs ahead and the consumer takes several deltas per flush; except the first of a stream, and the
    /// first after one the producer waited for, which go out at once whatever follows them: the first token's time, and
    /// a paced model that came back late (its next token already due, or the end of its answer right after its last
    /// token), where a hop would put a token behind the thread pool's backlog just when the server is behind. When the
    /// consumer's first wait started the producer (<see cref="StartGate"/>), the producer makes what is ready at once
    /// inside that wait, up to <see cref="FirstBurst"/> deltas, then moves the rest to the thread pool, so that the
    /// consumer can send them: a short answer that is ready at once (or the first deltas of a long one) goes out in the
    /// consumer's first flush, with no thread-pool dispatch or second send for its end.
    /// </summary>
    private async Task PumpAsync<TSource>(IAsyncEnumerable<TSource> items, Func<TSource, T> selector, bool yieldFirst)
    {
        // Off the caller's thread: the model runs on the pump's task, never inside the request that started it. Started
        // by the consumer's first wait, it makes there what is ready at once, up to FirstBurst deltas.
        int burst = yieldFirst && await new StartGate(this, handOff: false) ? FirstBurst : 0;

        // Whether the last delta was one the producer waited for; true before the first, which goes out at once too.
        bool waited = true;
        try
        {
            var enumerator = items.GetAsyncEnumerator(ProducerToken);
            await using (enumerator.ConfigureAwait(false))
            {
                while (true)
                {
                    var next = enumerator.MoveNextAsync();
                    bool afterWait = waited;
                    waited = !next.IsCompleted;
                    if (waited)
                    {
                        // It resumes wherever the model wakes it, no longer inside the consumer's wait.
                        burst = 0;
                    }

                    if (!await next.ConfigureAwait(false) || !TryWriteCore(selector(enumerator.Current), waited || afterWait))
                    {
                        break;
                    }

                    if (burst > 0 && --burst == 0)
                    {
                        // The consumer, which started the producer and is still waiting on this thread, sends what was
                        // made so far; the rest goes on without it, on the work item queued at the start.
                        await new StartGate(this, handOff: true);
                    }
                }
            }

            // The end wakes a waiting consumer here whatever came before it: the producer has nothing left to run ahead of.
            CompleteCore(null, inline: true);
        }
#pragma warning disable CA1031 // The producer's failure, whatever it is, belongs to the consumer.
        catch (Exception ex)
        {
            CompleteCore(ex, inline: false);
        }
#pragma warning restore CA1031
    }

    /// <summary>
    /// What an enumerable producer awaits first: it parks the producer in <see cref="_start"/> and queues a work item
    /// that starts it on the thread pool, unless the consumer's first wait comes first and starts it itself. Either way
    /// the model never runs inside <see cref="Start"/>, and starts whether or not anyone reads; but a consumer that
    /// waits before a thread has woken up for the producer (a request, right after starting its pump) runs the first
    /// steps at once instead of parking until then. Its result: whether the consumer started it. A producer that the
    /// consumer started awaits it again (<c>handOff</c>) after <see cref="FirstBurst"/> deltas that were ready at once,
    /// to leave the consumer's thread: it parks for the same work item, one thread-pool dispatch per stream rather than
    /// two, or queues itself when that work item has already run. With <see cref="TokenPumpOptions.StartOnFirstWait"/>
    /// the gate queues nothing: the consumer's first wait starts the producer, or <see cref="DisposeAsync"/> does.
    /// </summary>
    private readonly struct StartGate(TokenPump<T> pump, bool handOff) : ICriticalNotifyCompletion
    {
        public bool IsCompleted => false;

        public StartGate GetAwaiter() => this;

        public bool GetResult() => pump._startedByConsumer;

        public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation)
        {
            if (!handOff)
            {
                pump._start = continuation;
                if (pump._startOnFirstWait)
                {
                    return;
                }

                ThreadPool.UnsafeQueueUserWorkItem(
                    static p =>
                    {
                        var parked = Interlocked.Exchange(ref p._start, s_workItemRan);
                        if (parked is not null && parked != s_workItemRan)
                        {
                            parked();
                        }
                    },
                    pump,
                    preferLocal: false);
            }
            else if (Interlocked.CompareExchange(ref pump._start, continuation, null) is not null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static parked => parked(), continuation, preferLocal: false);
            }
        }
    }
}
