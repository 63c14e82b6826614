using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore.Responses;
using StackExchange.Redis;

namespace OpenAiStreaming.Redis;

/// <summary>
/// <see cref="IResponseStore"/> on Redis, shared by replicas: a response is a hash, its events a Stream (one entry per
/// event, then an end entry), its producer's lease a key with an expiry. Readers replay with XRANGE and wake on PUBLISH,
/// polling every <see cref="RedisResponseStoreOptions.PollInterval"/> in case a message was lost; a reader or the
/// sweeper that finds a lease gone ends the response <c>failed</c>.
/// </summary>
internal sealed class RedisResponseStore : IResponseStore, IAsyncDisposable
{
    private const string LostProducerCode = "server_error";
    private const string LostProducerMessage = "The replica that was generating this response stopped before it finished (its lease expired).";

    private const int DefaultTimeoutMilliseconds = 2000;

    private readonly RedisResponseStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;

    public RedisResponseStore(IOptions<RedisResponseStoreOptions> options, ILogger<RedisResponseStore> logger)
    {
        _options = options.Value;
        _logger = logger;
        var configuration = ConfigurationOptions.Parse(_options.Configuration);

        // Start without Redis and reconnect by itself. While it is away, commands wait in the client's backlog for a
        // reconnect and then fail (503, error events). Each wait is bounded to 2 s unless the configuration string sets
        // it: commands wait by asyncTimeout, subscriptions by syncTimeout, and a connection that drops while it is
        // being established first waits out connectTimeout (5 s each by default; 5 + 5 s measured before this).
        // (FailFast would also fail the first subscription of a new connection, which is still connecting.)
        configuration.AbortOnConnectFail = false;
        bool Unset(string name) => !_options.Configuration.Contains(name, StringComparison.OrdinalIgnoreCase);
        if (Unset("asyncTimeout"))
        {
            configuration.AsyncTimeout = DefaultTimeoutMilliseconds;
        }

        if (Unset("syncTimeout"))
        {
            configuration.SyncTimeout = DefaultTimeoutMilliseconds;
        }

        if (Unset("connectTimeout"))
        {
            configuration.ConnectTimeout = DefaultTimeoutMilliseconds;
        }

        _connection = new(() => ConnectionMultiplexer.ConnectAsync(configuration));
    }

    internal RedisResponseStoreOptions Options => _options;

    internal ILogger Logger => _logger;

    internal long LeaseMilliseconds => (long)_options.LeaseTime.TotalMilliseconds;

    internal long RetentionMilliseconds => (long)_options.Retention.TotalMilliseconds;

    internal static bool IsUnavailable(Exception exception) =>
        exception is RedisConnectionException or RedisTimeoutException or ObjectDisposedException
        || (exception is RedisServerException server && server.Message.StartsWith("LOADING", StringComparison.Ordinal));

    internal static ResponseStoreUnavailableException Unavailable(Exception exception) =>
        new("The Redis response store cannot be reached: " + exception.Message, exception);

    internal RedisKeys Keys(string id) => new(_options.KeyPrefix, id);

    internal async ValueTask<ConnectionMultiplexer> ConnectionAsync() => await _connection.Value.ConfigureAwait(false);

    internal async ValueTask<IDatabase> DatabaseAsync() => (await ConnectionAsync().ConfigureAwait(false)).GetDatabase();

    public async ValueTask<IResponseEventWriter> StartAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var keys = Keys(response.Id);
        string token = Guid.NewGuid().ToString("N");
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            await db.ScriptEvaluateAsync(
                RedisScripts.Start,
                [keys.Response, keys.Lease, keys.Active, keys.Events],
                [response.Json, response.Conversation, (int)response.Status, token, LeaseMilliseconds, RetentionMilliseconds, response.Id]).ConfigureAwait(false);
            var writer = new RedisResponseEventWriter(this, keys, token, response);
            await writer.StartAsync().ConfigureAwait(false);
            return writer;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    public async ValueTask SaveAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var keys = Keys(response.Id);
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            var batch = db.CreateBatch();
            var set = batch.HashSetAsync(keys.Response,
            [
                new("json", response.Json), new("conv", response.Conversation), new("status", (int)response.Status),
                new("bg", response.Background ? 1 : 0), new("ended", 1),
            ]);
            var expire = batch.KeyExpireAsync(keys.Response, _options.Retention);
            batch.Execute();
            await Task.WhenAll(set, expire).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    public async ValueTask<StoredResponse?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var keys = Keys(id);
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            var response = await ReadResponseAsync(db, keys).ConfigureAwait(false);
            if (response is { IsFinished: false, Background: true } && !await db.KeyExistsAsync(keys.Lease).ConfigureAwait(false)
                && await TryFailOrphanAsync(db, keys).ConfigureAwait(false))
            {
                response = await ReadResponseAsync(db, keys).ConfigureAwait(false);
            }

            return response;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    public async ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var keys = Keys(id);
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            var existed = await db.ScriptEvaluateAsync(
                RedisScripts.Delete,
                [keys.Response, keys.Events, keys.Lease, keys.Cancel, keys.Active],
                [id, keys.ControlChannel.ToString(), keys.EventsChannel.ToString()]).ConfigureAwait(false);
            return (long)existed == 1;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    public async ValueTask<bool> RequestCancelAsync(string id, CancellationToken cancellationToken)
    {
        var keys = Keys(id);
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            var found = await db.ScriptEvaluateAsync(
                RedisScripts.Cancel, [keys.Response, keys.Cancel], [RetentionMilliseconds, keys.ControlChannel.ToString()]).ConfigureAwait(false);
            return (long)found == 1;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    public async IAsyncEnumerable<ResponseEvent> ReadEventsAsync(string id, long startingAfter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var keys = Keys(id);
        using var wake = new SemaphoreSlim(0);
        void OnMessage(RedisChannel channel, RedisValue message)
        {
            if (wake.CurrentCount == 0)
            {
                wake.Release();
            }
        }

        var subscriber = await SubscribeAsync(keys.EventsChannel, OnMessage).ConfigureAwait(false);
        try
        {
            // Subscribed first, read second: an event appended in between is read now or wakes the next wait.
            string cursor = startingAfter < 0 ? "-" : "(" + RedisKeys.EntryId(startingAfter);
            bool sawEnded = false;
            while (true)
            {
                var entries = await RangeAsync(keys, cursor).ConfigureAwait(false);
                foreach (var entry in entries)
                {
                    if (!entry["end"].IsNull)
                    {
                        yield break;
                    }

                    cursor = "(" + entry.Id.ToString();
                    yield return new ResponseEvent(RedisKeys.SequenceOf(entry.Id.ToString()), entry["t"].ToString(), (byte[])entry["d"]!);
                }

                if (entries.Length == RangeBatch)
                {
                    continue;
                }

                if (entries.Length == 0)
                {
                    var state = await StateAsync(keys).ConfigureAwait(false);
                    if (state == ResponseState.Gone || (state == ResponseState.Ended && sawEnded))
                    {
                        // Unknown, not background, forgotten, or ended before what the reader has: nothing more comes.
                        yield break;
                    }

                    if (state == ResponseState.Ended)
                    {
                        // It ended since the range was read: read once more for its last events and its end.
                        sawEnded = true;
                        continue;
                    }
                }

                if (!await wake.WaitAsync(_options.PollInterval, cancellationToken).ConfigureAwait(false))
                {
                    // No wake-up: a message may have been lost, or the producer died. Whoever notices ends it.
                    await FailIfOrphanedAsync(keys).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            Unsubscribe(subscriber, keys.EventsChannel, OnMessage);
        }
    }

    /// <summary>Ends every response in the active set whose producer's lease is gone; the sweeper calls it.</summary>
    /// <returns>How many it ended.</returns>
    internal async Task<int> SweepAsync()
    {
        var db = await DatabaseAsync().ConfigureAwait(false);
        int ended = 0;
        foreach (var member in await db.SetMembersAsync(Keys("").Active).ConfigureAwait(false))
        {
            var keys = Keys(member.ToString());
            if (!await db.KeyExistsAsync(keys.Lease).ConfigureAwait(false) && await TryFailOrphanAsync(db, keys).ConfigureAwait(false))
            {
                ended++;
            }
        }

        return ended;
    }

    /// <summary>
    /// Ends a response as failed when its producer is gone: <paramref name="token"/> null means only when its lease
    /// expired; a token means its owner gives up.
    /// </summary>
    /// <returns>True when this call ended it.</returns>
    internal async Task<bool> TryFailOrphanAsync(IDatabase db, RedisKeys keys, string? token = null)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var current = await ReadResponseAsync(db, keys).ConfigureAwait(false);
            if (current is null || current.IsFinished)
            {
                return false;
            }

            var last = await db.StreamRangeAsync(keys.Events, "-", "+", 1, Order.Descending).ConfigureAwait(false);
            string lastId = last.Length == 0 ? "0-0" : last[0].Id.ToString();
            long nextSequence = last.Length == 0 ? 0 : RedisKeys.SequenceOf(lastId) + 1;
            var failed = current.ToFailed(LostProducerCode, LostProducerMessage);
            var failedEvent = ResponseEvent.CreateFailed(failed, nextSequence);
            var result = (long)await db.ScriptEvaluateAsync(
                RedisScripts.Fail,
                [keys.Lease, keys.Events, keys.Response, keys.Active],
                [
                    token ?? "", lastId, failed.Json, RedisKeys.EntryId(nextSequence), failedEvent.Data, RedisKeys.EndEntryId(nextSequence),
                    RetentionMilliseconds, keys.EventsChannel.ToString(), keys.Id, (int)ResponseStatus.Failed,
                ]).ConfigureAwait(false);
            if (result >= 0)
            {
                if (result == 1)
                {
                    RedisResponseStoreLog.EndedFailed(_logger, keys.Id, token is null ? "its lease expired" : "its producer stopped");
                }

                return result == 1;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            try
            {
                await (await _connection.Value.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (RedisConnectionException)
            {
                // Never connected: nothing to close.
            }
        }
    }

    internal async Task<ISubscriber> SubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        try
        {
            var subscriber = (await ConnectionAsync().ConfigureAwait(false)).GetSubscriber();
            await subscriber.SubscribeAsync(channel, handler).ConfigureAwait(false);
            return subscriber;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>
    /// Removes the handler at once and tells Redis without waiting: an ending reader or writer never waits for Redis,
    /// nor has its own error replaced by the unsubscribe's (a dropped connection has no subscriptions anyway).
    /// </summary>
    internal static void Unsubscribe(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) =>
        subscriber.Unsubscribe(channel, handler, CommandFlags.FireAndForget);

    private const int RangeBatch = 256;

    private async Task<StreamEntry[]> RangeAsync(RedisKeys keys, string cursor)
    {
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            return await db.StreamRangeAsync(keys.Events, cursor, "+", RangeBatch).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private enum ResponseState
    {
        /// <summary>Being produced: events may come.</summary>
        Live,

        /// <summary>Its end is stored.</summary>
        Ended,

        /// <summary>No such response, or not a background one: it has no events.</summary>
        Gone,
    }

    private async Task<ResponseState> StateAsync(RedisKeys keys)
    {
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            var fields = await db.HashGetAsync(keys.Response, ["bg", "ended"]).ConfigureAwait(false);
            return fields[0].IsNull || fields[0] != 1 ? ResponseState.Gone : fields[1] == 1 ? ResponseState.Ended : ResponseState.Live;
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private async Task FailIfOrphanedAsync(RedisKeys keys)
    {
        try
        {
            var db = await DatabaseAsync().ConfigureAwait(false);
            if (!await db.KeyExistsAsync(keys.Lease).ConfigureAwait(false))
            {
                await TryFailOrphanAsync(db, keys).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private static async Task<StoredResponse?> ReadResponseAsync(IDatabase db, RedisKeys keys)
    {
        var fields = await db.HashGetAsync(keys.Response, ["json", "conv", "status", "bg"]).ConfigureAwait(false);
        if (fields[0].IsNull)
        {
            return null;
        }

        return new StoredResponse
        {
            Id = keys.Id,
            Json = (byte[])fields[0]!,
            Conversation = fields[1].IsNull ? ReadOnlyMemory<byte>.Empty : (byte[])fields[1]!,
            Status = (ResponseStatus)int.Parse(fields[2].ToString(), CultureInfo.InvariantCulture),
            Background = fields[3] == 1,
        };
    }
}
