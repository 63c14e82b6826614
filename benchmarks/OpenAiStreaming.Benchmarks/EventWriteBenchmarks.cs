using System.Buffers;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// One content chunk (<c>data: {chat.completion.chunk}\n\n</c>, a delta of a few characters) written to a
/// <see cref="Pipe"/> and flushed, the way each of three endpoints does it: ours (ChunkWriter over
/// ServerSentEventWriter, as ChatCompletionEncoder streams), the framework's <see cref="SseFormatter"/> (what
/// <c>TypedResults.ServerSentEvents</c> runs), and a hand-written endpoint that concatenates strings (the baseline).
/// </summary>
/// <remarks>
/// Every invocation writes <see cref="Events"/> events, flushing every <see cref="EventsPerFlush"/>, and the pipe's
/// reader is drained after each flush, so the pipe stays small and the figures are per event. The alternatives build a
/// new chunk object per event, as such endpoints do, and use the source-generated serializer, so the serializer is not
/// what differs (<see cref="ChunkSerializationBenchmarks"/> compares serializers). <see cref="SseFormatter"/> flushes
/// after every event whatever <see cref="EventsPerFlush"/> says: it cannot batch.
/// </remarks>
[MemoryDiagnoser]
public class EventWriteBenchmarks
{
    private const int Events = 64;

    private readonly Pipe _pipe = new();
    private readonly Utf8JsonWriter _sseFormatterJson = new(Stream.Null, StreamData.WriterOptions);
    private ServerSentEventWriter _sse = null!;
    private ChunkWriter _chunks = null!;
    private Stream _stream = null!;
    private Action<SseItem<ChatCompletionChunk>, IBufferWriter<byte>> _typedResultsFormatter = null!;
    private Action<SseItem<ChatCompletionChunk>, IBufferWriter<byte>> _utf8JsonFormatter = null!;

    /// <summary>Where <see cref="Drain"/> keeps what it reads while the setup compares the contenders; null when timed.</summary>
    private StringBuilder? _record;

    /// <summary>Events written between two flushes: 1 is the live token-by-token case.</summary>
    [Params(1, 8)]
    public int EventsPerFlush { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _sse = new ServerSentEventWriter(_pipe.Writer);
        _chunks = new ChunkWriter(_sse, CompletionKind.Chat, StreamData.Id, StreamData.Created, StreamData.Model);
        _stream = _pipe.Writer.AsStream(leaveOpen: true);

        // As TypedResults.ServerSentEvents formats an object: serialize to a string, then encode it.
        _typedResultsFormatter = static (item, writer) =>
            writer.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(item.Data, ChunkJsonContext.Default.ChatCompletionChunk)));

        // SseFormatter at its best: the serializer writes UTF-8 straight into the formatter's buffer.
        _utf8JsonFormatter = (item, writer) =>
        {
            _sseFormatterJson.Reset(writer);
            JsonSerializer.Serialize(_sseFormatterJson, item.Data, ChunkJsonContext.Default.ChatCompletionChunk);
        };

        VerifySameBytes();
    }

    /// <summary>The hand-written endpoint: <c>"data: " + JsonSerializer.Serialize(chunk) + "\n\n"</c>, encoded into the pipe.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public async Task StringConcatenation()
    {
        for (int i = 0; i < Events; i++)
        {
            var chunk = StreamData.NewChunk(Token(i));
            string line = "data: " + JsonSerializer.Serialize(chunk, ChunkJsonContext.Default.ChatCompletionChunk) + "\n\n";
            Encoding.UTF8.GetBytes(line, _pipe.Writer);
            if ((i + 1) % EventsPerFlush == 0)
            {
                await FlushAndDrainAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary><see cref="SseFormatter"/> with the item formatter <c>TypedResults.ServerSentEvents</c> uses for objects.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public Task SseFormatterTypedResults() => SseFormatter.WriteAsync(DrainingItems(), _stream, _typedResultsFormatter);

    /// <summary><see cref="SseFormatter"/> with a reused <see cref="Utf8JsonWriter"/> serializing into its buffer.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public Task SseFormatterUtf8Json() => SseFormatter.WriteAsync(DrainingItems(), _stream, _utf8JsonFormatter);

    /// <summary>Ours: ChunkWriter over ServerSentEventWriter, UTF-8 field by field straight into the pipe.</summary>
    [Benchmark(OperationsPerInvoke = Events)]
    public async Task ServerSentEventWriter()
    {
        for (int i = 0; i < Events; i++)
        {
            _chunks.WriteContent(Token(i));
            if ((i + 1) % EventsPerFlush == 0)
            {
                await _sse.FlushAsync().ConfigureAwait(false);
                Drain();
            }
        }
    }

    private static string Token(int i) => StreamData.Tokens[i % StreamData.Tokens.Length];

    /// <summary>The events for <see cref="SseFormatter"/>; drains what the formatter wrote and flushed for the previous one.</summary>
    private async IAsyncEnumerable<SseItem<ChatCompletionChunk>> DrainingItems()
    {
        for (int i = 0; i < Events; i++)
        {
            yield return new SseItem<ChatCompletionChunk>(StreamData.NewChunk(Token(i)));
            Drain();
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private async ValueTask FlushAndDrainAsync()
    {
        await _pipe.Writer.FlushAsync().ConfigureAwait(false);
        Drain();
    }

    private void Drain()
    {
        if (_pipe.Reader.TryRead(out var result))
        {
            if (_record is not null)
            {
                _record.Append(Encoding.UTF8.GetString(result.Buffer));
            }

            _pipe.Reader.AdvanceTo(result.Buffer.End);
        }
    }

    /// <summary>Fails the run unless every contender writes the same bytes for the same events.</summary>
    private void VerifySameBytes()
    {
        string ours = Capture(ServerSentEventWriter);
        foreach (var other in new Func<Task>[] { StringConcatenation, SseFormatterTypedResults, SseFormatterUtf8Json })
        {
            string theirs = Capture(other);
            if (theirs != ours)
            {
                throw new InvalidOperationException($"{other.Method.Name} writes other bytes than ours:\n{theirs}\n{ours}");
            }
        }
    }

    private string Capture(Func<Task> write)
    {
        _record = new StringBuilder();
        write().GetAwaiter().GetResult();
        Drain();
        string written = _record.ToString();
        _record = null;
        return written;
    }
}
