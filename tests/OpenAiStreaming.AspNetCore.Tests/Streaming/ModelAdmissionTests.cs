using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

public sealed class ModelAdmissionTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(10);

    [Fact]
    public void TryEnter_NoLimit_AlwaysAdmitted()
    {
        var admission = new ModelAdmission(maxConcurrent: null, maxQueued: 0);

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.Equal(AdmissionResult.Admitted, admission.TryEnter()));
    }

    [Fact]
    public void TryEnter_SlotsThenQueueThenRejected()
    {
        var admission = new ModelAdmission(maxConcurrent: 2, maxQueued: 1);

        Assert.Equal(
            [AdmissionResult.Admitted, AdmissionResult.Admitted, AdmissionResult.Queued, AdmissionResult.Rejected, AdmissionResult.Rejected],
            Enumerable.Range(0, 5).Select(_ => admission.TryEnter()));
    }

    [Fact]
    public async Task WaitAsync_SlotFreed_QueuedRequestAdmittedAndLeavesQueue()
    {
        var admission = new ModelAdmission(maxConcurrent: 1, maxQueued: 1);
        Assert.Equal(AdmissionResult.Admitted, admission.TryEnter());
        Assert.Equal(AdmissionResult.Queued, admission.TryEnter());

        Assert.False(await admission.WaitAsync(TimeSpan.Zero, TestContext.Current.CancellationToken));
        admission.Leave();

        Assert.True(await admission.WaitAsync(s_limit, TestContext.Current.CancellationToken));
        Assert.Equal(AdmissionResult.Queued, admission.TryEnter()); // the queue place is free again
    }

    [Fact]
    public async Task LeaveQueue_AfterCancelledWait_FreesTheQueuePlace()
    {
        var admission = new ModelAdmission(maxConcurrent: 1, maxQueued: 1);
        admission.TryEnter();
        Assert.Equal(AdmissionResult.Queued, admission.TryEnter());
        using var cts = new CancellationTokenSource();
        var wait = admission.WaitAsync(s_limit, cts.Token);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
        Assert.Equal(AdmissionResult.Rejected, admission.TryEnter());
        admission.LeaveQueue();

        Assert.Equal(AdmissionResult.Queued, admission.TryEnter());
    }
}
