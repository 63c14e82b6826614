namespace OpenAiStreaming.Pump.Tests;

/// <summary>
/// A hand-off (write, wait, read) allocates nothing in the steady state, with or without the idle timer the server's
/// heartbeat uses, and under a cancellable token as the server's consumer waits.
/// </summary>
public class TokenPumpAllocationTests
{
    [Theory]
    [InlineData(15_000)]
    [InlineData(Timeout.Infinite)]
    public async Task HandOff_ItemReadyAtWaitSteadyState_DoesNotAllocate(int idleTimeoutMs)
    {
        var idleTimeout = TimeSpan.FromMilliseconds(idleTimeoutMs);
        using var request = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: request.Token);
        for (int i = 0; i < 200; i++)
        {
            HandOff(pump, i, idleTimeout, request.Token);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            HandOff(pump, i, idleTimeout, request.Token);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void HandOff(TokenPump<int> pump, int item, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        Assert.True(pump.TryWrite(item));
        var wait = pump.WaitAsync(idleTimeout, cancellationToken);
        // Assert.True only: Assert.Equal would allocate inside the measured loop.
        Assert.True(wait.IsCompletedSuccessfully && wait.Result == PumpSignal.Data);
        Assert.True(pump.TryRead(out int read) && read == item);
    }
}
