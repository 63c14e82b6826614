using StackExchange.Redis;

namespace OpenAiStreaming.Redis;

/// <summary>
/// The keys and channels of one response. Its keys share the hash tag <c>{id}</c>, so they live in one cluster slot
/// (the scripts touch them together); the set of responses being produced is one key per prefix.
/// </summary>
internal readonly struct RedisKeys
{
    public RedisKeys(string prefix, string id)
    {
        Id = id;
        string root = prefix + "{" + id + "}:";
        Response = root + "response";
        Events = root + "events";
        Lease = root + "lease";
        Cancel = root + "cancel";
        Active = prefix + "active";
        EventsChannel = RedisChannel.Literal(root + "events");
        ControlChannel = RedisChannel.Literal(root + "control");
    }

    public string Id { get; }

    /// <summary>Hash: <c>json</c>, <c>conv</c>, <c>status</c>, <c>bg</c>, <c>ended</c>.</summary>
    public RedisKey Response { get; }

    /// <summary>Stream: one entry per event, id <c>(sequence + 1)-0</c>, fields <c>t</c> and <c>d</c>; then an end entry.</summary>
    public RedisKey Events { get; }

    /// <summary>String: the producer's token, with the lease time as its expiry.</summary>
    public RedisKey Lease { get; }

    /// <summary>String: present once a cancel was asked for.</summary>
    public RedisKey Cancel { get; }

    /// <summary>Set of the ids of responses being produced (the lease sweeper reads it).</summary>
    public RedisKey Active { get; }

    /// <summary>Published to after every append and at the end: wakes readers.</summary>
    public RedisChannel EventsChannel { get; }

    /// <summary>Published to on cancel and delete: reaches the producer.</summary>
    public RedisChannel ControlChannel { get; }

    /// <summary>The stream entry id of the event with <paramref name="sequenceNumber"/>.</summary>
    public static string EntryId(long sequenceNumber) => (sequenceNumber + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + "-0";

    /// <summary>The id of the entry that ends a response whose last event is <paramref name="lastSequenceNumber"/> (-1: none).</summary>
    public static string EndEntryId(long lastSequenceNumber) => (lastSequenceNumber + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) + "-1";

    /// <summary>The sequence number of an event entry id, or the last sequence number before an end entry.</summary>
    public static long SequenceOf(string entryId) =>
        long.Parse(entryId.AsSpan(0, entryId.IndexOf('-', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture) - 1;
}
