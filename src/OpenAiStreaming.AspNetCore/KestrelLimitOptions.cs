namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// Kestrel limits against slow or huge requests, tighter than Kestrel's own defaults where a model server needs them.
/// Bound from the configuration section <c>OpenAiStreaming:Kestrel</c> and applied to Kestrel's options after the
/// host's own (<c>ConfigureKestrel</c>), each only where the host left Kestrel's default in place.
/// </summary>
public sealed class KestrelLimitOptions
{
    /// <summary>The configuration section the options bind from: <c>OpenAiStreaming:Kestrel</c>.</summary>
    public const string SectionName = OpenAiStreamingOptions.SectionName + ":Kestrel";

    /// <summary>Apply these limits. Default true; false leaves Kestrel's limits as the host set them.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The longest a client may take to send the request line and headers; past it Kestrel answers 408 and closes the
    /// connection (slowloris). Default 10 seconds (Kestrel's own: 30 seconds).
    /// </summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The slowest a request body may arrive, in bytes per second, after <see cref="MinRequestBodyDataRateGracePeriod"/>;
    /// a slower body fails with 408. Default 1024 (Kestrel's own: 240), so a body of the default 4 MiB
    /// <see cref="OpenAiStreamingOptions.MaxRequestBodySize"/> cannot hold a connection for more than about an hour.
    /// </summary>
    public double MinRequestBodyDataRate { get; set; } = 1024;

    /// <summary>How long a body may arrive slower than <see cref="MinRequestBodyDataRate"/> at first. Default 5 seconds (as Kestrel).</summary>
    public TimeSpan MinRequestBodyDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most bytes of request headers; more get 431. Default 32 KiB (as Kestrel).</summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>The longest request line (method, path, query); longer gets 414. Default 8 KiB (as Kestrel).</summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;
}
