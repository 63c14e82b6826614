using System.Runtime.CompilerServices;

namespace OpenAiStreaming.Pump.Tests;

public class TokenPumpTests
{
    /// <summary>Bounds every wait that should end: long enough never to fire on a slow machine.</summary>
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    /// <summary>How long a wait that must not end is given before the test moves on.</summary>
    private static readonly TimeSpan NotHappening = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task WaitAsync_ProducerFinishes_ItemsInOrderThenCompleted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Start(_ => Items(1, 2, 3, 4, 5), cancellationToken: ct);

        var items = await ReadAllAsync(pump, Timeout.InfiniteTimeSpan, ct).WaitAsync(WaitLimit, ct);

        Assert.Equal([1, 2, 3, 4, 5], items);
        Assert.Equal(PumpSignal.Completed, await pump.WaitAsync(WaitLimit, ct));
        Assert.False(pump.TryRead(out _));
    }

    [Fact]
    public async Task WaitAsync_EmptyProducer_Completed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Start(_ => Items(), cancellationToken: ct);

        Assert.Equal(PumpSignal.Completed, await pump.WaitAsync(WaitLimit, ct).AsTask().WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_ProducerSilent_IdleThenDataWhenItemArrives()
    {
        var ct = TestContext.Current.CancellationToken;
        var release = NewSignal();
        await using var pump = TokenPump<int>.Start(token => ItemThenWait(1, release.Task, 2, token), cancellationToken: ct);

        // A long idle timeout ends with Data: the idle timer is reset and reused for the next wait.
        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(WaitLimit, ct).AsTask().WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out int first));
        Assert.Equal(1, first);

        Assert.Equal(PumpSignal.Idle, await pump.WaitAsync(TimeSpan.FromMilliseconds(50), ct).AsTask().WaitAsync(WaitLimit, ct));
        Assert.Equal(PumpSignal.Idle, await pump.WaitAsync(TimeSpan.FromMilliseconds(50), ct).AsTask().WaitAsync(WaitLimit, ct));

        release.SetResult();
        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(WaitLimit, ct).AsTask().WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out int second));
        Assert.Equal(2, second);
        Assert.Equal(PumpSignal.Completed, await pump.WaitAsync(WaitLimit, ct).AsTask().WaitAsync(WaitLimit, ct));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(10_000)]
    public async Task WaitAsync_ProducerThrowsAfterItems_ThrowsOnlyAfterItemsRead(int idleTimeoutMs)
    {
        var ct = TestContext.Current.CancellationToken;
        var idleTimeout = TimeSpan.FromMilliseconds(idleTimeoutMs);
        await using var pump = TokenPump<int>.Start(_ => ItemsThenThrow(new InvalidOperationException("boom"), 1, 2), cancellationToken: ct);

        // The producer has finished (and failed) before the consumer looks: the items must still come first.
        await pump.Completion.WaitAsync(WaitLimit, ct);

        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(idleTimeout, ct));
        Assert.True(pump.TryRead(out int first));
        Assert.True(pump.TryRead(out int second));
        Assert.Equal((1, 2), (first, second));
        Assert.False(pump.TryRead(out _));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => pump.WaitAsync(idleTimeout, ct).AsTask().WaitAsync(WaitLimit, ct));
        Assert.Equal("boom", ex.Message);
    }

    [Fact]
    public async Task Start_CallerTokenCancelled_ProducerObservesCancellation()
    {
        var ct = TestContext.Current.CancellationToken;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken producerToken = default;
        await using var pump = TokenPump<int>.Start(
            token =>
            {
                producerToken = token;
                return WaitForCancellation(started, stopped, token);
            },
            cancellationToken: caller.Token);
        await started.Task.WaitAsync(WaitLimit, ct);

        await caller.CancelAsync();

        Assert.True(await stopped.Task.WaitAsync(WaitLimit, ct));
        Assert.Equal(pump.ProducerToken, producerToken);
        Assert.True(pump.ProducerToken.IsCancellationRequested);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pump.WaitAsync(WaitLimit, ct).AsTask().WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task Cancel_ProducerRunning_StopsProducerAndKeepsQueuedItems()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pump = TokenPump<int>.Start(token => ItemThenWaitForCancellation(7, started, stopped, token), cancellationToken: ct);
        await started.Task.WaitAsync(WaitLimit, ct);

        pump.Cancel();

        Assert.True(await stopped.Task.WaitAsync(WaitLimit, ct));
        await pump.Completion.WaitAsync(WaitLimit, ct);
        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out int item));
        Assert.Equal(7, item);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pump.WaitAsync(WaitLimit, ct).AsTask().WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_TokenCancelled_ThrowsOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pump = TokenPump<int>.Start(token => WaitForCancellation(started, stopped, token), cancellationToken: ct);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var pending = pump.WaitAsync(TimeSpan.FromSeconds(30), wait.Token).AsTask();
        await wait.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_LaterCallWithOtherTokenCancelled_ThrowsOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        var release = NewSignal();
        await using var pump = TokenPump<int>.Start(token => ItemThenWait(1, release.Task, 2, token), cancellationToken: ct);
        using var firstWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(TimeSpan.FromSeconds(30), firstWait.Token).AsTask().WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out _));
        using var secondWait = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var pending = pump.WaitAsync(TimeSpan.FromSeconds(30), secondWait.Token).AsTask();
        await secondWait.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task DisposeAsync_ProducerRunning_CancelsItAndReturnsAfterItFinished()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pump = TokenPump<int>.Start(token => WaitForCancellation(started, stopped, token), cancellationToken: ct);
        await started.Task.WaitAsync(WaitLimit, ct);

        await pump.DisposeAsync().AsTask().WaitAsync(WaitLimit, ct);

        // Already finished when DisposeAsync returned: awaiting it cannot wait.
        Assert.True(stopped.Task.IsCompletedSuccessfully);
        Assert.True(await stopped.Task);
        Assert.True(pump.Completion.IsCompleted);
    }

    [Fact]
    public async Task DisposeAsync_ProducerSlowToStop_WaitsUntilItFinished()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var cancellationSeen = NewSignal();
        var release = NewSignal();
        int finished = 0;
        var pump = TokenPump<int>.Start(
            token => SlowToStop(started, cancellationSeen, release.Task, () => Volatile.Write(ref finished, 1), token),
            cancellationToken: ct);
        await started.Task.WaitAsync(WaitLimit, ct);

        var dispose = pump.DisposeAsync().AsTask();
        await cancellationSeen.Task.WaitAsync(WaitLimit, ct);

        // The producer is parked on release: disposal cannot have finished.
        Assert.False(dispose.IsCompleted);
        Assert.Equal(0, Volatile.Read(ref finished));
        release.SetResult();
        await dispose.WaitAsync(WaitLimit, ct);
        Assert.Equal(1, Volatile.Read(ref finished));
    }

    [Fact]
    public async Task DisposeAsync_ProducerBlockedOnFullChannel_CancelsItAndReturns()
    {
        var ct = TestContext.Current.CancellationToken;
        var counter = new OfferCounter(watchFor: 2);
        var pump = TokenPump<int>.Start(token => Endless(counter, token), new TokenPumpOptions { Capacity = 1 }, ct);
        var producerToken = pump.ProducerToken;
        await counter.Reached.Task.WaitAsync(WaitLimit, ct);

        await pump.DisposeAsync().AsTask().WaitAsync(WaitLimit, ct);

        Assert.True(pump.Completion.IsCompleted);
        Assert.True(producerToken.IsCancellationRequested);
    }

    [Fact]
    public async Task Start_CapacityTwoAndNoReader_ProducerBlocksAfterTwoItems()
    {
        var ct = TestContext.Current.CancellationToken;
        var counter = new OfferCounter(watchFor: 3);
        await using var pump = TokenPump<int>.Start(token => Endless(counter, token), new TokenPumpOptions { Capacity = 2 }, ct);

        // Item 0 and 1 fill the channel; item 2 is offered and its write waits for room.
        await counter.Reached.Task.WaitAsync(WaitLimit, ct);
        var fourth = counter.Watch(4);
        await Assert.ThrowsAsync<TimeoutException>(() => fourth.WaitAsync(NotHappening, ct));
        Assert.Equal(3, counter.Offered);

        Assert.True(pump.TryRead(out int item));
        Assert.Equal(0, item);
        await fourth.WaitAsync(WaitLimit, ct);
        Assert.Equal(4, counter.Offered);
        Assert.True(pump.TryRead(out int next));
        Assert.Equal(1, next);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Start_CapacityBelowOne_ThrowsWithoutStartingProducer(int capacity)
    {
        bool called = false;

        Assert.Throws<ArgumentOutOfRangeException>(() => TokenPump<int>.Start(
            _ =>
            {
                called = true;
                return Items();
            },
            new TokenPumpOptions { Capacity = capacity },
            TestContext.Current.CancellationToken));

        Assert.False(called);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static async Task<List<int>> ReadAllAsync(TokenPump<int> pump, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var items = new List<int>();
        while (await pump.WaitAsync(idleTimeout, cancellationToken) != PumpSignal.Completed)
        {
            while (pump.TryRead(out int item))
            {
                items.Add(item);
            }
        }

        return items;
    }

#pragma warning disable CS1998 // Async iterators without await: the pump sees them as any other producer.
    private static async IAsyncEnumerable<int> Items(params int[] items)
    {
        foreach (int item in items)
        {
            yield return item;
        }
    }

    private static async IAsyncEnumerable<int> ItemsThenThrow(Exception error, params int[] items)
    {
        foreach (int item in items)
        {
            yield return item;
        }

        throw error;
    }
#pragma warning restore CS1998

    private static async IAsyncEnumerable<int> ItemThenWait(int first, Task release, int second, [EnumeratorCancellation] CancellationToken token)
    {
        yield return first;
        await release.WaitAsync(token);
        yield return second;
    }

    private static async IAsyncEnumerable<int> WaitForCancellation(TaskCompletionSource started, TaskCompletionSource<bool> stopped, [EnumeratorCancellation] CancellationToken token)
    {
        started.SetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, token);
        }
        finally
        {
            stopped.SetResult(token.IsCancellationRequested);
        }

        yield break;
    }

    private static async IAsyncEnumerable<int> ItemThenWaitForCancellation(int item, TaskCompletionSource started, TaskCompletionSource<bool> stopped, [EnumeratorCancellation] CancellationToken token)
    {
        yield return item;

        // Resumed only once the item is in the channel.
        await foreach (int next in WaitForCancellation(started, stopped, token))
        {
            yield return next;
        }
    }

    private static async IAsyncEnumerable<int> SlowToStop(TaskCompletionSource started, TaskCompletionSource cancellationSeen, Task release, Action finished, [EnumeratorCancellation] CancellationToken token)
    {
        started.SetResult();
        try
        {
            await Task.Delay(Timeout.Infinite, token);
        }
        catch (OperationCanceledException)
        {
            cancellationSeen.SetResult();
#pragma warning disable xUnit1051 // The cleanup deliberately ignores the (cancelled) token: it is slow to stop.
            await release.WaitAsync(WaitLimit);
#pragma warning restore xUnit1051
            finished();
            throw;
        }

        yield break;
    }

    private static async IAsyncEnumerable<int> Endless(OfferCounter counter, [EnumeratorCancellation] CancellationToken token)
    {
        for (int i = 0; ; i++)
        {
            token.ThrowIfCancellationRequested();
            counter.Offer();
            yield return i;
            await Task.Yield();
        }
    }

    /// <summary>Counts the items a producer has offered and signals when the count reaches a watched number.</summary>
    private sealed class OfferCounter(int watchFor)
    {
        private readonly Lock _lock = new();
        private int _offered;
        private int _watchFor = watchFor;
        private TaskCompletionSource _reached = NewSignal();

        public TaskCompletionSource Reached => _reached;

        public int Offered => Volatile.Read(ref _offered);

        public Task Watch(int count)
        {
            lock (_lock)
            {
                _watchFor = count;
                _reached = NewSignal();
                if (_offered >= count)
                {
                    _reached.SetResult();
                }

                return _reached.Task;
            }
        }

        public void Offer()
        {
            lock (_lock)
            {
                _offered++;
                if (_offered == _watchFor)
                {
                    _reached.TrySetResult();
                }
            }
        }
    }
}
