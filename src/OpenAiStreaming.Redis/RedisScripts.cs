namespace OpenAiStreaming.Redis;

/// <summary>
/// The store's Lua scripts: each change of a response is one atomic script, one round trip (StackExchange.Redis sends
/// EVALSHA once a script is loaded). Appends and ends check the producer's lease token, so a producer that lost its
/// lease can never write after the response was ended for it.
/// </summary>
internal static class RedisScripts
{
    /// <summary>KEYS response, lease, active, events; ARGV json, conv, status, token, leaseMs, retentionMs, id.</summary>
    public const string Start = """
        redis.call('DEL', KEYS[4])
        redis.call('HSET', KEYS[1], 'json', ARGV[1], 'conv', ARGV[2], 'status', ARGV[3], 'bg', '1', 'ended', '0')
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
        redis.call('SADD', KEYS[3], ARGV[7])
        return 1
        """;

    /// <summary>
    /// KEYS lease, events, response; ARGV token, retentionMs, maxLength, channel, hasResponse, json, conv, status, then
    /// (entryId, type, data) per event.
    /// </summary>
    public const string Append = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
        for i = 9, #ARGV, 3 do
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], ARGV[i], 't', ARGV[i + 1], 'd', ARGV[i + 2])
        end
        if ARGV[5] == '1' then redis.call('HSET', KEYS[3], 'json', ARGV[6], 'conv', ARGV[7], 'status', ARGV[8]) end
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        redis.call('PEXPIRE', KEYS[3], ARGV[2])
        redis.call('PUBLISH', ARGV[4], '')
        return 1
        """;

    /// <summary>KEYS lease, events, response, active; ARGV token, retentionMs, endId, channel, json, conv, status, id.</summary>
    public const string Complete = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
        redis.call('HSET', KEYS[3], 'json', ARGV[5], 'conv', ARGV[6], 'status', ARGV[7], 'ended', '1')
        redis.call('XADD', KEYS[2], ARGV[3], 'end', '1')
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[4], ARGV[8])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        redis.call('PEXPIRE', KEYS[3], ARGV[2])
        redis.call('PUBLISH', ARGV[4], '')
        return 1
        """;

    /// <summary>
    /// Ends a response as failed: its owner (ARGV token) giving up, or anyone (token '') once the lease is gone.
    /// KEYS lease, events, response, active; ARGV token, expectedLastId, failedJson, failedEntryId, failedEventData,
    /// endId, retentionMs, channel, id, failedStatus. Returns 1 when it ended the response, 0 when there was nothing to
    /// end (owned by a live producer, ended, gone), -1 when an event arrived since the caller looked (look again).
    /// </summary>
    public const string Fail = """
        local owner = redis.call('GET', KEYS[1])
        if ARGV[1] == '' then
          if owner then return 0 end
        elseif owner ~= ARGV[1] then
          return 0
        end
        if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('HGET', KEYS[3], 'ended') == '1' then
          redis.call('SREM', KEYS[4], ARGV[9])
          return 0
        end
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        local lastId = '0-0'
        if #last > 0 then lastId = last[1][1] end
        if lastId ~= ARGV[2] then return -1 end
        redis.call('XADD', KEYS[2], ARGV[4], 't', 'response.failed', 'd', ARGV[5])
        redis.call('HSET', KEYS[3], 'json', ARGV[3], 'status', ARGV[10], 'ended', '1')
        redis.call('XADD', KEYS[2], ARGV[6], 'end', '1')
        redis.call('DEL', KEYS[1])
        redis.call('SREM', KEYS[4], ARGV[9])
        redis.call('PEXPIRE', KEYS[2], ARGV[7])
        redis.call('PEXPIRE', KEYS[3], ARGV[7])
        redis.call('PUBLISH', ARGV[8], '')
        return 1
        """;

    /// <summary>KEYS lease, cancel; ARGV token, leaseMs. Returns 0 when the lease is lost, 2 when a cancel was asked for, else 1.</summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
        return 1
        """;

    /// <summary>KEYS response, cancel; ARGV retentionMs, control channel. Returns 0 when there is no such response.</summary>
    public const string Cancel = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
        redis.call('PUBLISH', ARGV[2], 'cancel')
        return 1
        """;

    /// <summary>KEYS response, events, lease, cancel, active; ARGV id, control channel, events channel. Returns 1 when it existed.</summary>
    public const string Delete = """
        local existed = redis.call('DEL', KEYS[1])
        redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
        redis.call('SREM', KEYS[5], ARGV[1])
        redis.call('PUBLISH', ARGV[2], 'delete')
        redis.call('PUBLISH', ARGV[3], '')
        return existed
        """;
}
