using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// One item handed from producer to consumer on one thread: write, wait (ready at once), read. The pump, with the
/// heartbeat timeout and the cancellable token the server waits with, against a bare <see cref="Channel{T}"/> used the
/// same way (<c>TryWrite</c>, <c>WaitToReadAsync</c>, <c>TryRead</c>), bounded (the baseline) and unbounded, both
/// single-reader and single-writer. The cost of the hand-off itself, with no thread switch.
/// </summary>
[MemoryDiagnoser]
public class PumpPingPongBenchmarks
{
    private const int Items = 1000;

    /// <summary>The server's default heartbeat interval, which its consumer waits with.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _request = new();
    private readonly Channel<Delta> _bounded = Channel.CreateBounded<Delta>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
    private readonly Channel<Delta> _unbounded = Channel.CreateUnbounded<Delta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private TokenPump<Delta> _pump = null!;

    [GlobalSetup]
    public void Setup() => _pump = TokenPump<Delta>.Create(NeverMerger.Instance, cancellationToken: _request.Token);

    [GlobalCleanup]
    public void Cleanup()
    {
        _pump.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _request.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task BoundedChannel() => HandOffAsync(_bounded, _request.Token);

    [Benchmark(OperationsPerInvoke = Items)]
    public Task UnboundedChannel() => HandOffAsync(_unbounded, _request.Token);

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task TokenPump()
    {
        var pump = _pump;
        var ct = _request.Token;
        for (int i = 0; i < Items; i++)
        {
            pump.TryWrite(Delta.Instance);
            await pump.WaitAsync(Heartbeat, ct).ConfigureAwait(false);
            pump.TryRead(out _);
        }
    }

    private static async Task HandOffAsync(Channel<Delta> channel, CancellationToken ct)
    {
        for (int i = 0; i < Items; i++)
        {
            channel.Writer.TryWrite(Delta.Instance);
            await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false);
            channel.Reader.TryRead(out _);
        }
    }
}
