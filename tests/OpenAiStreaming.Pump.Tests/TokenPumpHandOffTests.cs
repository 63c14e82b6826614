using System.Runtime.CompilerServices;

namespace OpenAiStreaming.Pump.Tests;

/// <summary>
/// Which thread a waiting consumer resumes on: an enumerable producer's own (no thread-pool hop per delta), never a
/// pushing loop's, and a consumer that then waits on a slow write never holds the producer.
/// </summary>
public class TokenPumpHandOffTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TryWrite_StartedPumpConsumerWaiting_ConsumerRunsOnProducerThreadBeforeWriteReturns()
    {
        var ct = TestContext.Current.CancellationToken;
        await UntilUnracedAsync(async () =>
        {
            var gate = new Gate();
            int producerThread = 0;
            await using var pump = TokenPump<int>.Start(_ => GatedItem(gate, 7, id => producerThread = id), Int32Merger.Instance, cancellationToken: ct);
            await gate.Awaited.WaitAsync(WaitLimit, ct);
            var consumer = WaitThenReadAsync(pump, ct);
            Assert.False(consumer.IsCompleted);

            // The producer resumes on this thread (the gate runs its continuation inline), writes, and the waiting
            // consumer runs there too: it has read the delta before SetResult returns.
            gate.Open();

            bool atOnce = consumer.IsCompleted;
            var (item, consumerThread) = await consumer.WaitAsync(WaitLimit, ct);
            Assert.Equal(7, item);
            if (atOnce)
            {
                Assert.Equal(producerThread, consumerThread);
                Assert.Equal(Environment.CurrentManagedThreadId, consumerThread);
            }

            return atOnce;
        });
    }

    [Fact]
    public async Task TryWrite_PushPumpConsumerWaiting_ConsumerResumesOffTheLoopThread()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        var consumer = WaitThenReadAsync(pump, ct);
        Assert.False(consumer.IsCompleted);

        // The loop is a dedicated thread (not one the thread pool could lend to the consumer afterwards).
        bool written = false;
        int loopThread = 0;
        var loop = new Thread(() =>
        {
            loopThread = Environment.CurrentManagedThreadId;
            written = pump.TryWrite(7);
        });
        loop.Start();
        Assert.True(loop.Join(WaitLimit));
        Assert.True(written);

        var (item, consumerThread) = await consumer.WaitAsync(WaitLimit, ct);
        Assert.Equal(7, item);
        Assert.NotEqual(loopThread, consumerThread);
    }

    [Fact]
    public async Task TryWrite_StartedPumpConsumerStuckInWrite_ProducerFinishesWithoutIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var (gate, flush) = (new Gate(), new TaskCompletionSource());
        await using var pump = TokenPump<int>.Start(_ => GatedItems(gate, 100), Int32Merger.Instance, cancellationToken: ct);
        await gate.Awaited.WaitAsync(WaitLimit, ct);
        var consumer = ConsumeWithSlowFirstFlushAsync(pump, flush.Task, ct);

        // The consumer takes the first delta on the producer's thread, then waits on a flush that does not complete:
        // the producer gets its thread back and writes the other 99 without it.
        gate.Open();
        await pump.Completion.WaitAsync(WaitLimit, ct);
        Assert.False(consumer.IsCompleted);

        flush.SetResult();
        Assert.Equal(Enumerable.Range(1, 100).Sum(), await consumer.WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task Complete_StartedPumpConsumerWaiting_EndSeenOnProducerThread()
    {
        var ct = TestContext.Current.CancellationToken;
        await UntilUnracedAsync(async () =>
        {
            var gate = new Gate();
            await using var pump = TokenPump<int>.Start(_ => GatedItems(gate, 0), Int32Merger.Instance, cancellationToken: ct);
            await gate.Awaited.WaitAsync(WaitLimit, ct);
            var end = WaitSignalOnThreadAsync(pump, ct);
            Assert.False(end.IsCompleted);

            gate.Open();

            bool atOnce = end.IsCompleted;
            var (signal, thread) = await end.WaitAsync(WaitLimit, ct);
            Assert.Equal(PumpSignal.Completed, signal);
            if (atOnce)
            {
                Assert.Equal(Environment.CurrentManagedThreadId, thread);
            }

            return atOnce;
        });
    }

    [Fact]
    public async Task Complete_RightAfterADelta_EndSeenOnProducerThread()
    {
        // The model ends at once after its delta: the end wakes the consumer on the producer's thread too, as the
        // delta did (nothing is left for the producer to run ahead of).
        var ct = TestContext.Current.CancellationToken;
        await UntilUnracedAsync(async () =>
        {
            var gate = new Gate();
            await using var pump = TokenPump<int>.Start(_ => GatedItems(gate, 1), Int32Merger.Instance, cancellationToken: ct);
            await gate.Awaited.WaitAsync(WaitLimit, ct);
            var consumer = ReadToEndAsync(pump, ct);
            Assert.False(consumer.IsCompleted);

            gate.Open();

            bool atOnce = consumer.IsCompleted;
            var (sum, endThread) = await consumer.WaitAsync(WaitLimit, ct);
            Assert.Equal(1, sum);
            if (atOnce)
            {
                Assert.Equal(Environment.CurrentManagedThreadId, endThread);
            }

            return atOnce;
        });
    }

    [Fact]
    public async Task TryWrite_DeltaReadyAtOnceRightAfterAWaitedOne_ConsumerRunsOnProducerThreadToo()
    {
        // A paced model that comes back late has its next token due at once (or its end right after its last token):
        // that delta goes out on the producer's thread too, rather than behind the thread pool's backlog.
        var ct = TestContext.Current.CancellationToken;
        await UntilUnracedAsync(async () =>
        {
            var gate = new Gate();
            var later = new Gate();
            await using var pump = TokenPump<int>.Start(_ => LateItems(gate, later), Int32Merger.Instance, cancellationToken: ct);
            await gate.Awaited.WaitAsync(WaitLimit, ct);
            var consumer = ReadWithThreadsAsync(pump, 2, ct);
            Assert.False(consumer.IsCompleted);

            gate.Open();

            bool atOnce = consumer.IsCompleted;
            var read = await consumer.WaitAsync(WaitLimit, ct);
            Assert.Equal([1, 2], read.Select(entry => entry.Item));
            if (atOnce)
            {
                Assert.All(read, entry => Assert.Equal(Environment.CurrentManagedThreadId, entry.Thread));
            }

            // The producer waits for the rest on the second gate.
            await later.Awaited.WaitAsync(WaitLimit, ct);
            later.Open();
            return atOnce;
        });
    }

    /// <summary>
    /// Repeats <paramref name="attempt"/> (a fresh pump each time) until it reports that it opened its gate after the
    /// pump was parked on it, at most 20 times. The model parks on the gate (<see cref="Gate.Awaited"/>) a moment
    /// before the pump's own await on the model is registered, on the thread that started the model; a gate opened in
    /// between resumes the model on the opener's thread but the pump, and so the consumer, on that other thread. On a
    /// busy machine that happened (one CI run); almost always the first try is clean.
    /// </summary>
    private static async Task UntilUnracedAsync(Func<Task<bool>> attempt)
    {
        for (int i = 0; i < 20; i++)
        {
            if (await attempt())
            {
                return;
            }
        }

        Assert.Fail("In 20 tries the gate never opened after the pump was parked on it, or the consumer never ran inside the open.");
    }

    private static async IAsyncEnumerable<int> GatedItem(Gate gate, int item, Action<int> onYield)
    {
        await gate;
        onYield(Environment.CurrentManagedThreadId);
        yield return item;
    }

    private static async IAsyncEnumerable<int> GatedItems(Gate gate, int count)
    {
        await gate;
        for (int i = 1; i <= count; i++)
        {
            yield return i;
        }
    }

    /// <summary>A model that comes back late: item 1 after the gate, item 2 due at once after it, item 3 after <paramref name="later"/>.</summary>
    private static async IAsyncEnumerable<int> LateItems(Gate gate, Gate later)
    {
        await gate;
        yield return 1;
        yield return 2;
        await later;
        yield return 3;
    }

    /// <summary>
    /// What a producer awaits: <see cref="Awaited"/> completes once the model is suspended on it (its continuation
    /// registered, so the gate cannot open before the model waits; the pump above it may still be registering its own
    /// await, see <see cref="UntilUnracedAsync"/>), and
    /// <see cref="Open"/> runs the producer on the caller's thread, as a model's completion would.
    /// </summary>
    private sealed class Gate : INotifyCompletion
    {
        private readonly TaskCompletionSource _awaited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Action? _continuation;

        public Task Awaited => _awaited.Task;

        public bool IsCompleted => false;

        public Gate GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation)
        {
            _continuation = continuation;
            _awaited.SetResult();
        }

        public void Open() => Interlocked.Exchange(ref _continuation, null)!.Invoke();
    }

    private static async Task<(int Item, int Thread)> WaitThenReadAsync(TokenPump<int> pump, CancellationToken ct)
    {
        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false));
        int thread = Environment.CurrentManagedThreadId;
        Assert.True(pump.TryRead(out int item));
        return (item, thread);
    }

    private static async Task<(PumpSignal Signal, int Thread)> WaitSignalOnThreadAsync(TokenPump<int> pump, CancellationToken ct)
    {
        var signal = await pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
        return (signal, Environment.CurrentManagedThreadId);
    }

    /// <summary>Reads <paramref name="count"/> items, each with the thread that read it.</summary>
    private static async Task<List<(int Item, int Thread)>> ReadWithThreadsAsync(TokenPump<int> pump, int count, CancellationToken ct)
    {
        var read = new List<(int Item, int Thread)>();
        while (read.Count < count)
        {
            Assert.Equal(PumpSignal.Data, await pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false));
            while (read.Count < count && pump.TryRead(out int item))
            {
                read.Add((item, Environment.CurrentManagedThreadId));
            }
        }

        return read;
    }

    /// <summary>Reads everything, summing it; returns the sum and the thread that saw the end.</summary>
    private static async Task<(int Sum, int EndThread)> ReadToEndAsync(TokenPump<int> pump, CancellationToken ct)
    {
        int sum = 0;
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false) != PumpSignal.Completed)
        {
            while (pump.TryRead(out int item))
            {
                sum += item;
            }
        }

        return (sum, Environment.CurrentManagedThreadId);
    }

    /// <summary>Reads everything, summing it, and waits on <paramref name="flush"/> after the first read, as a slow write would.</summary>
    private static async Task<int> ConsumeWithSlowFirstFlushAsync(TokenPump<int> pump, Task flush, CancellationToken ct)
    {
        int sum = 0;
        bool flushed = false;
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false) != PumpSignal.Completed)
        {
            while (pump.TryRead(out int item))
            {
                sum += item;
            }

            if (!flushed)
            {
                flushed = true;
                await flush.ConfigureAwait(false);
            }
        }

        return sum;
    }
}
