using System.Runtime.CompilerServices;

namespace OpenAiStreaming.Pump.Tests;

/// <summary>How <see cref="TokenPump{T}.StartSelecting"/> and <see cref="TokenPump{T}.Start"/> move the producer off the caller.</summary>
public class TokenPumpStartTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    /// <summary>True on the test's thread while it is inside its first <see cref="TokenPump{T}.WaitAsync"/> call.</summary>
    [ThreadStatic]
    private static bool t_insideWait;

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
    public async Task WaitAsync_BeforeAThreadStartedTheProducer_RunsWhatIsReadyAtOnceUpToTheFirstBurst()
    {
        // Start queues the producer's start on the thread pool; a consumer that waits before a pool thread has taken it
        // runs the first steps itself, up to FirstBurst items that are ready at once. Which comes first is a race, so
        // this repeats until the consumer wins (almost always at once): its wait then answers at once with that burst
        // already written, and the items after it are made elsewhere.
        var ct = TestContext.Current.CancellationToken;
        int count = TokenPump<int>.FirstBurst + 3;
        for (int attempt = 0; attempt < 200; attempt++)
        {
            var insideWait = new List<bool>();
            var (items, answeredAtOnce, readyAtFirst) = await Task.Run(async () =>
            {
                await using var pump = TokenPump<int>.Start(_ => Recorded(insideWait, count), Int32Merger.Instance, cancellationToken: ct);
                t_insideWait = true;
                var first = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct);
                t_insideWait = false;
                bool atOnce = first.IsCompleted;
                Assert.Equal(PumpSignal.Data, await first);
                var ready = new List<int>();
                while (atOnce && ready.Count < TokenPump<int>.FirstBurst && pump.TryRead(out int item))
                {
                    ready.Add(item);
                }

                return (await ReadAllAsync(pump, ct, ready), atOnce, ready.Count);
            }, ct).WaitAsync(WaitLimit, ct);

            Assert.Equal(Enumerable.Range(1, count), items);
            if (insideWait[0])
            {
                Assert.True(answeredAtOnce, "The consumer made the first items, so its wait had them at once.");
                Assert.Equal(TokenPump<int>.FirstBurst, insideWait.TakeWhile(inside => inside).Count());
                Assert.DoesNotContain(true, insideWait.Skip(TokenPump<int>.FirstBurst));
                return;
            }

            Assert.DoesNotContain(true, insideWait);
        }

        Assert.Fail("In 200 tries, the thread pool always started the producer before the consumer's first wait.");
    }

    [Fact]
    public async Task WaitAsync_ShortAnswerReadyAtOnce_WholeStreamEndsInsideTheFirstWait()
    {
        // A short answer that the model has at once (a cache, a tiny completion) is made, and ended, inside the
        // consumer's first wait: one flush for all of it, no thread-pool dispatch for its end.
        var ct = TestContext.Current.CancellationToken;
        for (int attempt = 0; attempt < 200; attempt++)
        {
            var insideWait = new List<bool>();
            var result = await Task.Run(async () =>
            {
                await using var pump = TokenPump<int>.Start(_ => Recorded(insideWait, 2), Int32Merger.Instance, cancellationToken: ct);
                t_insideWait = true;
                var first = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct);
                t_insideWait = false;
                Assert.Equal(PumpSignal.Data, await first);
                var read = new List<int>();
                while (pump.TryRead(out int item))
                {
                    read.Add(item);
                }

                var end = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct);
                return (first.IsCompleted, read, EndedAtOnce: end.IsCompleted && end.Result == PumpSignal.Completed);
            }, ct).WaitAsync(WaitLimit, ct);

            if (insideWait[0])
            {
                Assert.Equal([1, 2], result.read);
                Assert.True(result.EndedAtOnce, "The end was written inside the first wait too.");
                return;
            }
        }

        Assert.Fail("In 200 tries, the thread pool always started the producer before the consumer's first wait.");
    }

    [Fact]
    public async Task WaitAsync_StartOnFirstWait_ProducerStartsThereAndNowhereBefore()
    {
        // No work item starts the producer: the thread pool can run others meanwhile and the model has not begun; the
        // first wait then makes the first burst, and the rest is made elsewhere once the producer hands off.
        var ct = TestContext.Current.CancellationToken;
        int count = TokenPump<int>.FirstBurst + 3;
        var insideWait = new List<bool>();
        var options = new TokenPumpOptions { StartOnFirstWait = true };
        var (items, answeredAtOnce, beforeWait) = await Task.Run(async () =>
        {
            await using var pump = TokenPump<int>.Start(_ => Recorded(insideWait, count), Int32Merger.Instance, options, ct);
            for (int i = 0; i < 3; i++)
            {
                await Task.Run(() => { }, ct);
            }

            int before;
            lock (insideWait)
            {
                before = insideWait.Count;
            }

            t_insideWait = true;
            var first = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct);
            t_insideWait = false;
            return (await ReadAllAsync(pump, ct), first.IsCompleted, before);
        }, ct).WaitAsync(WaitLimit, ct);

        Assert.Equal(0, beforeWait);
        Assert.True(answeredAtOnce, "The consumer's wait made the first items itself.");
        Assert.Equal(Enumerable.Range(1, count), items);
        Assert.Equal(TokenPump<int>.FirstBurst, insideWait.TakeWhile(inside => inside).Count());
        Assert.DoesNotContain(true, insideWait.Skip(TokenPump<int>.FirstBurst));
    }

    [Fact]
    public async Task DisposeAsync_StartOnFirstWaitAndNoWait_ProducerStartsCancelledAndEnds()
    {
        var ct = TestContext.Current.CancellationToken;
        var seen = new List<bool>();
        var pump = TokenPump<int>.Start(token => Observed(token, seen), Int32Merger.Instance, new TokenPumpOptions { StartOnFirstWait = true }, ct);

        await pump.DisposeAsync().AsTask().WaitAsync(WaitLimit, ct);

        Assert.True(pump.Completion.IsCompletedSuccessfully);
        Assert.Equal([true], seen);
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

    /// <summary>Yields 1 to <paramref name="count"/>, noting before each whether it runs inside the test's first wait.</summary>
    private static async IAsyncEnumerable<int> Recorded(List<bool> insideWait, int count)
    {
        for (int i = 1; i <= count; i++)
        {
            lock (insideWait)
            {
                insideWait.Add(t_insideWait);
            }

            yield return i;
        }
    }

    /// <summary>Notes whether its token is cancelled when it starts, then yields one item.</summary>
    private static async IAsyncEnumerable<int> Observed([EnumeratorCancellation] CancellationToken token, List<bool> seen)
    {
        seen.Add(token.IsCancellationRequested);
        yield return 1;
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
