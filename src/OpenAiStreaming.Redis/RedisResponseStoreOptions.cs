namespace OpenAiStreaming.Redis;

/// <summary>Settings of the Redis response store (<c>AddRedisResponseStore</c>).</summary>
public sealed class RedisResponseStoreOptions
{
    /// <summary>The configuration section the options bind from: <c>OpenAiStreaming:Redis</c>.</summary>
    public const string SectionName = "OpenAiStreaming:Redis";

    /// <summary>The StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>. Required.</summary>
    public string Configuration { get; set; } = "";

    /// <summary>The prefix of every key and channel, so that several apps can share one Redis. Default <c>openai_streaming:</c>.</summary>
    public string KeyPrefix { get; set; } = "openai_streaming:";

    /// <summary>
    /// How long a producing replica holds a background response without renewing its lease; it renews every third of
    /// it. A replica that died is noticed, and its responses are ended <c>failed</c>, within about this time.
    /// Default 10 seconds.
    /// </summary>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a reader that follows a live response waits for a wake-up (Redis PUBLISH) before it looks for new
    /// events anyway, so that a lost message only delays. Default 500 milliseconds.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a response and its events are kept after their last write. Default 10 minutes (as OpenAI keeps background responses).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The most events one response's stream keeps (XADD MAXLEN, approximate); a bound against runaway producers. Default 100,000.</summary>
    public int MaxEventsPerResponse { get; set; } = 100_000;
}
