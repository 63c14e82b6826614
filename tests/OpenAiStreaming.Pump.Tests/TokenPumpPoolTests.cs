using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;

namespace OpenAiStreaming.Pump.Tests;

/// <summary>
/// A pooled pump comes back as new for the next stream, whatever the last one did (cancelled, idle timer armed, its
/// source rejected), and one whose consumer left a wait behind is not reused.
/// </summary>
public class TokenPumpPoolTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task StartSelecting_AfterTheLastStreamWasDisposed_ReusesItsPumpAsNew()
    {
        var ct = TestContext.Current.CancellationToken;
        var pool = new TokenPumpPool<int>(Int32Merger.Instance, maximumRetained: 1);
        var (first, firstItems, firstPeak) = await StreamAsync(pool, ct, 1, 2, 3);
        var (second, secondItems, secondPeak) = await StreamAsync(pool, ct, 4);

        Assert.Same(first, second);
        Assert.Equal([1, 2, 3], firstItems);
        Assert.Equal([4], secondItems);
        Assert.Equal(3 * sizeof(int), firstPeak);
        Assert.Equal(sizeof(int), secondPeak);
    }

    [Fact]
    public async Task Start_AfterACancelledStream_NextStreamRunsUncancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        var pool = new TokenPumpPool<int>(Int32Merger.Instance, maximumRetained: 1);
        var first = await Task.Run(async () =>
        {
            using var request = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var pump = pool.Start(token => Endless(token), request.Token);
            await using (pump)
            {
                Assert.Equal(PumpSignal.Data, await pump.WaitAsync(Timeout.InfiniteTimeSpan, pump.ProducerToken));
                await request.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DrainAsync(pump, ct));
                Assert.True(pump.ProducerToken.IsCancellationRequested);
            }

            return pump;
        }, ct).WaitAsync(WaitLimit, ct);

        var (second, items, _) = await StreamAsync(pool, ct, 8, 9);

        Assert.Same(first, second);
        Assert.Equal([8, 9], items);
    }

    [Fact]
    public async Task DisposeAsync_ConsumerLeftAWaitParked_PumpIsNotReused()
    {
        // A ring may still answer the wait left behind, on the thread pool: that pump must not serve another stream.
        var ct = TestContext.Current.CancellationToken;
        var pool = new TokenPumpPool<int>(Int32Merger.Instance, maximumRetained: 1);
        var first = await Task.Run(async () =>
        {
            var pump = pool.Start(token => Endless(token, delay: Timeout.InfiniteTimeSpan), ct);
            var wait = pump.WaitAsync(Timeout.InfiniteTimeSpan, pump.ProducerToken);
            Assert.False(wait.IsCompleted);
            await pump.DisposeAsync();
            return pump;
        }, ct).WaitAsync(WaitLimit, ct);

        var (second, items, _) = await StreamAsync(pool, ct, 6);

        Assert.NotSame(first, second);
        Assert.Equal([6], items);
    }

    [Fact]
    public async Task StartSelecting_SourceThrows_ThrowsAndTheNextStreamRuns()
    {
        var ct = TestContext.Current.CancellationToken;
        var pool = new TokenPumpPool<int>(Int32Merger.Instance, maximumRetained: 1);

        Assert.Throws<ArgumentException>(() => pool.StartSelecting<int>(_ => throw new ArgumentException("rejected"), item => item, ct));
        var (pump, items, _) = await StreamAsync(pool, ct, 7);

        Assert.Equal([7], items);
    }

    [Fact]
    public async Task WaitAsync_IdleTimerArmedByTheLastStream_DoesNotEndTheNextStreamsWait()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var pool = new TokenPumpPool<int>(Int32Merger.Instance, new TokenPumpOptions { TimeProvider = time }, maximumRetained: 1);
        var idle = TimeSpan.FromSeconds(10);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = await Task.Run(async () =>
        {
            // The wait parks and arms the idle timer; the item answers it long before the timer is due.
            await using var pump = pool.Start(_ => Gated(gate.Task, 1), ct);
            var wait = pump.WaitAsync(idle, pump.ProducerToken);
            gate.SetResult();
            Assert.Equal(PumpSignal.Data, await wait);
            await DrainAsync(pump, ct);
            return pump;
        }, ct).WaitAsync(WaitLimit, ct);

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await Task.Run(async () =>
        {
            await using var pump = pool.Start(_ => Gated(release.Task, 2), ct);
            Assert.Same(first, pump);
            var wait = pump.WaitAsync(Timeout.InfiniteTimeSpan, pump.ProducerToken);
            time.Advance(idle * 2);
            Assert.False(wait.IsCompleted, "The last stream's idle timer ended this stream's wait.");
            release.SetResult();
            Assert.Equal(PumpSignal.Data, await wait);
            Assert.True(pump.TryRead(out int item) && item == 2);
        }, ct).WaitAsync(WaitLimit, ct);
    }

    [Fact]
    public void Constructor_BadOptions_ThrowsAtOnce()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenPumpPool<int>(Int32Merger.Instance, new TokenPumpOptions { Capacity = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenPumpPool<int>(Int32Merger.Instance, maximumRetained: 0));
        Assert.Throws<ArgumentNullException>(() => new TokenPumpPool<int>(null!));
    }

    /// <summary>
    /// Streams <paramref name="items"/> through a pump from <paramref name="pool"/> off the test's context and disposes
    /// it; returns the pump (which must not be used), what was read, and the most bytes that waited.
    /// </summary>
    private static Task<(TokenPump<int> Pump, List<int> Items, long PeakBufferedBytes)> StreamAsync(TokenPumpPool<int> pool, CancellationToken cancellationToken, params int[] items) =>
        Task.Run(async () =>
        {
            var pump = pool.StartSelecting(_ => Numbers(items), item => item, cancellationToken);
            List<int> read;
            long peak;
            await using (pump)
            {
                Assert.False(pump.ProducerToken.IsCancellationRequested);
                read = await DrainAsync(pump, cancellationToken);
                peak = pump.PeakBufferedBytes;
            }

            return (pump, read, peak);
        }, cancellationToken).WaitAsync(WaitLimit, cancellationToken);

    private static async Task<List<int>> DrainAsync(TokenPump<int> pump, CancellationToken cancellationToken)
    {
        var items = new List<int>();
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false) != PumpSignal.Completed)
        {
            while (pump.TryRead(out int item))
            {
                items.Add(item);
            }
        }

        return items;
    }

#pragma warning disable CS1998 // Async iterators without awaits: items ready at once.
    private static async IAsyncEnumerable<int> Numbers(params int[] numbers)
    {
        foreach (int number in numbers)
        {
            yield return number;
        }
    }
#pragma warning restore CS1998

    /// <summary>Yields <paramref name="item"/> once <paramref name="gate"/> has completed.</summary>
    private static async IAsyncEnumerable<int> Gated(Task gate, int item)
    {
        await gate.ConfigureAwait(false);
        yield return item;
    }

    /// <summary>Yields 0, 1, 2, ... every <paramref name="delay"/> (default 1 ms) until cancelled.</summary>
    private static async IAsyncEnumerable<int> Endless([EnumeratorCancellation] CancellationToken cancellationToken, TimeSpan? delay = null)
    {
        for (int i = 0; ; i++)
        {
            if (i > 0 || delay == Timeout.InfiniteTimeSpan)
            {
                await Task.Delay(delay ?? TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
            }

            yield return i;
        }
    }
}
