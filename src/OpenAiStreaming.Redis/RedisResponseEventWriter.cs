using OpenAiStreaming.AspNetCore.Responses;
using StackExchange.Redis;

namespace OpenAiStreaming.Redis;

/// <summary>
/// A producer's hold on one response in Redis: every append is one script that checks the lease token, appends the
/// events, saves the state and wakes readers; a timer renews the lease every third of its time and notices a cancel;
/// a message on the response's control channel makes a cancel prompt.
/// </summary>
internal sealed class RedisResponseEventWriter : IResponseEventWriter
{
    private readonly RedisResponseStore _store;
    private readonly RedisKeys _keys;
    private readonly string _token;
    private readonly CancellationTokenSource _cancel = new();
    private readonly Action<RedisChannel, RedisValue> _onControl;
    private ITimer? _renewal;
    private ISubscriber? _subscriber;

    /// <summary>The state last saved, for the failed end if the producer stops without completing.</summary>
    private StoredResponse _current;

    /// <summary>The sequence number of the last appended event; -1 before the first.</summary>
    private long _lastSequence = -1;

    /// <summary>True once the response's end is stored (completed, or failed by this writer).</summary>
    private bool _ended;

    public RedisResponseEventWriter(RedisResponseStore store, RedisKeys keys, string token, StoredResponse response)
    {
        _store = store;
        _keys = keys;
        _token = token;
        _current = response;
        _onControl = (_, _) => Cancel();
    }

    public string ResponseId => _keys.Id;

    public CancellationToken CancellationRequested => _cancel.Token;

    public async Task StartAsync()
    {
        _subscriber = await _store.SubscribeAsync(_keys.ControlChannel, _onControl).ConfigureAwait(false);
        var period = _store.Options.LeaseTime / 3;
        _renewal = TimeProvider.System.CreateTimer(_ => _ = RenewAsync(), null, period, period);
    }

    public async ValueTask AppendAsync(IReadOnlyList<ResponseEvent> events, StoredResponse? response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var args = new RedisValue[8 + (3 * events.Count)];
        args[0] = _token;
        args[1] = _store.RetentionMilliseconds;
        args[2] = _store.Options.MaxEventsPerResponse;
        args[3] = _keys.EventsChannel.ToString();
        args[4] = response is null ? 0 : 1;
        args[5] = response?.Json ?? ReadOnlyMemory<byte>.Empty;
        args[6] = response?.Conversation ?? ReadOnlyMemory<byte>.Empty;
        args[7] = response is null ? 0 : (int)response.Status;
        for (int i = 0; i < events.Count; i++)
        {
            args[8 + (3 * i)] = RedisKeys.EntryId(events[i].SequenceNumber);
            args[9 + (3 * i)] = events[i].Type;
            args[10 + (3 * i)] = events[i].Data;
        }

        await EvaluateAsync(RedisScripts.Append, [_keys.Lease, _keys.Events, _keys.Response], args).ConfigureAwait(false);
        if (events.Count > 0)
        {
            _lastSequence = events[^1].SequenceNumber;
        }

        _current = response ?? _current;
    }

    public async ValueTask CompleteAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        await EvaluateAsync(
            RedisScripts.Complete,
            [_keys.Lease, _keys.Events, _keys.Response, _keys.Active],
            [
                _token, _store.RetentionMilliseconds, RedisKeys.EndEntryId(_lastSequence), _keys.EventsChannel.ToString(),
                response.Json, response.Conversation, (int)response.Status, _keys.Id,
            ]).ConfigureAwait(false);
        _current = response;
        _ended = true;
    }

    public async ValueTask DisposeAsync()
    {
        _renewal?.Dispose();
        _cancel.Cancel();
        try
        {
            if (_subscriber is not null)
            {
                RedisResponseStore.Unsubscribe(_subscriber, _keys.ControlChannel, _onControl);
            }

            if (!_ended)
            {
                // Stopped without an end: end it failed now, rather than leave readers waiting for the lease to expire.
                var db = await _store.DatabaseAsync().ConfigureAwait(false);
                await _store.TryFailOrphanAsync(db, _keys, _token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (RedisResponseStore.IsUnavailable(ex))
        {
            // Redis is away: the lease expires, and a reader or the sweeper of any replica ends the response then.
            RedisResponseStoreLog.EndLeftToLease(_store.Logger, _keys.Id, ex);
        }
        finally
        {
            _cancel.Dispose();
        }
    }

    private async Task RenewAsync()
    {
        try
        {
            var db = await _store.DatabaseAsync().ConfigureAwait(false);
            var result = (long)await db.ScriptEvaluateAsync(RedisScripts.Renew, [_keys.Lease, _keys.Cancel], [_token, _store.LeaseMilliseconds]).ConfigureAwait(false);
            if (result == 0)
            {
                RedisResponseStoreLog.LeaseLost(_store.Logger, _keys.Id);
                Cancel();
            }
            else if (result == 2)
            {
                Cancel();
            }
        }
        catch (Exception ex) when (RedisResponseStore.IsUnavailable(ex))
        {
            // The next renewal tries again; past the lease time the response is ended failed by whoever notices.
            RedisResponseStoreLog.RenewalFailed(_store.Logger, _keys.Id, ex);
        }
    }

    private void Cancel()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: nobody is producing any more.
        }
    }

    private async Task EvaluateAsync(string script, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            var db = await _store.DatabaseAsync().ConfigureAwait(false);
            await db.ScriptEvaluateAsync(script, keys, args).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("LEASE_LOST", StringComparison.Ordinal))
        {
            Cancel();
            throw new ResponseStoreUnavailableException("This replica lost its lease on the response: another replica ended it.", ex);
        }
        catch (Exception ex) when (RedisResponseStore.IsUnavailable(ex))
        {
            throw RedisResponseStore.Unavailable(ex);
        }
    }
}
