using System.Diagnostics;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// One request's place at a model: a slot, a place in its queue, or nothing (rejected). A request enters when the lease
/// is made and leaves when it is disposed, whatever it holds by then.
/// </summary>
internal sealed class AdmissionLease : IDisposable
{
    private readonly ModelAdmission _admission;

    /// <summary>Slots beyond the first that the request needs: one per further generation (<c>n</c> > 1).</summary>
    private readonly int _extra;

    /// <summary>Extra slots held so far.</summary>
    private int _extraHeld;

    /// <summary>True once the first slot is held.</summary>
    private bool _firstHeld;

    /// <summary>True while this request holds <see cref="ModelAdmission.MultiSlotGate"/>.</summary>
    private bool _gateHeld;

    /// <param name="admission">The model's admission.</param>
    /// <param name="generations">How many generations the request runs (<c>n</c>): each counts against the limit, and a
    /// request never needs more than the whole limit.</param>
    public AdmissionLease(ModelAdmission admission, int generations = 1)
    {
        _admission = admission;
        _extra = Math.Min(generations, admission.MaxConcurrent ?? generations) - 1;
        Result = admission.TryEnter();
        if (Result == AdmissionResult.Admitted)
        {
            _firstHeld = true;
            if (_extra > 0 && !admission.TryTakeMore(_extra))
            {
                // Room for one generation but not all: wait like any request that found the model full.
                admission.Leave();
                _firstHeld = false;
                Result = admission.TryEnterQueue();
            }
            else
            {
                _extraHeld = Math.Max(_extra, 0);
            }
        }
    }

    /// <summary>What the lease holds now: a slot, a queue place, or nothing.</summary>
    public AdmissionResult Result { get; private set; }

    /// <summary>Waits up to <paramref name="timeout"/> in the queue for a slot.</summary>
    /// <returns>True when the lease now holds a slot; false when it is still queued.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled; the lease still holds its queue place.</exception>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Debug.Assert(Result == AdmissionResult.Queued, "Only a queued lease waits.");
        // A request that needs several slots gathers them holding the gate, so that it is the only one holding part.
        if (_extra > 0 && !_gateHeld)
        {
            if (!await _admission.MultiSlotGate.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            _gateHeld = true;
        }

        if (!_firstHeld)
        {
            if (!await _admission.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            _firstHeld = true;
        }

        while (_extraHeld < _extra)
        {
            if (!await _admission.WaitMoreAsync(timeout, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            _extraHeld++;
        }

        ReleaseGate();
        Result = AdmissionResult.Admitted;
        return true;
    }

    private void ReleaseGate()
    {
        if (_gateHeld)
        {
            _gateHeld = false;
            _admission.MultiSlotGate.Release();
        }
    }

    public void Dispose()
    {
        if (_firstHeld)
        {
            _admission.Leave();
            _firstHeld = false;
        }
        else if (Result == AdmissionResult.Queued)
        {
            _admission.LeaveQueue();
        }

        _admission.GiveBack(_extraHeld);
        _extraHeld = 0;
        ReleaseGate();

        Result = AdmissionResult.Rejected;
    }
}
