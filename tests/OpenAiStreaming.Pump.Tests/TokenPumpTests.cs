using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;

namespace OpenAiStreaming.Pump.Tests;

public class TokenPumpTests
{
    /// <summary>Bounds every wait that should end: long enough never to fire on a slow machine.</summary>
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    /// <summary>The idle timeout of the waits that fake time drives: the server's default heartbeat interval.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>Bounds a producer that must finish without a reader: generous, a behavioural bound and not a benchmark.</summary>
    private static readonly TimeSpan ProducerLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WaitAsync_ProducerFinishes_ItemsInOrderThenCompleted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Start(_ => Items(1, 2, 3, 4, 5), Int32Merger.Instance, cancellationToken: ct);

        var items = await ReadAllAsync(pump, Timeout.InfiniteTimeSpan, ct).WaitAsync(WaitLimit, ct);

        Assert.Equal([1, 2, 3, 4, 5], items);
        Assert.Equal(PumpSignal.Completed, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.False(pump.TryRead(out _));
    }

    [Fact]
    public async Task WaitAsync_EmptyProducer_Completed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Start(_ => Items(), Int32Merger.Instance, cancellationToken: ct);

        Assert.Equal(PumpSignal.Completed, await WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_ProducerSilent_IdleThenDataWhenItemArrives()
    {
        var ct = TestContext.Current.CancellationToken;
        var release = NewSignal();
        var time = new FakeTimeProvider();
        await using var pump = TokenPump<int>.Start(
            token => ItemThenWait(1, release.Task, 2, token), Int32Merger.Instance, new TokenPumpOptions { TimeProvider = time }, ct);

        // A long idle timeout ends with Data: the idle timer is reset and reused for the next wait.
        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, Heartbeat, ct));
        Assert.True(pump.TryRead(out int first));
        Assert.Equal(1, first);

        Assert.Equal(PumpSignal.Idle, await IdleAfterHeartbeatAsync(pump, time, ct));
        Assert.Equal(PumpSignal.Idle, await IdleAfterHeartbeatAsync(pump, time, ct));

        release.SetResult();
        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, Heartbeat, ct));
        Assert.True(pump.TryRead(out int second));
        Assert.Equal(2, second);
        Assert.Equal(PumpSignal.Completed, await WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_FakeTimeReachesIdleTimeout_IdleOnlyThen()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, new TokenPumpOptions { TimeProvider = time }, ct);

        var pending = pump.WaitAsync(TimeSpan.FromSeconds(15), ct).AsTask();
        time.Advance(TimeSpan.FromSeconds(15) - TimeSpan.FromTicks(1));
        Assert.False(pending.IsCompleted);
        time.Advance(TimeSpan.FromTicks(2));

        Assert.Equal(PumpSignal.Idle, await pending.WaitAsync(WaitLimit, ct));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(10_000)]
    public async Task WaitAsync_ProducerThrowsAfterItems_ThrowsOnlyAfterItemsRead(int idleTimeoutMs)
    {
        var ct = TestContext.Current.CancellationToken;
        var idleTimeout = TimeSpan.FromMilliseconds(idleTimeoutMs);
        await using var pump = TokenPump<int>.Start(_ => ItemsThenThrow(new InvalidOperationException("boom"), 1, 2), Int32Merger.Instance, cancellationToken: ct);

        // The producer has finished (and failed) before the consumer looks: the items must still come first.
        await pump.Completion.WaitAsync(WaitLimit, ct);

        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, idleTimeout, ct));
        Assert.True(pump.TryRead(out int first));
        Assert.True(pump.TryRead(out int second));
        Assert.Equal((1, 2), (first, second));
        Assert.False(pump.TryRead(out _));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => WaitSignalAsync(pump, idleTimeout, ct));
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
            Int32Merger.Instance,
            cancellationToken: caller.Token);
        await started.Task.WaitAsync(WaitLimit, ct);

        await caller.CancelAsync();

        Assert.True(await stopped.Task.WaitAsync(WaitLimit, ct));
        Assert.Equal(pump.ProducerToken, producerToken);
        Assert.True(pump.ProducerToken.IsCancellationRequested);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task Start_SourceFactory_CalledOnCallersThreadBeforeStartReturns()
    {
        var ct = TestContext.Current.CancellationToken;
        int callerThread = Environment.CurrentManagedThreadId;
        int factoryThread = -1;
        CancellationToken factoryToken = default;

        await using var pump = TokenPump<int>.Start(
            token =>
            {
                factoryThread = Environment.CurrentManagedThreadId;
                factoryToken = token;
                return Items(1);
            },
            Int32Merger.Instance,
            cancellationToken: ct);

        Assert.Equal(callerThread, factoryThread);
        Assert.Equal(pump.ProducerToken, factoryToken);
        Assert.Equal([1], await ReadAllAsync(pump, WaitLimit, ct).WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public void Start_SourceFactoryThrows_ExceptionPropagatesFromStart()
    {
        var error = new InvalidOperationException("bad request");

        var thrown = Assert.Throws<InvalidOperationException>(() => TokenPump<int>.Start(
            _ => throw error,
            Int32Merger.Instance,
            cancellationToken: TestContext.Current.CancellationToken));

        Assert.Same(error, thrown);
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
            Int32Merger.Instance,
            new TokenPumpOptions { Capacity = capacity },
            TestContext.Current.CancellationToken));

        Assert.False(called);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    public void Start_MaxBufferedBytesBelowOne_ThrowsWithoutStartingProducer(long maxBufferedBytes)
    {
        bool called = false;

        Assert.Throws<ArgumentOutOfRangeException>(() => TokenPump<int>.Start(
            _ =>
            {
                called = true;
                return Items();
            },
            Int32Merger.Instance,
            new TokenPumpOptions { MaxBufferedBytes = maxBufferedBytes },
            TestContext.Current.CancellationToken));

        Assert.False(called);
    }

    [Fact]
    public void Start_NullMerger_ThrowsWithoutStartingProducer()
    {
        bool called = false;

        Assert.Throws<ArgumentNullException>(() => TokenPump<int>.Start(
            _ =>
            {
                called = true;
                return Items();
            },
            null!,
            cancellationToken: TestContext.Current.CancellationToken));

        Assert.False(called);
    }

    [Fact]
    public void Start_NullSource_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => TokenPump<int>.Start(
            null!, Int32Merger.Instance, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Create_CapacityBelowOne_Throws(int capacity)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenPump<int>.Create(
            Int32Merger.Instance, new TokenPumpOptions { Capacity = capacity }, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void Create_MaxBufferedBytesBelowOne_Throws(long maxBufferedBytes)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenPump<int>.Create(
            Int32Merger.Instance, new TokenPumpOptions { MaxBufferedBytes = maxBufferedBytes }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Create_NullTimeProvider_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => TokenPump<int>.Create(
            Int32Merger.Instance, new TokenPumpOptions { TimeProvider = null! }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Create_NullMerger_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => TokenPump<int>.Create(null!, cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task TryWrite_NullOptions_MergesFromTheSixtyFifthDelta()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, options: null, ct);

        for (int i = 0; i < 64; i++)
        {
            Assert.True(pump.TryWrite(new TextDelta("x")));
        }

        Assert.Equal(0, pump.MergedCount);
        Assert.True(pump.TryWrite(new TextDelta("y")));
        Assert.Equal(1, pump.MergedCount);
    }

    [Fact]
    public async Task TryWrite_BelowCapacity_QueuesEachDeltaApart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 3 }, ct);

        Assert.True(pump.TryWrite(new TextDelta("a")));
        Assert.True(pump.TryWrite(new TextDelta("b")));
        Assert.True(pump.TryWrite(new TextDelta("c")));

        Assert.Equal(0, pump.MergedCount);
        Assert.Equal(["a", "b", "c"], Drain(pump));
    }

    [Fact]
    public async Task TryWrite_AtCapacity_MergesIntoLastQueuedDeltaInOrder()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 3 }, ct);

        foreach (string text in new[] { "a", "b", "c", "d", "e" })
        {
            Assert.True(pump.TryWrite(new TextDelta(text)));
        }

        Assert.Equal(2, pump.MergedCount);
        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.Equal(["a", "b", "cde"], Drain(pump));
    }

    [Fact]
    public async Task TryWrite_QueueDrainedBelowCapacity_QueuesApartAgainThenMergesIntoNewLast()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 3 }, ct);
        foreach (string text in new[] { "a", "b", "c", "d" })
        {
            Assert.True(pump.TryWrite(new TextDelta(text)));
        }

        Assert.True(pump.TryRead(out var first));
        Assert.Equal("a", first.Text.ToString());

        // Two left: "e" queues apart and becomes the last, so "f" joins "e" and not "cd".
        Assert.True(pump.TryWrite(new TextDelta("e")));
        Assert.True(pump.TryWrite(new TextDelta("f")));

        Assert.Equal(2, pump.MergedCount);
        Assert.Equal(["b", "cd", "ef"], Drain(pump));
    }

    [Fact]
    public async Task TryWrite_MergerRefusesBeyondCapacity_QueuesApartInOrder()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 2 }, ct);

        Assert.True(pump.TryWrite(new TextDelta("content", "a")));
        Assert.True(pump.TryWrite(new TextDelta("content", "b")));
        Assert.True(pump.TryWrite(new TextDelta("reasoning", "x")));
        Assert.True(pump.TryWrite(new TextDelta("content", "c")));
        Assert.True(pump.TryWrite(new TextDelta("content", "d")));

        Assert.Equal(1, pump.MergedCount);
        var read = new List<string>();
        while (pump.TryRead(out var delta))
        {
            read.Add(delta.ToString());
        }

        Assert.Equal(["content:a", "content:b", "reasoning:x", "content:cd"], read);
    }

    [Fact]
    public async Task TryWrite_ConsumerLagging_ConsumerReadsExactConcatenation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 4 }, ct);
        string[] texts = [.. Enumerable.Range(0, 1000).Select(i => $"{i},")];

        foreach (string text in texts)
        {
            Assert.True(pump.TryWrite(new TextDelta(text)));
        }

        pump.Complete();
        var read = await ReadAllTextAsync(pump, ct).WaitAsync(WaitLimit, ct);

        Assert.Equal(4, read.Count);
        Assert.Equal(996, pump.MergedCount);
        Assert.Equal(string.Concat(texts), string.Concat(read));
    }

    [Fact]
    public async Task MergedCount_DeltasMerged_CountsEachMergedDeltaAndSurvivesReads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 1 }, ct);

        for (int i = 0; i < 5; i++)
        {
            Assert.True(pump.TryWrite(new TextDelta("ab")));
        }

        Assert.Equal(4, pump.MergedCount);
        Assert.Equal(["ababababab"], Drain(pump));
        Assert.Equal(4, pump.MergedCount);
    }

    [Fact]
    public async Task BufferedBytes_Drained_ReturnsToZeroAndPeakStays()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 2 }, ct);
        Assert.Equal(0, pump.BufferedBytes);

        Assert.True(pump.TryWrite(new TextDelta("0123456789")));
        Assert.True(pump.TryWrite(new TextDelta("01234")));
        Assert.True(pump.TryWrite(new TextDelta("012")));
        Assert.Equal(18, pump.BufferedBytes);
        Assert.Equal(18, pump.PeakBufferedBytes);

        Assert.True(pump.TryRead(out _));
        Assert.Equal(8, pump.BufferedBytes);
        Assert.True(pump.TryRead(out var merged));
        Assert.Equal("01234012", merged.Text.ToString());
        Assert.False(pump.TryRead(out _));

        Assert.Equal(0, pump.BufferedBytes);
        Assert.Equal(18, pump.PeakBufferedBytes);
    }

    [Fact]
    public async Task Start_NoReaderFarPastByteLimit_ProducerStopsAtLimitAndTokenCancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        var counter = new OfferCounter();
        await using var pump = TokenPump<TextDelta>.Start(
            _ => EndlessText(counter),
            TextDeltaMerger.Instance,
            new TokenPumpOptions { Capacity = 4, MaxBufferedBytes = 100 },
            ct);

        // The source ignores its token and never ends: only the byte limit stops it, and nobody reads.
        await pump.Completion.WaitAsync(ProducerLimit, ct);

        Assert.Equal(11, counter.Offered);
        Assert.True(pump.ProducerToken.IsCancellationRequested);
        Assert.Equal(100, pump.PeakBufferedBytes);
        Assert.Equal(100, pump.BufferedBytes);
        Assert.Equal(6, pump.MergedCount);
    }

    [Fact]
    public async Task WaitAsync_PastByteLimit_QueuedDeltasThenOverflowException()
    {
        var ct = TestContext.Current.CancellationToken;
        var counter = new OfferCounter();
        await using var pump = TokenPump<TextDelta>.Start(
            _ => EndlessText(counter),
            TextDeltaMerger.Instance,
            new TokenPumpOptions { Capacity = 4, MaxBufferedBytes = 100 },
            ct);
        await pump.Completion.WaitAsync(ProducerLimit, ct);

        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        var read = Drain(pump);
        var ex = await Assert.ThrowsAsync<TokenPumpOverflowException>(() => WaitSignalAsync(pump, WaitLimit, ct));

        // Ten 10-byte deltas fit; the eleventh would pass the limit and is dropped.
        Assert.Equal(string.Concat(Enumerable.Range(0, 10).Select(TextAt)), string.Concat(read));
        Assert.Equal(4, read.Count);
        Assert.Equal(100, ex.MaxBufferedBytes);
        Assert.Equal(0, pump.BufferedBytes);
        await Assert.ThrowsAsync<TokenPumpOverflowException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task TryWrite_PastByteLimit_ReturnsFalseCancelsProducerTokenAndPeakStaysWithinLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 2, MaxBufferedBytes = 25 }, ct);

        Assert.True(pump.TryWrite(new TextDelta("0123456789")));
        Assert.True(pump.TryWrite(new TextDelta("0123456789")));
        Assert.False(pump.ProducerToken.IsCancellationRequested);
        Assert.False(pump.TryWrite(new TextDelta("0123456789")));

        Assert.True(pump.ProducerToken.IsCancellationRequested);
        Assert.Equal(20, pump.PeakBufferedBytes);
        Assert.False(pump.TryWrite(new TextDelta("x")));
        Assert.Equal(20, pump.BufferedBytes);
        Assert.Equal(["0123456789", "0123456789"], Drain(pump));
        await Assert.ThrowsAsync<TokenPumpOverflowException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task TryWrite_ExactlyAtByteLimit_Accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 1, MaxBufferedBytes = 10 }, ct);

        Assert.True(pump.TryWrite(new TextDelta("01234")));
        Assert.True(pump.TryWrite(new TextDelta("56789")));

        Assert.Equal(10, pump.PeakBufferedBytes);
        Assert.False(pump.ProducerToken.IsCancellationRequested);
        pump.Complete();
        Assert.Equal(["0123456789"], await ReadAllTextAsync(pump, ct).WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task Complete_AfterOverflow_OverflowStillReported()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { MaxBufferedBytes = 1 }, ct);
        Assert.False(pump.TryWrite(new TextDelta("too big")));

        pump.Complete();

        await Assert.ThrowsAsync<TokenPumpOverflowException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task Start_HundredThousandDeltasNoReader_FinishesThenReaderGetsAllInOrder()
    {
        var ct = TestContext.Current.CancellationToken;
        const int Count = 100_000;
        await using var pump = TokenPump<int>.Start(_ => Range(Count), Int32Merger.Instance, cancellationToken: ct);

        await pump.Completion.WaitAsync(ProducerLimit, ct);

        Assert.Equal(Count * sizeof(int), pump.BufferedBytes);
        var items = await ReadAllAsync(pump, WaitLimit, ct).WaitAsync(WaitLimit, ct);
        Assert.Equal(Enumerable.Range(0, Count), items);
        Assert.Equal(0, pump.BufferedBytes);
        Assert.Equal(0, pump.MergedCount);
    }

    [Fact]
    public async Task TryWrite_FromAnotherThreadWhileReading_ConsumerReadsExactConcatenation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 4 }, ct);
        string[] texts = [.. Enumerable.Range(0, 20_000).Select(i => $"{i},")];

        var writer = Task.Run(
            () =>
            {
                foreach (string text in texts)
                {
                    if (!pump.TryWrite(new TextDelta(text)))
                    {
                        return false;
                    }
                }

                pump.Complete();
                return true;
            },
            ct);
        var read = await ReadAllTextAsync(pump, ct).WaitAsync(ProducerLimit, ct);

        Assert.True(await writer.WaitAsync(WaitLimit, ct));
        Assert.Equal(string.Concat(texts), string.Concat(read));
        Assert.Equal(texts.Length - read.Count, pump.MergedCount);
        Assert.Equal(0, pump.BufferedBytes);
    }

    [Fact]
    public async Task WaitAsync_PushPumpIdle_DataWhenWrittenFromAnotherThread()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, new TokenPumpOptions { TimeProvider = time }, ct);
        Assert.Equal(PumpSignal.Idle, await IdleAfterHeartbeatAsync(pump, time, ct));

        var pending = WaitSignalAsync(pump, Heartbeat, ct);
        var writer = Task.Run(() => pump.TryWrite(42), ct);

        Assert.Equal(PumpSignal.Data, await pending);
        Assert.True(await writer.WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out int item));
        Assert.Equal(42, item);
    }

    [Fact]
    public async Task Complete_WithError_ErrorSurfacesAfterQueuedDeltas()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        var error = new InvalidOperationException("model failed");
        Assert.True(pump.TryWrite(1));
        Assert.True(pump.TryWrite(2));

        pump.Complete(error);

        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.True(pump.TryRead(out int first));
        Assert.True(pump.TryRead(out int second));
        Assert.Equal((1, 2), (first, second));
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => WaitSignalAsync(pump, WaitLimit, ct));
        Assert.Same(error, thrown);
    }

    [Fact]
    public async Task Complete_WithoutError_QueuedDeltasThenCompleted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        Assert.True(pump.TryWrite(1));

        pump.Complete();

        Assert.Equal([1], await ReadAllAsync(pump, WaitLimit, ct).WaitAsync(WaitLimit, ct));
        Assert.Equal(PumpSignal.Completed, await WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task Complete_CalledTwice_FirstOutcomeWins()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);

        pump.Complete();
        pump.Complete(new InvalidOperationException("late"));

        Assert.Equal(PumpSignal.Completed, await WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task TryWrite_AfterComplete_ReturnsFalseAndDeltaNotDelivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        Assert.True(pump.TryWrite(1));
        pump.Complete();

        Assert.False(pump.TryWrite(2));

        Assert.Equal([1], await ReadAllAsync(pump, WaitLimit, ct).WaitAsync(WaitLimit, ct));
        Assert.Equal(4, pump.PeakBufferedBytes);
    }

    [Fact]
    public async Task ProducerToken_CreateCallerTokenCancelled_Cancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: caller.Token);
        var fired = NewSignal();
        using var registration = pump.ProducerToken.Register(fired.SetResult);
        Assert.False(pump.ProducerToken.IsCancellationRequested);

        await caller.CancelAsync();

        await fired.Task.WaitAsync(WaitLimit, ct);
        Assert.True(pump.ProducerToken.IsCancellationRequested);
    }

    [Fact]
    public async Task Cancel_PushPump_ProducerTokenCancelledAndWrittenDeltasReadable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        Assert.True(pump.TryWrite(7));
        Assert.False(pump.ProducerToken.IsCancellationRequested);

        pump.Cancel();

        Assert.True(pump.ProducerToken.IsCancellationRequested);
        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.True(pump.TryRead(out int item));
        Assert.Equal(7, item);
    }

    [Fact]
    public async Task TryWrite_AfterCancel_ReturnsFalse()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);

        pump.Cancel();

        Assert.False(pump.TryWrite(1));
        Assert.False(pump.TryRead(out _));
    }

    [Fact]
    public async Task Cancel_ProducerRunning_StopsProducerAndKeepsQueuedItems()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pump = TokenPump<int>.Start(token => ItemThenWaitForCancellation(7, started, stopped, token), Int32Merger.Instance, cancellationToken: ct);
        await started.Task.WaitAsync(WaitLimit, ct);

        pump.Cancel();

        Assert.True(await stopped.Task.WaitAsync(WaitLimit, ct));
        await pump.Completion.WaitAsync(WaitLimit, ct);
        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.True(pump.TryRead(out int item));
        Assert.Equal(7, item);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task Start_CancelledBetweenYieldAndWrite_EndsCancelledNotCompleted()
    {
        // The shutdown drain or a disconnect can cancel the producer just after it yields: TryWrite then refuses the
        // item and the producer stops. The consumer must see a cancelled stream, never a complete one.
        var ct = TestContext.Current.CancellationToken;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await using var pump = TokenPump<int>.Start(_ => CancelBeforeSecondItem(caller), Int32Merger.Instance, cancellationToken: caller.Token);

        await pump.Completion.WaitAsync(WaitLimit, ct);

        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.True(pump.TryRead(out int item));
        Assert.Equal(1, item);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task Complete_AfterCancel_QueuedDeltasThenOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        Assert.True(pump.TryWrite(1));
        pump.Cancel();

        pump.Complete();

        Assert.Equal(PumpSignal.Data, await WaitSignalAsync(pump, WaitLimit, ct));
        Assert.True(pump.TryRead(out int item));
        Assert.Equal(1, item);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WaitSignalAsync(pump, WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_TokenCancelled_ThrowsOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var pump = TokenPump<int>.Start(
            token => WaitForCancellation(started, stopped, token), Int32Merger.Instance, new TokenPumpOptions { TimeProvider = new FakeTimeProvider() }, ct);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var pending = pump.WaitAsync(Heartbeat, wait.Token).AsTask();
        await wait.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_TokenCancelledWithoutIdleTimeout_ThrowsOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var pending = pump.WaitAsync(Timeout.InfiniteTimeSpan, wait.Token).AsTask();
        await wait.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task WaitAsync_LaterCallWithOtherTokenCancelled_ThrowsOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        var release = NewSignal();
        await using var pump = TokenPump<int>.Start(
            token => ItemThenWait(1, release.Task, 2, token), Int32Merger.Instance, new TokenPumpOptions { TimeProvider = new FakeTimeProvider() }, ct);
        using var firstWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Assert.Equal(PumpSignal.Data, await pump.WaitAsync(Heartbeat, firstWait.Token).AsTask().WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out _));
        using var secondWait = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var pending = pump.WaitAsync(Heartbeat, secondWait.Token).AsTask();
        await secondWait.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task DisposeAsync_ProducerRunning_CancelsItAndReturnsAfterItFinished()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = NewSignal();
        var stopped = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pump = TokenPump<int>.Start(token => WaitForCancellation(started, stopped, token), Int32Merger.Instance, cancellationToken: ct);
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
            Int32Merger.Instance,
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
    public async Task DisposeAsync_ProducerWritingEndlessly_CancelsItAndReturns()
    {
        var ct = TestContext.Current.CancellationToken;
        var counter = new OfferCounter();
        var pump = TokenPump<int>.Start(
            token => Endless(counter, token), Int32Merger.Instance, new TokenPumpOptions { Capacity = 1, MaxBufferedBytes = long.MaxValue }, ct);
        var producerToken = pump.ProducerToken;
        await counter.Watch(2).WaitAsync(WaitLimit, ct);

        await pump.DisposeAsync().AsTask().WaitAsync(WaitLimit, ct);

        Assert.True(pump.Completion.IsCompleted);
        Assert.True(producerToken.IsCancellationRequested);
    }

    [Fact]
    public async Task DisposeAsync_PushPump_ReturnsAtOnceAndCancelsProducerToken()
    {
        var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: TestContext.Current.CancellationToken);
        var producerToken = pump.ProducerToken;
        Assert.True(pump.Completion.IsCompletedSuccessfully);

        var dispose = pump.DisposeAsync();

        // No producer task to wait for: disposal has already finished.
        Assert.True(dispose.IsCompletedSuccessfully);
        await dispose;
        Assert.True(producerToken.IsCancellationRequested);
    }

    [Fact]
    public async Task DisposeAsync_PushPumpTwice_SecondCallDoesNotThrow()
    {
        var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: TestContext.Current.CancellationToken);
        await pump.DisposeAsync();

        var ex = await Record.ExceptionAsync(() => pump.DisposeAsync().AsTask());

        Assert.Null(ex);
    }

    [Fact]
    public async Task WaitAsync_DataBeforeDeadline_NextWaitIdleAFullTimeoutAfterItStarted()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, new TokenPumpOptions { TimeProvider = time }, ct);
        var first = WaitSignalAsync(pump, Heartbeat, ct);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(pump.TryWrite(1));
        Assert.Equal(PumpSignal.Data, await first);
        Assert.True(pump.TryRead(out _));

        // The timer armed for the first wait still rings at 15 s: too early for this one, which re-arms for 25 s.
        var second = WaitSignalAsync(pump, Heartbeat, ct);
        time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1) + TimeSpan.FromTicks(1));

        Assert.Equal(PumpSignal.Idle, await second);
    }

    [Fact]
    public async Task TryWrite_MergerRunning_ConsumerReadsEarlierDeltasButNotTheTail()
    {
        var ct = TestContext.Current.CancellationToken;
        using var merger = new GatedMerger(merges: true);
        await using var pump = TokenPump<TextDelta>.Create(merger, new TokenPumpOptions { Capacity = 2 }, ct);
        Assert.True(pump.TryWrite(new TextDelta("a")));
        Assert.True(pump.TryWrite(new TextDelta("b")));
        var writer = await WriteIntoMergerAsync(pump, merger, "c", ct);

        // The merger is still running: each of these takes the pump's lock, so none could return if it held it.
        Assert.Equal(3, pump.BufferedBytes);
        Assert.True(pump.TryRead(out var first));
        Assert.Equal("a", first.Text.ToString());
        Assert.False(pump.TryRead(out _));
        var wait = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).AsTask();
        Assert.False(wait.IsCompleted);

        merger.Open();
        Assert.True(await writer.WaitAsync(WaitLimit, ct));
        Assert.Equal(PumpSignal.Data, await wait.WaitAsync(WaitLimit, ct));
        Assert.Equal(["bc"], Drain(pump));
        Assert.Equal(1, pump.MergedCount);
        Assert.Equal(0, pump.BufferedBytes);
    }

    [Fact]
    public async Task TryWrite_MergerRefusesWhileConsumerDrains_QueuedApartWithBytesInOrder()
    {
        var ct = TestContext.Current.CancellationToken;
        using var merger = new GatedMerger(merges: false);
        await using var pump = TokenPump<TextDelta>.Create(merger, new TokenPumpOptions { Capacity = 1 }, ct);
        Assert.True(pump.TryWrite(new TextDelta("ab")));
        var writer = await WriteIntoMergerAsync(pump, merger, "cde", ct);

        // The only delta is the one being merged into: not the consumer's yet.
        Assert.False(pump.TryRead(out _));
        Assert.Equal(5, pump.BufferedBytes);

        merger.Open();
        Assert.True(await writer.WaitAsync(WaitLimit, ct));
        Assert.True(pump.TryRead(out var first));
        Assert.Equal(("ab", 3L), (first.Text.ToString(), pump.BufferedBytes));
        Assert.True(pump.TryRead(out var second));
        Assert.Equal(("cde", 0L), (second.Text.ToString(), pump.BufferedBytes));
        Assert.Equal(0, pump.MergedCount);
        Assert.Equal(5, pump.PeakBufferedBytes);
    }

    [Fact]
    public async Task Cancel_PushPumpWhileMerging_ConsumerGetsMergedDeltaBeforeTheEnd()
    {
        var ct = TestContext.Current.CancellationToken;
        using var merger = new GatedMerger(merges: true);
        await using var pump = TokenPump<TextDelta>.Create(merger, new TokenPumpOptions { Capacity = 1 }, ct);
        Assert.True(pump.TryWrite(new TextDelta("a")));
        var writer = await WriteIntoMergerAsync(pump, merger, "b", ct);

        pump.Cancel();

        // Ended, but the merge in flight still delivers: the end must wait for it.
        var wait = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).AsTask();
        Assert.False(wait.IsCompleted);
        merger.Open();
        Assert.True(await writer.WaitAsync(WaitLimit, ct));
        Assert.Equal(PumpSignal.Data, await wait.WaitAsync(WaitLimit, ct));
        Assert.Equal(["ab"], Drain(pump));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => WaitSignalAsync(pump, Heartbeat, ct));
    }

    [Fact]
    public async Task TryWrite_MergerThrows_ThrowsAndPumpAsBeforeTheWrite()
    {
        var ct = TestContext.Current.CancellationToken;
        var error = new InvalidOperationException("merger failed");
        var merger = new DelegateMerger((_, _) => throw error);
        await using var pump = TokenPump<TextDelta>.Create(merger, new TokenPumpOptions { Capacity = 1 }, ct);
        Assert.True(pump.TryWrite(new TextDelta("ab")));

        Assert.Same(error, Assert.Throws<InvalidOperationException>(() => pump.TryWrite(new TextDelta("cde"))));

        Assert.Equal(2, pump.BufferedBytes);
        Assert.Equal(["ab"], Drain(pump));
        Assert.True(pump.TryWrite(new TextDelta("f")));
        pump.Complete();
        Assert.Equal(["f"], await ReadAllTextAsync(pump, ct).WaitAsync(WaitLimit, ct));
    }

    [Fact]
    public async Task TryWrite_ManyMergedDeltas_MergerSizesEachOnceAndNeverOnRead()
    {
        var ct = TestContext.Current.CancellationToken;
        var merger = new DelegateMerger(TextDeltaMerger.Instance.TryMerge);
        await using var pump = TokenPump<TextDelta>.Create(merger, new TokenPumpOptions { Capacity = 2 }, ct);

        for (int i = 0; i < 10; i++)
        {
            Assert.True(pump.TryWrite(new TextDelta("xy")));
        }

        pump.Complete();

        Assert.Equal(20, pump.BufferedBytes);
        Assert.Equal(["xy", "xyxyxyxyxyxyxyxyxy"], await ReadAllTextAsync(pump, ct).WaitAsync(WaitLimit, ct));
        Assert.Equal(10, merger.SizeCalls);
        Assert.Equal(0, pump.BufferedBytes);
    }

    [Fact]
    public async Task TryWrite_MergerWritesBackIntoThePump_DebugBuildAssertsOneProducerAtATime()
    {
#if !DEBUG
        Assert.Skip("The pump asserts its invariants in debug builds only.");
#endif
        var ct = TestContext.Current.CancellationToken;
        TokenPump<TextDelta>? pump = null;
        var merger = new DelegateMerger((_, next) => pump!.TryWrite(next));
        pump = TokenPump<TextDelta>.Create(merger, new TokenPumpOptions { Capacity = 1 }, ct);
        await using var _ = pump;
        Assert.True(pump.TryWrite(new TextDelta("a")));

        var ex = Assert.Throws<DebugAssertException>(() => pump.TryWrite(new TextDelta("b")));

        Assert.Contains("One producer at a time", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["a"], Drain(pump));
    }

    [Fact]
    public async Task TryWrite_ConcurrentReaderWithMerges_BytesStayWithinPeakAndLimitAndEndAtZero()
    {
        // Every write and read asserts the invariants (debug builds, ThrowingTraceListener); the consumer checks
        // the ones it can see from outside.
        var ct = TestContext.Current.CancellationToken;
        const long Limit = 1 << 20;
        await using var pump = TokenPump<TextDelta>.Create(TextDeltaMerger.Instance, new TokenPumpOptions { Capacity = 2, MaxBufferedBytes = Limit }, ct);
        string[] texts = [.. Enumerable.Range(0, 20_000).Select(i => $"{i},")];
        var writer = Task.Run(
            () =>
            {
                foreach (string text in texts)
                {
                    Assert.True(pump.TryWrite(new TextDelta(text)));
                }

                pump.Complete();
            },
            ct);

        var read = new List<string>();
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, ct).AsTask().WaitAsync(ProducerLimit, ct) != PumpSignal.Completed)
        {
            while (pump.TryRead(out var delta))
            {
                read.Add(delta.Text.ToString());
                long buffered = pump.BufferedBytes;
                long peak = pump.PeakBufferedBytes;
                Assert.InRange(buffered, 0, peak);
                Assert.InRange(peak, 0, Limit);
            }
        }

        await writer.WaitAsync(WaitLimit, ct);
        Assert.Equal(string.Concat(texts), string.Concat(read));
        Assert.Equal(0, pump.BufferedBytes);
    }

    [Fact]
    public async Task Complete_WithErrorBeforeAnyWrite_ErrorOnlyOnceCompleted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: ct);
        var error = new InvalidOperationException("failed before the first token");

        pump.Complete(error);

        Assert.False(pump.TryWrite(1));
        Assert.Same(error, await Assert.ThrowsAsync<InvalidOperationException>(() => WaitSignalAsync(pump, Heartbeat, ct)));
        Assert.Equal(0, pump.PeakBufferedBytes);
    }

    [Fact]
    public async Task Create_CallerTokenAlreadyCancelled_EndedAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await caller.CancelAsync();

        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: caller.Token);

        Assert.False(pump.TryWrite(1));
        var wait = pump.WaitAsync(Timeout.InfiniteTimeSpan, ct);
        Assert.True(wait.IsFaulted || wait.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask());
    }

    [Fact]
    public async Task ProducerToken_PushPumpCancelledWithoutComplete_ConsumerReadsWrittenThenOperationCanceled()
    {
        var ct = TestContext.Current.CancellationToken;
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await using var pump = TokenPump<int>.Create(Int32Merger.Instance, cancellationToken: caller.Token);
        Assert.True(pump.TryWrite(1));
        Assert.True(pump.TryWrite(2));

        // A model loop drops the sequence once it is cancelled and never calls Complete: the pump ends it.
        await caller.CancelAsync();

        var read = new List<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadIntoAsync(pump, read, ct).WaitAsync(WaitLimit, ct));
        Assert.Equal([1, 2], read);
        Assert.False(pump.TryWrite(3));
    }

    [Fact]
    public async Task TryWrite_BatchLoopOnOneThread_ClientGoneDroppedOnFalseOthersComplete()
    {
        // A host's model loop: one thread steps three sequences, one push pump each, and never waits on a client.
        // The second client goes away at step 50; the loop learns it from TryWrite's false and never calls Complete on it.
        var ct = TestContext.Current.CancellationToken;
        const int Steps = 100;
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var options = new TokenPumpOptions { Capacity = 4 };
        await using var first = TokenPump<int>.Create(Int32Merger.Instance, options, ct);
        await using var second = TokenPump<int>.Create(Int32Merger.Instance, options, gone.Token);
        await using var third = TokenPump<int>.Create(Int32Merger.Instance, options, ct);
        TokenPump<int>[] pumps = [first, second, third];
        var reads = pumps.Select(_ => new List<int>()).ToArray();
        var consumers = pumps.Select((pump, i) => ReadIntoAsync(pump, reads[i], ct)).ToArray();
        int droppedAt = -1;

        var loop = Task.Factory.StartNew(
            () =>
            {
                var live = new List<TokenPump<int>>(pumps);
                for (int step = 0; step < Steps; step++)
                {
                    if (step == 50)
                    {
                        gone.Cancel();
                    }

                    foreach (var pump in live.ToArray())
                    {
                        if (!pump.TryWrite(step))
                        {
                            live.Remove(pump);
                            droppedAt = step;
                        }
                    }
                }

                foreach (var pump in live)
                {
                    pump.Complete();
                }
            },
            ct,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        await loop.WaitAsync(WaitLimit, ct);
        await consumers[0].WaitAsync(WaitLimit, ct);
        await consumers[2].WaitAsync(WaitLimit, ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumers[1].WaitAsync(WaitLimit, ct));
        Assert.Equal(50, droppedAt);
        Assert.Equal(Enumerable.Range(0, Steps), reads[0]);
        Assert.Equal(Enumerable.Range(0, 50), reads[1]);
        Assert.Equal(Enumerable.Range(0, Steps), reads[2]);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits with a bound even where the idle timeout is infinite, so a hang fails the test instead of stalling it.</summary>
    private static Task<PumpSignal> WaitSignalAsync<T>(TokenPump<T> pump, TimeSpan idleTimeout, CancellationToken cancellationToken) =>
        pump.WaitAsync(idleTimeout, cancellationToken).AsTask().WaitAsync(WaitLimit, cancellationToken);

    /// <summary>Starts a wait with the <see cref="Heartbeat"/> timeout, then moves fake time past it.</summary>
    private static Task<PumpSignal> IdleAfterHeartbeatAsync<T>(TokenPump<T> pump, FakeTimeProvider time, CancellationToken cancellationToken)
    {
        var pending = WaitSignalAsync(pump, Heartbeat, cancellationToken);
        time.Advance(Heartbeat + TimeSpan.FromTicks(1));
        return pending;
    }

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

    /// <summary>Writes <paramref name="text"/> on another thread and returns once that write is stopped inside the merger.</summary>
    private static async Task<Task<bool>> WriteIntoMergerAsync(TokenPump<TextDelta> pump, GatedMerger merger, string text, CancellationToken cancellationToken)
    {
        var writer = Task.Run(() => pump.TryWrite(new TextDelta(text)), cancellationToken);
        await merger.Entered.WaitAsync(WaitLimit, cancellationToken);
        return writer;
    }

    /// <summary>Reads until the end into <paramref name="read"/>, which keeps what came before an error.</summary>
    private static async Task ReadIntoAsync(TokenPump<int> pump, List<int> read, CancellationToken cancellationToken)
    {
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken) != PumpSignal.Completed)
        {
            while (pump.TryRead(out int item))
            {
                read.Add(item);
            }
        }
    }

    private static async Task<List<string>> ReadAllTextAsync(TokenPump<TextDelta> pump, CancellationToken cancellationToken)
    {
        var texts = new List<string>();
        while (await pump.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken) != PumpSignal.Completed)
        {
            texts.AddRange(Drain(pump));
        }

        return texts;
    }

    private static List<string> Drain(TokenPump<TextDelta> pump)
    {
        var texts = new List<string>();
        while (pump.TryRead(out var delta))
        {
            texts.Add(delta.Text.ToString());
        }

        return texts;
    }

    /// <summary>The text of delta <paramref name="index"/> of <see cref="EndlessText"/>: ten bytes.</summary>
    private static string TextAt(int index) => $"{index:D9};";

#pragma warning disable CS1998 // Async iterators without await: the pump sees them as any other producer.
    private static async IAsyncEnumerable<int> Items(params int[] items)
    {
        foreach (int item in items)
        {
            yield return item;
        }
    }

    private static async IAsyncEnumerable<int> Range(int count)
    {
        for (int i = 0; i < count; i++)
        {
            yield return i;
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

    /// <summary>Never ends and ignores cancellation: a model that only the pump's byte limit can stop.</summary>
    private static async IAsyncEnumerable<TextDelta> EndlessText(OfferCounter counter)
    {
        for (int i = 0; ; i++)
        {
            counter.Offer();
            yield return new TextDelta(TextAt(i));
        }
    }
#pragma warning restore CS1998

    private static async IAsyncEnumerable<int> ItemThenWait(int first, Task release, int second, [EnumeratorCancellation] CancellationToken token)
    {
        yield return first;
        await release.WaitAsync(token);
        yield return second;
    }

    private static async IAsyncEnumerable<int> CancelBeforeSecondItem(CancellationTokenSource caller)
    {
        await Task.Yield();
        yield return 1;
        await caller.CancelAsync();
        yield return 2;
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

        // Resumed only once the item is queued: TryWrite has returned.
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
    private sealed class OfferCounter
    {
        private readonly Lock _lock = new();
        private int _offered;
        private int _watchFor = int.MaxValue;
        private TaskCompletionSource _reached = NewSignal();

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
