namespace OpenAiStreaming.Pump.Tests;

/// <summary>How <see cref="TokenPump{T}.StartSelecting"/> and <see cref="TokenPump{T}.Start"/> move the producer off the caller.</summary>
public class TokenPumpStartTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task StartSelecting_EachItemThroughTheSelector_InOrder()
    {
        var ct = TestContext.Current.CancellationToken;
        var items = await Task.Run(async () =>
        {
            await using var pump = TokenPump<int>.StartSelecting(_ => Words("one", "three", "five"), word => word.Length, Int32Merger.Instance, cancellationToken: ct);
            return await ReadAllAsync(pump, ct);
        }, ct).WaitAsync(WaitLimit, ct);

        Assert.Equal([3, 5, 4], items);
    }

    [Fact]
    public async Task StartSelecting_SelectorThrows_ConsumerGetsItsExceptionAfterEarlierItems()
    {
        var ct = TestContext.Current.CancellationToken;
        var read = new List<int>();
        await Assert.ThrowsAsync<FormatException>(() => Task.Run(async () =>
        {
            await using var pump = TokenPump<int>.StartSelecting(_ => Words("1", "2", "x", "4"), int.Parse, Int32Merger.Instance, cancellationToken: ct);
            await ReadAllAsync(pump, ct, read);
        }, ct).WaitAsync(WaitLimit, ct));

        Assert.Equal([1, 2], read);
    }

    [Fact]
    public async Task Start_NoContext_EnumerationNeverRunsInsideStart()
    {
        // The first MoveNext blocks its thread until released: were it run inside Start, Start would not return.
        var ct = TestContext.Current.CancellationToken;
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var pump = await Task.Run(() => TokenPump<int>.Start(_ => Blocking(entered, release), Int32Merger.Instance, cancellationToken: ct), ct).WaitAsync(WaitLimit, ct);
        await using (pump)
        {
            Assert.True(entered.Wait(WaitLimit, ct), "The producer started on its own.");
            release.Set();
            Assert.Equal([7], await ReadAllAsync(pump, ct).WaitAsync(WaitLimit, ct));
        }
    }

    [Fact]
    public async Task Start_CallerHasSynchronizationContext_ProducerNeverPostedToIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var context = new CountingContext();
        var previous = SynchronizationContext.Current;
        TokenPump<int> pump;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            pump = TokenPump<int>.Start(_ => Numbers(1, 2, 3), Int32Merger.Instance, cancellationToken: ct);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        await using (pump)
        {
            Assert.Equal([1, 2, 3], await ReadAllAsync(pump, ct).WaitAsync(WaitLimit, ct));
            await pump.Completion.WaitAsync(WaitLimit, ct);
        }

        Assert.Equal(0, context.Posts);
    }

    [Fact]
    public async Task WaitAsync_WithTheCallersToken_CallerCancels_WakesWhileTheProducerStillIgnoresIt()
    {
        // The caller's token is registered once, for the producer and the waiting consumer alike: a model that does
        // not honour its token must not keep the consumer waiting.
        var ct = TestContext.Current.CancellationToken;
        using var caller = new CancellationTokenSource();
        using var release = new ManualResetEventSlim();
        var pump = TokenPump<int>.Start(_ => Stubborn(release), Int32Merger.Instance, cancellationToken: caller.Token);
        try
        {
            var wait = pump.WaitAsync(Timeout.InfiniteTimeSpan, caller.Token).AsTask();
            Assert.False(wait.IsCompleted);
            await caller.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(WaitLimit, ct));
            Assert.True(pump.ProducerToken.IsCancellationRequested);
            Assert.False(pump.Completion.IsCompleted);
        }
        finally
        {
            release.Set();
            await pump.DisposeAsync();
        }
    }

    private static async Task<List<int>> ReadAllAsync(TokenPump<int> pump, CancellationToken cancellationToken, List<int>? items = null)
    {
        items ??= [];
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
    private static async IAsyncEnumerable<string> Words(params string[] words)
    {
        foreach (string word in words)
        {
            yield return word;
        }
    }

    private static async IAsyncEnumerable<int> Numbers(params int[] numbers)
    {
        foreach (int number in numbers)
        {
            yield return number;
        }
    }

    private static async IAsyncEnumerable<int> Blocking(ManualResetEventSlim entered, ManualResetEventSlim release)
    {
        entered.Set();
        release.Wait(WaitLimit);
        yield return 7;
    }

    private static async IAsyncEnumerable<int> Stubborn(ManualResetEventSlim release)
    {
        await Task.Run(() => release.Wait(WaitLimit));
        yield return 1;
    }
#pragma warning restore CS1998

    /// <summary>Counts what is posted to it, and runs it on the thread pool so that nothing hangs.</summary>
    private sealed class CountingContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ => d(state));
        }
    }
}
