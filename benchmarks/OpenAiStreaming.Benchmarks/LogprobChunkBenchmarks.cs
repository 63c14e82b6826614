using BenchmarkDotNet.Attributes;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// What logprobs cost per content chunk: <c>ChunkWriter.WriteContent</c> for one token without logprobs (the baseline),
/// and with <c>logprobs.content[]</c> for that token and 0, 3 or 20 <c>top_logprobs</c>, into the same reused buffer as
/// <see cref="ChunkSerializationBenchmarks"/>. The setup prints each variant's bytes per chunk.
/// </summary>
[MemoryDiagnoser]
public class LogprobChunkBenchmarks
{
    private const int Chunks = 64;

    private readonly BufferPipeWriter _output = new();
    private ServerSentEventWriter _sse = null!;
    private ChunkWriter _chunks = null!;
    private LogprobContent[][] _top0 = null!;
    private LogprobContent[][] _top3 = null!;
    private LogprobContent[][] _top20 = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sse = new ServerSentEventWriter(_output);
        _chunks = new ChunkWriter(_sse, CompletionKind.Chat, StreamData.Id, StreamData.Created, StreamData.Model);
        _top0 = Logprobs(0);
        _top3 = Logprobs(3);
        _top20 = Logprobs(20);
        foreach (var (name, logprobs) in new[] { ("NoLogprobs", (LogprobContent[][]?)null), ("Top0", _top0), ("Top3", _top3), ("Top20", _top20) })
        {
            var output = new BufferPipeWriter(keepOnFlush: true);
            var chunks = new ChunkWriter(new ServerSentEventWriter(output), CompletionKind.Chat, StreamData.Id, StreamData.Created, StreamData.Model);
            for (int i = 0; i < Chunks; i++)
            {
                chunks.WriteContent(Token(i), 0, logprobs?[i % StreamData.Tokens.Length]);
            }

            Console.WriteLine($"// {name}: {output.WrittenSpan.Length / (double)Chunks:F1} bytes per content chunk");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Chunks)]
    public void NoLogprobs()
    {
        for (int i = 0; i < Chunks; i++)
        {
            _chunks.WriteContent(Token(i));
        }

        Flush();
    }

    [Benchmark(OperationsPerInvoke = Chunks)]
    public void Top0() => Write(_top0);

    [Benchmark(OperationsPerInvoke = Chunks)]
    public void Top3() => Write(_top3);

    [Benchmark(OperationsPerInvoke = Chunks)]
    public void Top20() => Write(_top20);

    private static string Token(int i) => StreamData.Tokens[i % StreamData.Tokens.Length];

    /// <summary>One report per token, as a model creates them whatever the writer does.</summary>
    private static LogprobContent[][] Logprobs(int top) =>
        [.. StreamData.Tokens.Select((token, t) => new[]
        {
            new LogprobContent(token, -0.25 - t, [.. Enumerable.Range(0, top).Select(k => new TopLogprob(StreamData.Tokens[(t + k) % StreamData.Tokens.Length], -0.25 - t - k))]),
        })];

    private void Write(LogprobContent[][] logprobs)
    {
        for (int i = 0; i < Chunks; i++)
        {
            _chunks.WriteContent(Token(i), 0, logprobs[i % StreamData.Tokens.Length]);
        }

        Flush();
    }

    private void Flush() => _sse.FlushAsync().GetAwaiter().GetResult();
}
