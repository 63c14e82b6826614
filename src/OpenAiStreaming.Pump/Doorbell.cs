using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace OpenAiStreaming.Pump;

/// <summary>What the doorbell asks when it rings: whether the consumer's wait has its answer now.</summary>
internal interface IWaitAnswer
{
    /// <summary>Looks once, after clearing the bell (so a ring after the look is not lost).</summary>
    /// <param name="signal">The answer, when there is one and it is not an error.</param>
    /// <param name="error">The wait's error (the producer's failure, an overflow, a cancellation), or null.</param>
    /// <returns>True when the wait is over, with <paramref name="signal"/> or <paramref name="error"/>.</returns>
    bool TryAnswer(out PumpSignal signal, out Exception? error);
}

/// <summary>
/// The pump's one-consumer wait: a one-slot signal that anyone rings, which itself answers the parked wait. Extra rings
/// while it is rung are dropped. When a ring finds the consumer parked, the ringer (<c>inline</c>) or a thread-pool work
/// item (this object, queued without allocating) asks the pump for the answer and completes the wait there, running
/// the consumer's continuation on that thread; a ring that brings no answer (the idle timer early, a merge in flight)
/// parks the wait again. So a producer that owns its task hands a token to the consumer without a thread-pool hop,
/// while timers, cancellation callbacks and shared model loops never run the consumer themselves. One object per pump,
/// reused for every wait: no state machine is allocated, kept or promoted per wait, which matters for thousands of
/// streams each waiting a second between tokens.
/// </summary>
internal sealed class Doorbell(IWaitAnswer pump) : IValueTaskSource<PumpSignal>, IThreadPoolWorkItem
{
    /// <summary>Not rung, nobody waiting.</summary>
    private const int Idle = 0;

    /// <summary>Rung, nobody waiting yet: the next look answers.</summary>
    private const int Rung = 1;

    /// <summary>The consumer's wait is parked in <see cref="_core"/>; the next ring answers it.</summary>
    private const int Waiting = 2;

    /// <summary>Idle, Rung or Waiting; moved only by compare-exchange.</summary>
    private int _state;

    /// <summary>The parked wait. Reset only by the waiter, while no ringer can complete it (the state is not Waiting).</summary>
    private ManualResetValueTaskSourceCore<PumpSignal> _core;

    /// <summary>Clears a ring nobody waited for, so a ring after this call is not lost and one before it is not seen twice.</summary>
    public void Clear() => Interlocked.CompareExchange(ref _state, Idle, Rung);

    /// <summary>The pump's answer now, or a wait completed with it at a later ring. One waiter at a time.</summary>
    /// <returns>A value task to await once.</returns>
    public ValueTask<PumpSignal> WaitAsync()
    {
        _core.Reset();
        if (AnswerOrPark(out var signal, out var error))
        {
            return error is null ? new ValueTask<PumpSignal>(signal) : ValueTask.FromException<PumpSignal>(error);
        }

        return new ValueTask<PumpSignal>(this, _core.Version);
    }

    /// <summary>Rings: answers the parked wait, or leaves the ring for the next look.</summary>
    /// <param name="inline">True to answer a parked wait on this thread before returning (its continuation runs here);
    /// false to answer it on the thread pool.</param>
    public void Ring(bool inline)
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == Rung)
            {
                return;
            }

            if (state == Idle)
            {
                if (Interlocked.CompareExchange(ref _state, Rung, Idle) == Idle)
                {
                    return;
                }

                continue;
            }

            // The parked wait is this ring's to answer.
            if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            {
                if (inline)
                {
                    Answer();
                }
                else
                {
                    ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                }

                return;
            }
        }
    }

    /// <summary>Asks the pump until it answers or the wait is parked (a ring after the look makes it look again).</summary>
    /// <returns>True when answered; false when parked until the next ring.</returns>
    private bool AnswerOrPark(out PumpSignal signal, out Exception? error)
    {
        while (!pump.TryAnswer(out signal, out error))
        {
            if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Idle)
            {
                return false;
            }

            Debug.Assert(Volatile.Read(ref _state) == Rung, "Only the waiter parks.");
        }

        return true;
    }

    /// <summary>Completes the parked wait (running its continuation on this thread) or parks it again.</summary>
    private void Answer()
    {
        PumpSignal signal;
        Exception? error;
        try
        {
            if (!AnswerOrPark(out signal, out error))
            {
                return;
            }
        }
#pragma warning disable CA1031 // Whatever looking throws is the wait's outcome.
        catch (Exception ex)
        {
            signal = default;
            error = ex;
        }
#pragma warning restore CA1031

        if (error is null)
        {
            _core.SetResult(signal);
        }
        else
        {
            _core.SetException(error);
        }
    }

    void IThreadPoolWorkItem.Execute() => Answer();

    PumpSignal IValueTaskSource<PumpSignal>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<PumpSignal>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<PumpSignal>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
