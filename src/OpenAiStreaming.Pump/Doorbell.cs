using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace OpenAiStreaming.Pump;

/// <summary>
/// A one-slot signal with one waiter: the pump's consumer waits on it, anyone rings it. Extra rings while it is rung
/// are dropped. Unlike a bounded channel of one slot, the ringer chooses per ring whether a parked waiter resumes on
/// the ringer's own thread (<c>inline</c>) or on the thread pool: a producer that owns its task hands a token to the
/// consumer without a thread-pool hop, while timers, cancellation callbacks and shared model loops never run the
/// consumer themselves. One object, reused for every wait: nothing is allocated per wait.
/// </summary>
internal sealed class Doorbell : IValueTaskSource
{
    /// <summary>Not rung, nobody waiting.</summary>
    private const int Idle = 0;

    /// <summary>Rung, nobody waiting yet: the next wait returns at once.</summary>
    private const int Rung = 1;

    /// <summary>The consumer is parked in <see cref="_core"/>; the next ring completes it.</summary>
    private const int Waiting = 2;

    /// <summary>Idle, Rung or Waiting; moved only by compare-exchange.</summary>
    private int _state;

    /// <summary>The parked wait. Reset only by the waiter, while no ringer can complete it (the state is not Waiting).</summary>
    private ManualResetValueTaskSourceCore<bool> _core;

    /// <summary>Clears a ring nobody waited for, so a ring after this call is not lost and one before it is not seen twice.</summary>
    public void Clear() => Interlocked.CompareExchange(ref _state, Idle, Rung);

    /// <summary>Completes at the next ring, or at once when rung since the last <see cref="Clear"/> or wait. One waiter at a time.</summary>
    /// <returns>A value task to await once.</returns>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Rung) == Rung)
        {
            return default;
        }

        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            // Rung between the two looks: take that ring instead of parking.
            Debug.Assert(Volatile.Read(ref _state) == Rung, "Only the waiter parks.");
            Volatile.Write(ref _state, Idle);
            return default;
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Rings: wakes the parked waiter, or leaves the ring for the next wait.</summary>
    /// <param name="inline">True to run a parked waiter's continuation on this thread before returning; false to
    /// queue it to the thread pool.</param>
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

            // The waiter wakes to look at the pump again, so this ring is spent on waking it.
            if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
            {
                _core.RunContinuationsAsynchronously = !inline;
                _core.SetResult(true);
                return;
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
