using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// What a batched model loop pays per token to hand it over: one thread steps 256 sequences, writing one token into
/// each sequence's queue per step, while each sequence's consumer (a response) reads on the thread pool; a quarter of
/// the consumers have stopped reading (clients that stalled), so their queues stay full. The pump, as
/// <c>TokenStreamChatClient</c> uses it (<see cref="TokenPump{T}.Create"/>: the loop never runs a consumer itself; a
/// stalled consumer's tokens merge), against a bounded channel per sequence that drops its oldest item when full (the
/// baseline: never waits either, but loses tokens instead of merging them). Per operation: one token of one sequence.
/// </summary>
[MemoryDiagnoser]
public class BatchLoopBenchmarks
{
    private const int Sequences = 256;
    private const int Steps = 20;

    /// <summary>Every fourth sequence's client has stopped reading.</summary>
    private static bool Stalled(int sequence) => sequence % 4 == 3;

    private readonly CancellationTokenSource _request = new();
    private readonly List<Task> _consumers = [];
    private TokenPump<Delta>[] _pumps = null!;
    private Channel<Delta>[] _channels = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new TokenPumpOptions { MaxBufferedBytes = long.MaxValue };
        _pumps = new TokenPump<Delta>[Sequences];
        _channels = new Channel<Delta>[Sequences];
        for (int i = 0; i < Sequences; i++)
        {
            _pumps[i] = TokenPump<Delta>.Create(MergingMerger.Instance, options, _request.Token);
            _channels[i] = Channel.CreateBounded<Delta>(new BoundedChannelOptions(64)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = true,
            });
            if (!Stalled(i))
            {
                _consumers.Add(ReadPumpAsync(_pumps[i], _request.Token));
                _consumers.Add(ReadChannelAsync(_channels[i].Reader, _request.Token));
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _request.Cancel();
        foreach (var pump in _pumps)
        {
            pump.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        Task.WhenAll(_consumers).ContinueWith(static _ => { }, TaskScheduler.Default).GetAwaiter().GetResult();
        _request.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Sequences * Steps)]
    public void DropOldestChannels()
    {
        var channels = _channels;
        for (int step = 0; step < Steps; step++)
        {
            for (int i = 0; i < channels.Length; i++)
            {
                channels[i].Writer.TryWrite(Delta.Instance);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Sequences * Steps)]
    public void TokenPumps()
    {
        var pumps = _pumps;
        for (int step = 0; step < Steps; step++)
        {
            for (int i = 0; i < pumps.Length; i++)
            {
                pumps[i].TryWrite(Delta.Instance);
            }
        }
    }

    private static async Task ReadPumpAsync(TokenPump<Delta> pump, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await pump.WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
                while (pump.TryRead(out _))
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task ReadChannelAsync(ChannelReader<Delta> reader, CancellationToken cancellationToken)
    {
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out _))
                {
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Merges every delta into the waiting one, as text deltas do for a stalled client; 8 bytes each.</summary>
    private sealed class MergingMerger : IDeltaMerger<Delta>
    {
        public static readonly MergingMerger Instance = new();

        public bool TryMerge(Delta pending, Delta next) => true;

        public long GetSize(Delta delta) => 8;
    }
}
