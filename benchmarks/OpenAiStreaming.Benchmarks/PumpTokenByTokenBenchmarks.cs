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
public class PumpTokenByTokenBenchmarks : PumpBenchmark
{
    private const int Items = 2_000;

    /// <summary>The consumer's acknowledgement (never asked for its wait handle, so it holds nothing to dispose).</summary>
    private readonly SemaphoreSlim _read = new(0);

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task BoundedChannel() => ChannelAsync(Bounded);

    [Benchmark(OperationsPerInvoke = Items)]
    public Task UnboundedChannel() => ChannelAsync(Unbounded);

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task TokenPump()
    {
        var pump = Pump;
        var producer = Produce(item => pump.TryWrite(item));
        var ct = Request.Token;
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
        var ct = Request.Token;
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
