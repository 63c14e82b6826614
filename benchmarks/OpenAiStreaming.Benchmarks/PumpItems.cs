using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.Benchmarks;

/// <summary>What the pump benchmarks hand over: a small object, like the server's ChatDelta, created once and reused.</summary>
public sealed class Delta
{
    public static readonly Delta Instance = new();
}

/// <summary>Never merges, so every item reaches the consumer on its own, as with a bare channel; 8 bytes each.</summary>
internal sealed class NeverMerger : IDeltaMerger<Delta>
{
    public static readonly NeverMerger Instance = new();

    public bool TryMerge(Delta pending, Delta next) => false;

    public long GetSize(Delta delta) => 8;
}

/// <summary>
/// What the pump benchmarks share: the pump as the server creates it (with a request token) and the bare channels it
/// is measured against, bounded to the pump's capacity and unbounded, both single-reader and single-writer.
/// </summary>
public abstract class PumpBenchmark
{
    /// <summary>The server's default heartbeat interval, which its consumer waits with.</summary>
    protected static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    protected CancellationTokenSource Request { get; } = new();

    protected Channel<Delta> Bounded { get; } = Channel.CreateBounded<Delta>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });

    protected Channel<Delta> Unbounded { get; } = Channel.CreateUnbounded<Delta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    protected TokenPump<Delta> Pump { get; private set; } = null!;

    [GlobalSetup]
    public void Setup() => Pump = TokenPump<Delta>.Create(NeverMerger.Instance, cancellationToken: Request.Token);

    [GlobalCleanup]
    public void Cleanup()
    {
        Pump.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Request.Dispose();
    }
}
