using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// The JSON of one content chunk, produced four ways into the same <see cref="ServerSentEventWriter"/> event (same
/// <see cref="Utf8JsonWriter"/>, same framing, a reused buffer as the sink, no flush): ours, ChunkWriter, writes the
/// fields one by one; the others serialize a chunk object with <see cref="JsonSerializer"/>, reflection-based (the
/// baseline) or source-generated, with a new object per chunk as an endpoint builds it, or one reused object.
/// </summary>
[MemoryDiagnoser]
public class ChunkSerializationBenchmarks
{
    private const int Chunks = 64;

    private readonly BufferPipeWriter _output = new();
    private readonly ChatCompletionChunk _reused = StreamData.NewChunk("");
    private ServerSentEventWriter _sse = null!;
    private ChunkWriter _chunks = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sse = new ServerSentEventWriter(_output);
        _chunks = new ChunkWriter(_sse, CompletionKind.Chat, StreamData.Id, StreamData.Created, StreamData.Model);
        VerifySameBytes();
    }

    /// <summary>Reflection-based <see cref="JsonSerializer"/>, a new chunk object per chunk.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Chunks)]
    public void Reflection()
    {
        for (int i = 0; i < Chunks; i++)
        {
            var json = _sse.BeginJsonData();
            JsonSerializer.Serialize(json, StreamData.NewChunk(Token(i)), StreamData.ReflectionOptions);
            _sse.EndJsonData();
        }

        Flush();
    }

    /// <summary>Source-generated <see cref="JsonSerializer"/>, a new chunk object per chunk.</summary>
    [Benchmark(OperationsPerInvoke = Chunks)]
    public void SourceGenerated()
    {
        for (int i = 0; i < Chunks; i++)
        {
            var json = _sse.BeginJsonData();
            JsonSerializer.Serialize(json, StreamData.NewChunk(Token(i)), ChunkJsonContext.Default.ChatCompletionChunk);
            _sse.EndJsonData();
        }

        Flush();
    }

    /// <summary>Source-generated <see cref="JsonSerializer"/> over one chunk object whose content changes.</summary>
    [Benchmark(OperationsPerInvoke = Chunks)]
    public void SourceGeneratedReusedObject()
    {
        for (int i = 0; i < Chunks; i++)
        {
            _reused.Choices[0].Delta.Content = Token(i);
            var json = _sse.BeginJsonData();
            JsonSerializer.Serialize(json, _reused, ChunkJsonContext.Default.ChatCompletionChunk);
            _sse.EndJsonData();
        }

        Flush();
    }

    /// <summary>Ours: ChunkWriter, field by field, no object.</summary>
    [Benchmark(OperationsPerInvoke = Chunks)]
    public void ChunkWriter()
    {
        for (int i = 0; i < Chunks; i++)
        {
            _chunks.WriteContent(Token(i));
        }

        Flush();
    }

    /// <summary>Empties the buffer, as a flush to the network would, through the writer as the server does.</summary>
    private void Flush() => _sse.FlushAsync().GetAwaiter().GetResult();

    private static string Token(int i) => StreamData.Tokens[i % StreamData.Tokens.Length];

    /// <summary>Fails the run unless every contender writes the same bytes.</summary>
    private void VerifySameBytes()
    {
        string ours = Capture(ChunkWriter);
        foreach (var other in new Action[] { Reflection, SourceGenerated, SourceGeneratedReusedObject })
        {
            string theirs = Capture(other);
            if (theirs != ours)
            {
                throw new InvalidOperationException($"{other.Method.Name} writes other bytes than ours:\n{theirs}\n{ours}");
            }
        }
    }

    private string Capture(Action write)
    {
        // Each contender ends with a flush, which empties the buffer: capture them in a writer whose flush keeps them.
        var output = new BufferPipeWriter(keepOnFlush: true);
        var sse = new ServerSentEventWriter(output);
        var chunks = new ChunkWriter(sse, CompletionKind.Chat, StreamData.Id, StreamData.Created, StreamData.Model);
        (var savedSse, var savedChunks) = (_sse, _chunks);
        (_sse, _chunks) = (sse, chunks);
        try
        {
            write();
            return Encoding.UTF8.GetString(output.WrittenSpan);
        }
        finally
        {
            (_sse, _chunks) = (savedSse, savedChunks);
        }
    }
}
