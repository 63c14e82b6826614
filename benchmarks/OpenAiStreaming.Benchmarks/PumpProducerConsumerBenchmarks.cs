using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// Items handed from a producer thread to a consumer on another, as fast as the producer can write: per item, the
/// cost of the hand-off and of the consumer's wake-ups (it drains everything ready at each one). The pump (waiting
/// with the server's heartbeat timeout, or without one) against a bare <see cref="Channel{T}"/>: bounded to the
/// pump's capacity, 64 (the baseline; its producer waits when it is full, which the pump's never does), and unbounded,
/// both single-reader and single-writer. Timings depend on how the two threads interleave: compare within one run.
/// </summary>
[MemoryDiagnoser]
public class PumpProducerConsumerBenchmarks : PumpBenchmark
{
    private const int Items = 10_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public async Task BoundedChannel()
    {
        var producer = Task.Run(async () =>
        {
            for (int i = 0; i < Items; i++)
            {
                await Bounded.Writer.WriteAsync(Delta.Instance).ConfigureAwait(false);
            }
        });
        await ConsumeAsync(Bounded.Reader, Request.Token).ConfigureAwait(false);
        await producer.ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public async Task UnboundedChannel()
    {
        var producer = Task.Run(() =>
        {
            for (int i = 0; i < Items; i++)
            {
                Unbounded.Writer.TryWrite(Delta.Instance);
            }
        });
        await ConsumeAsync(Unbounded.Reader, Request.Token).ConfigureAwait(false);
        await producer.ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public Task TokenPumpHeartbeat() => PumpAsync(Heartbeat);

    [Benchmark(OperationsPerInvoke = Items)]
    public Task TokenPumpNoHeartbeat() => PumpAsync(Timeout.InfiniteTimeSpan);

    private async Task PumpAsync(TimeSpan idleTimeout)
    {
        var pump = Pump;
        var producer = Task.Run(() =>
        {
            for (int i = 0; i < Items; i++)
            {
                pump.TryWrite(Delta.Instance);
            }
        });
        var ct = Request.Token;
        int read = 0;
        while (read < Items)
        {
            await pump.WaitAsync(idleTimeout, ct).ConfigureAwait(false);
            while (pump.TryRead(out _))
            {
                read++;
            }
        }

        await producer.ConfigureAwait(false);
    }

    private static async Task ConsumeAsync(ChannelReader<Delta> reader, CancellationToken ct)
    {
        int read = 0;
        while (read < Items)
        {
            await reader.WaitToReadAsync(ct).ConfigureAwait(false);
            while (reader.TryRead(out _))
            {
                read++;
            }
        }
    }
}
