using System.Diagnostics;
using System.Text;
using OpenAiStreaming.AspNetCore.Responses;
using OpenAiStreaming.Redis.Tests.Infrastructure;
using StackExchange.Redis;
using static OpenAiStreaming.Redis.Tests.Infrastructure.Responses;

namespace OpenAiStreaming.Redis.Tests;

/// <summary>
/// The Redis response store with a real redis-server and three replicas, each with its own container and connection:
/// produced on one, resumed on the others exactly once; a producer that dies ends failed within the lease time; Redis
/// restarted mid-stream ends readers visibly and works again when it is back.
/// </summary>
public sealed class RedisResponseStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ProducedOnOneReplica_ResumedOnTwoOthers_EveryEventExactlyOnceInOrder()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var r1 = new StoreReplica(redis.Configuration);
        await using var r2 = new StoreReplica(redis.Configuration);
        await using var r3 = new StoreReplica(redis.Configuration);
        string id = NewId();
        const int Deltas = 200;

        var writer = await r1.Store.StartAsync(Response(id, ResponseStatus.Queued), Ct);
        await writer.AppendAsync([Delta(0), Delta(1)], Response(id, ResponseStatus.InProgress), Ct);
        var fromStart = ReadAllAsync(r2.Store, id, -1);
        var producer = Task.Run(async () =>
        {
            for (int i = 2; i < Deltas; i++)
            {
                await writer.AppendAsync([Delta(i)], null, Ct);
                if (i == 100)
                {
                    await Task.Yield();
                }
            }

            await writer.AppendAsync([Completed(id, Deltas)], null, Ct);
            await writer.CompleteAsync(Response(id, ResponseStatus.Completed), Ct);
        }, Ct);
        var fromMiddle = ReadAllAsync(r3.Store, id, 57);
        await producer.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await writer.DisposeAsync();

        var all = await fromStart.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var rest = await fromMiddle.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(Enumerable.Range(0, Deltas + 1).Select(i => (long)i), all.Select(e => e.SequenceNumber));
        Assert.Equal(Enumerable.Range(58, Deltas + 1 - 58).Select(i => (long)i), rest.Select(e => e.SequenceNumber));
        Assert.Equal("response.completed", all[^1].Type);
        Assert.Equal("""{"type":"response.output_text.delta","sequence_number":7,"delta":"w7 "}""", Encoding.UTF8.GetString(all[7].Data.Span));
        Assert.Equal(ResponseStatus.Completed, (await r3.Store.GetAsync(id, Ct))!.Status);

        // A reader that arrives after the end replays everything and ends.
        var late = await ReadAllAsync(r3.Store, id, Deltas - 1).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal([(long)Deltas], late.Select(e => e.SequenceNumber));
    }

    [Fact]
    public async Task ResumeOnAnotherReplica_LatencyToFirstLiveEvent_Measured()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var producerReplica = new StoreReplica(redis.Configuration);
        await using var readerReplica = new StoreReplica(redis.Configuration);
        var replay = new Latencies();
        var live = new Latencies();
        for (int n = 0; n < 60; n++)
        {
            string id = NewId();
            await using var writer = await producerReplica.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
            await writer.AppendAsync([.. Enumerable.Range(0, 20).Select(i => Delta(i))], null, Ct);

            // Replay: a reader on the other replica asks for everything after 9 and gets 10 at once.
            long asked = Stopwatch.GetTimestamp();
            await using var events = readerReplica.Store.ReadEventsAsync(id, 9, Ct).GetAsyncEnumerator(Ct);
            for (int i = 10; i < 20; i++)
            {
                Assert.True(await events.MoveNextAsync());
                Assert.Equal(i, events.Current.SequenceNumber);
                if (i == 10)
                {
                    replay.Add(asked, Stopwatch.GetTimestamp());
                }
            }

            // Live: the reader waits at the end; the next append reaches it through PUBLISH.
            var next = events.MoveNextAsync().AsTask();
            long appended = Stopwatch.GetTimestamp();
            await writer.AppendAsync([Delta(20)], null, Ct);
            Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10), Ct));
            live.Add(appended, Stopwatch.GetTimestamp());
            Assert.Equal(20, events.Current.SequenceNumber);
            await writer.AppendAsync([Completed(id, 21)], null, Ct);
            await writer.CompleteAsync(Response(id, ResponseStatus.Completed), Ct);
        }

        replay.Report("resume on another replica, request to first replayed event");
        live.Report("live event on another replica, append to reader");
        Assert.True(live.Percentile(50) < 500, "live events reach readers by PUBLISH, not by the 500 ms poll");
    }

    [Fact]
    public async Task ProducerReplicaDies_ResponseEndsFailedWithinLeaseTime_ReadersElsewhereSeeResponseFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        var lease = TimeSpan.FromSeconds(1);
        void Options(RedisResponseStoreOptions o)
        {
            o.LeaseTime = lease;
            o.PollInterval = TimeSpan.FromMilliseconds(100);
        }

        var producer = new StoreReplica(redis.Configuration, Options);
        await using var r2 = new StoreReplica(redis.Configuration, Options);
        await using var r3 = new StoreReplica(redis.Configuration, Options);
        string id = NewId();
        var writer = await producer.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
        await writer.AppendAsync([Delta(0), Delta(1), Delta(2)], null, Ct);
        var reader = ReadAllAsync(r2.Store, id, -1);

        // The producer's replica vanishes: its connection closes without ending anything, its renewals stop.
        long killed = Stopwatch.GetTimestamp();
        await producer.DisposeAsync();

        var events = await reader.WaitAsync(lease * 5, Ct);
        var detected = Stopwatch.GetElapsedTime(killed);
        TestContext.Current.TestOutputHelper?.WriteLine($"producer lost: response.failed reached a reader elsewhere {detected.TotalMilliseconds:F0} ms after (lease {lease.TotalMilliseconds:F0} ms)");
        Assert.Equal([0L, 1, 2, 3], events.Select(e => e.SequenceNumber));
        Assert.Equal(ResponseEvent.FailedType, events[^1].Type);
        Assert.Contains("\"status\":\"failed\"", Encoding.UTF8.GetString(events[^1].Data.Span), StringComparison.Ordinal);
        Assert.True(detected < lease * 2.5, $"ended failed {detected} after the producer died, lease {lease}");
        var stored = await r3.Store.GetAsync(id, Ct);
        Assert.Equal(ResponseStatus.Failed, stored!.Status);
        Assert.Contains("\"code\":\"server_error\"", Encoding.UTF8.GetString(stored.Json.Span), StringComparison.Ordinal);
        GC.KeepAlive(writer);
    }

    [Fact]
    public async Task ProducerStopsWithoutEnding_ResponseEndsFailedAtOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var r1 = new StoreReplica(redis.Configuration);
        await using var r2 = new StoreReplica(redis.Configuration);
        string id = NewId();
        var writer = await r1.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
        await writer.AppendAsync([Delta(0)], null, Ct);
        var reader = ReadAllAsync(r2.Store, id, -1);

        await writer.DisposeAsync();

        var events = await reader.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Equal([0L, 1], events.Select(e => e.SequenceNumber));
        Assert.Equal(ResponseEvent.FailedType, events[^1].Type);
    }

    [Fact]
    public async Task CancelOnAnotherReplica_ReachesTheProducerPromptly()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var r1 = new StoreReplica(redis.Configuration);
        await using var r2 = new StoreReplica(redis.Configuration);
        string id = NewId();
        await using var writer = await r1.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        writer.CancellationRequested.Register(() => cancelled.TrySetResult());

        long asked = Stopwatch.GetTimestamp();
        Assert.True(await r2.Store.RequestCancelAsync(id, Ct));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        var latency = Stopwatch.GetElapsedTime(asked);

        TestContext.Current.TestOutputHelper?.WriteLine($"cancel on another replica reached the producer in {latency.TotalMilliseconds:F1} ms");
        Assert.True(latency < TimeSpan.FromMilliseconds(100), $"cancel took {latency}");
        Assert.True(await r2.Store.RequestCancelAsync(id, Ct)); // idempotent
        Assert.False(await r2.Store.RequestCancelAsync(NewId(), Ct));
    }

    [Fact]
    public async Task UnknownOrDeleted_ReadersEnd_GetIsNull()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var r1 = new StoreReplica(redis.Configuration);
        await using var r2 = new StoreReplica(redis.Configuration);
        Assert.Empty(await ReadAllAsync(r2.Store, NewId(), -1).WaitAsync(TimeSpan.FromSeconds(5), Ct));

        string id = NewId();
        await using var writer = await r1.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
        await writer.AppendAsync([Delta(0)], null, Ct);
        await using var reader = r2.Store.ReadEventsAsync(id, -1, Ct).GetAsyncEnumerator(Ct);
        Assert.True(await reader.MoveNextAsync());
        var next = reader.MoveNextAsync().AsTask();
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        writer.CancellationRequested.Register(() => cancelled.TrySetResult());

        Assert.True(await r2.Store.DeleteAsync(id, Ct));

        Assert.False(await next.WaitAsync(TimeSpan.FromSeconds(5), Ct)); // the reader ends: the endpoint reports the truncation
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.Null(await r2.Store.GetAsync(id, Ct));
        Assert.False(await r2.Store.DeleteAsync(id, Ct));
    }

    [Fact]
    public async Task SavedForegroundResponse_ReadOnAnotherReplica()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var r1 = new StoreReplica(redis.Configuration);
        await using var r2 = new StoreReplica(redis.Configuration);
        string id = NewId();
        var response = Response(id, ResponseStatus.Completed);
        await r1.Store.SaveAsync(new StoredResponse { Id = id, Status = response.Status, Json = response.Json, Conversation = "[]"u8.ToArray() }, Ct);

        var read = await r2.Store.GetAsync(id, Ct);

        Assert.NotNull(read);
        Assert.False(read.Background);
        Assert.Equal(ResponseStatus.Completed, read.Status);
        Assert.Equal("[]", Encoding.UTF8.GetString(read.Conversation.Span));
        Assert.Empty(await ReadAllAsync(r2.Store, id, -1).WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }

    [Fact]
    public async Task ReaderEndedAndWriterDisposed_TheirChannelsLoseTheirSubscribers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var r1 = new StoreReplica(redis.Configuration);
        await using var r2 = new StoreReplica(redis.Configuration);
        await using var observer = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        string id = NewId();
        var events = RedisChannel.Literal($"test:{{{id}}}:events");
        var control = RedisChannel.Literal($"test:{{{id}}}:control");

        var writer = await r1.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
        var reader = ReadAllAsync(r2.Store, id, -1);
        await WaitForSubscribersAsync(observer, events, 1);
        await WaitForSubscribersAsync(observer, control, 1);

        await writer.AppendAsync([Delta(0), Completed(id, 1)], null, Ct);
        await writer.CompleteAsync(Response(id, ResponseStatus.Completed), Ct);
        Assert.Equal(2, (await reader.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Count);
        await WaitForSubscribersAsync(observer, events, 0); // the reader unsubscribes without waiting, but it does
        await writer.DisposeAsync();
        await WaitForSubscribersAsync(observer, control, 0);
    }

    private static async Task WaitForSubscribersAsync(ConnectionMultiplexer observer, RedisChannel channel, long expected)
    {
        var server = observer.GetServers()[0];
        var deadline = Stopwatch.StartNew();
        long count;
        while ((count = (long)(await server.ExecuteAsync("PUBSUB", "NUMSUB", channel.ToString()))[1]) != expected)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"{channel} has {count} subscribers, not {expected}");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task RedisRestartedMidStream_ReadersEndVisibly_NewResponsesWorkOnceItIsBack()
    {
        await using var redis = await RedisServer.StartAsync();
        void Options(RedisResponseStoreOptions o) => o.PollInterval = TimeSpan.FromMilliseconds(100);
        await using var r1 = new StoreReplica(redis.Configuration, Options);
        await using var r2 = new StoreReplica(redis.Configuration, Options);
        string id = NewId();
        await using var writer = await r1.Store.StartAsync(Response(id, ResponseStatus.InProgress), Ct);
        await writer.AppendAsync([Delta(0)], null, Ct);
        var reader = ReadAllAsync(r2.Store, id, -1);

        await redis.KillAsync();

        // Each of the client's waits (connect, subscribe, command) is bounded to 2 s: a reader that was subscribing
        // when Redis went away ends within 2 + 2 s, plus the client's 1 s timeout check.
        var killed = Stopwatch.StartNew();
        var readFailure = await Record.ExceptionAsync(() => reader.WaitAsync(TimeSpan.FromSeconds(15), Ct));
        TestContext.Current.TestOutputHelper?.WriteLine($"The reader ended {killed.ElapsedMilliseconds} ms after Redis was killed: {readFailure?.GetType().Name}");
        Assert.IsType<ResponseStoreUnavailableException>(readFailure);
        await Assert.ThrowsAsync<ResponseStoreUnavailableException>(async () => await writer.AppendAsync([Delta(1)], null, Ct));
        await Assert.ThrowsAsync<ResponseStoreUnavailableException>(async () => await r2.Store.StartAsync(Response(NewId(), ResponseStatus.Queued), Ct));

        await redis.StartAgainAsync();

        // StackExchange.Redis reconnects by itself; until it has, starts fail fast with the same exception (503).
        string again = NewId();
        var elapsed = Stopwatch.StartNew();
        IResponseEventWriter? second = null;
        while (second is null)
        {
            try
            {
                second = await r1.Store.StartAsync(Response(again, ResponseStatus.InProgress), Ct);
            }
            catch (ResponseStoreUnavailableException) when (elapsed.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100, Ct);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"Redis back: a new background response stored {elapsed.ElapsedMilliseconds} ms after the restart");
        await using (second)
        {
            var secondReader = ReadAllAsync(r2.Store, again, -1);
            await second.AppendAsync([Delta(0), Completed(again, 1)], null, Ct);
            await second.CompleteAsync(Response(again, ResponseStatus.Completed), Ct);
            Assert.Equal([0L, 1], (await secondReader.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Select(e => e.SequenceNumber));
        }
    }

    private static async Task<List<ResponseEvent>> ReadAllAsync(IResponseStore store, string id, long startingAfter)
    {
        await Task.Yield();
        var events = new List<ResponseEvent>();
        await foreach (var e in store.ReadEventsAsync(id, startingAfter, Ct))
        {
            events.Add(e);
        }

        return events;
    }
}
