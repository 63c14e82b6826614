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
public class PumpPingPongBenchmarks : PumpBenchmark
{
    private const int Items = 1000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public Task BoundedChannel() => HandOffAsync(Bounded, Request.Token);

    [Benchmark(OperationsPerInvoke = Items)]
    public Task UnboundedChannel() => HandOffAsync(Unbounded, Request.Token);

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task TokenPump()
    {
        var pump = Pump;
        var ct = Request.Token;
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
