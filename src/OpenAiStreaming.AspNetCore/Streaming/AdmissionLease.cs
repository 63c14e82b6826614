using System.Diagnostics;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// One request's place at a model: a slot, a place in its queue, or nothing (rejected). A request enters when the lease
/// is made and leaves when it is disposed, whatever it holds by then.
/// </summary>
internal sealed class AdmissionLease : IDisposable
{
    private readonly ModelAdmission _admission;

    public AdmissionLease(ModelAdmission admission)
    {
        _admission = admission;
        Result = admission.TryEnter();
    }

    /// <summary>What the lease holds now: a slot, a queue place, or nothing.</summary>
    public AdmissionResult Result { get; private set; }

    /// <summary>Waits up to <paramref name="timeout"/> in the queue for a slot.</summary>
    /// <returns>True when the lease now holds a slot; false when it is still queued.</returns>
    /// <exception cref="OperationCanceledException">The wait was cancelled; the lease still holds its queue place.</exception>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Debug.Assert(Result == AdmissionResult.Queued, "Only a queued lease waits.");
        if (!await _admission.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        Result = AdmissionResult.Admitted;
        return true;
    }

    public void Dispose()
    {
        if (Result == AdmissionResult.Admitted)
        {
            _admission.Leave();
        }
        else if (Result == AdmissionResult.Queued)
        {
            _admission.LeaveQueue();
        }

        Result = AdmissionResult.Rejected;
    }
}
