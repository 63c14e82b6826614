using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>What every request's lifecycle shares: the options, the host's lifetime, admission, the clock, the log, the pumps.</summary>
internal sealed class StreamingEnvironment(
    IOptions<OpenAiStreamingOptions> options,
    StreamLifetime lifetime,
    AdmissionControl admissions,
    TimeProvider timeProvider,
    ILogger<OpenAiEndpoints> logger)
{
    public OpenAiStreamingOptions Options { get; } = options.Value;

    public StreamLifetime Lifetime { get; } = lifetime;

    public AdmissionControl Admissions { get; } = admissions;

    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>Every stream's pump options.</summary>
    public TokenPumpOptions PumpOptions { get; } = PumpOptionsFor(options.Value, timeProvider);

    /// <summary>
    /// The pumps of streams whose model the server enumerates, reused from one stream to the next: each open stream's
    /// pump would otherwise be about 1 KiB of objects born at its start that the collector copies into its older
    /// generations while it is open (docs/benchmarks.md, the far tail at thousands of streams).
    /// </summary>
    public TokenPumpPool<ChatDelta> Pumps { get; } = new(ChatDeltaMerger.Instance, PumpOptionsFor(options.Value, timeProvider));

    /// <summary>The endpoints' logger: the lifecycle logs under the category hosts already filter on.</summary>
    public ILogger Logger { get; } = logger;

    /// <summary>The response waits on the pump right after starting it (<see cref="CompletionLifecycle"/>), so the
    /// producer starts inside that wait.</summary>
    private static TokenPumpOptions PumpOptionsFor(OpenAiStreamingOptions options, TimeProvider timeProvider) => new()
    {
        Capacity = options.MaxQueuedDeltas,
        MaxBufferedBytes = options.MaxBufferedBytes,
        TimeProvider = timeProvider,
        StartOnFirstWait = true,
    };
}
