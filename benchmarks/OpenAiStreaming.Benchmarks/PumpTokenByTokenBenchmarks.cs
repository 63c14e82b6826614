using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// Items handed from a producer thread to a consumer on another, one at a time: the producer writes the next item
/// only once the consumer has read the last, so every item finds the consumer asleep and wakes it, as when the model is
/// slower than the network (the live, token-by-token case). Per item: one hand-off, one wake-up, and the
/// <see cref="SemaphoreSlim"/> acknowledgement every contender shares. The pump, waiting with the server's heartbeat
/// timeout and cancellable token, against a bare <see cref="Channel{T}"/> waited on with the same token, bounded (the
/// baseline) and unbounded, both single-reader and single-writer.
/// </summary>
[MemoryDiagnoser]
public class PumpTokenByTokenBenchmarks
{
    private const int Items = 2_000;

    /// <summary>The server's default heartbeat interval, which its consumer waits with.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    private readonly CancellationTokenSource _request = new();
    private readonly SemaphoreSlim _read = new(0);
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
        _read.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task BoundedChannel() => ChannelAsync(_bounded);

    [Benchmark(OperationsPerInvoke = Items)]
    public Task UnboundedChannel() => ChannelAsync(_unbounded);

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task TokenPump()
    {
        var pump = _pump;
        var producer = Produce(item => pump.TryWrite(item));
        var ct = _request.Token;
        for (int i = 0; i < Items; i++)
        {
            while (!pump.TryRead(out _))
            {
                await pump.WaitAsync(Heartbeat, ct).ConfigureAwait(false);
            }

            _read.Release();
        }

        await producer.ConfigureAwait(false);
    }

    private async Task ChannelAsync(Channel<Delta> channel)
    {
        var writer = channel.Writer;
        var producer = Produce(item => writer.TryWrite(item));
        var reader = channel.Reader;
        var ct = _request.Token;
        for (int i = 0; i < Items; i++)
        {
            while (!reader.TryRead(out _))
            {
                await reader.WaitToReadAsync(ct).ConfigureAwait(false);
            }

            _read.Release();
        }

        await producer.ConfigureAwait(false);
    }

    /// <summary>Writes an item, then blocks its thread until the consumer has read it.</summary>
    private Task Produce(Func<Delta, bool> write) => Task.Factory.StartNew(
        () =>
        {
            for (int i = 0; i < Items; i++)
            {
                write(Delta.Instance);
                _read.Wait();
            }
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);
}
