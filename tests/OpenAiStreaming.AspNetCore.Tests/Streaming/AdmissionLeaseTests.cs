using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

public sealed class AdmissionLeaseTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(10);

    [Fact]
    public void Dispose_Admitted_GivesTheSlotBack()
    {
        var admission = new ModelAdmission(maxConcurrent: 1, maxQueued: 0);
        var lease = new AdmissionLease(admission);
        Assert.Equal(AdmissionResult.Admitted, lease.Result);
        Assert.Equal(AdmissionResult.Rejected, new AdmissionLease(admission).Result);

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(AdmissionResult.Admitted, admission.TryEnter());
        Assert.Equal(AdmissionResult.Rejected, admission.TryEnter()); // a second dispose gave nothing more back
    }

    [Fact]
    public async Task WaitAsync_SlotFreed_LeaseNowHoldsTheSlot_DisposeGivesTheSlotBack()
    {
        var admission = new ModelAdmission(maxConcurrent: 1, maxQueued: 1);
        var first = new AdmissionLease(admission);
        using var second = new AdmissionLease(admission);
        Assert.Equal(AdmissionResult.Queued, second.Result);

        first.Dispose();
        Assert.True(await second.WaitAsync(s_limit, TestContext.Current.CancellationToken));
        Assert.Equal(AdmissionResult.Admitted, second.Result);
        Assert.Equal(AdmissionResult.Queued, admission.TryEnter()); // the queue place is free again
        admission.LeaveQueue();

        second.Dispose();
        Assert.Equal(AdmissionResult.Admitted, admission.TryEnter());
    }

    [Fact]
    public async Task Dispose_AfterCancelledWait_FreesTheQueuePlace()
    {
        var admission = new ModelAdmission(maxConcurrent: 1, maxQueued: 1);
        using var holder = new AdmissionLease(admission);
        var queued = new AdmissionLease(admission);
        using var cts = new CancellationTokenSource();
        var wait = queued.WaitAsync(s_limit, cts.Token);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
        Assert.Equal(AdmissionResult.Rejected, new AdmissionLease(admission).Result);
        queued.Dispose();

        using var next = new AdmissionLease(admission);
        Assert.Equal(AdmissionResult.Queued, next.Result);
    }

    [Fact]
    public void New_ThreeGenerations_EachCountsAgainstTheLimit()
    {
        var admission = new ModelAdmission(maxConcurrent: 4, maxQueued: 0);

        using (var lease = new AdmissionLease(admission, generations: 3))
        {
            Assert.Equal(AdmissionResult.Admitted, lease.Result);
            Assert.Equal(AdmissionResult.Admitted, admission.TryEnter());
            Assert.Equal(AdmissionResult.Rejected, admission.TryEnter());
            admission.Leave();
        }

        Assert.True(admission.TryTakeMore(4)); // all four back
    }

    [Fact]
    public void New_RoomForOneGenerationOfTwo_HoldsNoneAndQueues()
    {
        var admission = new ModelAdmission(maxConcurrent: 2, maxQueued: 1);
        using var single = new AdmissionLease(admission);

        using var pair = new AdmissionLease(admission, generations: 2);

        Assert.Equal(AdmissionResult.Queued, pair.Result);
        Assert.Equal(AdmissionResult.Admitted, admission.TryEnter()); // the free slot was not kept
        admission.Leave();
    }

    [Fact]
    public async Task WaitAsync_TwoMultiGenerationRequestsQueued_BothAdmittedInTurnWithoutDeadlock()
    {
        var ct = TestContext.Current.CancellationToken;
        var admission = new ModelAdmission(maxConcurrent: 3, maxQueued: 2);
        var blocker = new AdmissionLease(admission, generations: 3);
        using var first = new AdmissionLease(admission, generations: 3);
        using var second = new AdmissionLease(admission, generations: 2);
        Assert.Equal(AdmissionResult.Queued, first.Result);
        Assert.Equal(AdmissionResult.Queued, second.Result);

        var firstAdmitted = WaitUntilAdmittedAsync(first, ct);
        var secondAdmitted = WaitUntilAdmittedAsync(second, ct);
        blocker.Dispose();
        var winner = await Task.WhenAny(firstAdmitted, secondAdmitted).WaitAsync(s_limit, ct);
        Assert.False(firstAdmitted.IsCompleted && secondAdmitted.IsCompleted, "five generations ran under a limit of three");
        (winner == firstAdmitted ? first : second).Dispose();

        await Task.WhenAll(firstAdmitted, secondAdmitted).WaitAsync(s_limit, ct);
    }

    private static async Task WaitUntilAdmittedAsync(AdmissionLease lease, CancellationToken ct)
    {
        while (!await lease.WaitAsync(TimeSpan.FromMilliseconds(50), ct))
        {
        }
    }
}
