using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// Graceful shutdown for streams: when the host starts stopping, new requests are refused, and open streams get
/// <see cref="OpenAiStreamingOptions.ShutdownDrainTimeout"/> to finish before <see cref="DrainDeadline"/> cancels them.
/// </summary>
internal sealed class StreamLifetime : IDisposable
{
    private readonly CancellationTokenSource _drainDeadline;
    private readonly CancellationTokenRegistration _stoppingRegistration;

    public StreamLifetime(IHostApplicationLifetime lifetime, IOptions<OpenAiStreamingOptions> options, TimeProvider timeProvider)
    {
        _drainDeadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        Stopping = lifetime.ApplicationStopping;
        var drain = options.Value.ShutdownDrainTimeout;
        _stoppingRegistration = Stopping.Register(() => _drainDeadline.CancelAfter(drain));
    }

    /// <summary>Cancelled when the host starts stopping: no new stream starts after it.</summary>
    public CancellationToken Stopping { get; }

    /// <summary>Cancelled when the drain time after <see cref="Stopping"/> is over: open streams end now.</summary>
    public CancellationToken DrainDeadline => _drainDeadline.Token;

    public void Dispose()
    {
        _stoppingRegistration.Dispose();
        _drainDeadline.Dispose();
    }
}
