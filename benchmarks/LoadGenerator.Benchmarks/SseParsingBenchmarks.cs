using System.Net.ServerSentEvents;
using BenchmarkDotNet.Attributes;
using OpenAiStreaming.LoadGenerator.Sse;

namespace OpenAiStreaming.LoadGenerator.Benchmarks;

/// <summary>
/// One captured chat stream (about 1,000 events) parsed and classified the load generator's way (<see cref="SseScanner"/>
/// reading straight into its own buffer) against <see cref="SseParser"/> with an item parser that classifies each
/// event's bytes, so that both do the same work per event. The body arrives in reads of <see cref="ReadSize"/> bytes:
/// about one event per read (a live stream, token by token) or many (a stream that is ahead of its reader).
/// </summary>
[MemoryDiagnoser]
public class SseParsingBenchmarks
{
    private byte[] _body = [];
    private SseScanner _scanner = null!;
    private CappedReadStream _stream = null!;

    /// <summary>The most bytes one read returns.</summary>
    [Params(256, 16384)]
    public int ReadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using var resource = typeof(SseParsingBenchmarks).Assembly.GetManifestResourceStream("chat-stream.sse")!;
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        _body = copy.ToArray();
        _scanner = new SseScanner();
        _stream = new CappedReadStream(_body, ReadSize);

        int scanned = Scanner(), parsed = Parser(), parsedAsync = ParserAsync().GetAwaiter().GetResult();
        if (scanned != parsed || parsed != parsedAsync || scanned < 900)
        {
            throw new InvalidOperationException($"content events: scanner {scanned}, parser {parsed}, async parser {parsedAsync}");
        }
    }

    /// <summary>The load generator's scanner, reused from stream to stream as each worker reuses its own.</summary>
    /// <returns>The content events.</returns>
    [Benchmark(Baseline = true)]
    public int Scanner()
    {
        _scanner.Reset();
        _stream.Rewind();
        int contentEvents = 0;
        int read;
        while ((read = _stream.Read(_scanner.GetReadBuffer().Span)) > 0)
        {
            contentEvents += _scanner.Advance(read).ContentEvents;
        }

        return contentEvents;
    }

    /// <summary><see cref="SseParser"/>, enumerated synchronously.</summary>
    /// <returns>The content events.</returns>
    [Benchmark]
    public int Parser()
    {
        _stream.Rewind();
        int contentEvents = 0;
        foreach (var item in SseParser.Create(_stream, Classify).Enumerate())
        {
            contentEvents += item.Data.ContentEvents;
        }

        return contentEvents;
    }

    /// <summary><see cref="SseParser"/>, enumerated as the generator reads a response body: asynchronously.</summary>
    /// <returns>The content events.</returns>
    [Benchmark]
    public async Task<int> ParserAsync()
    {
        _stream.Rewind();
        int contentEvents = 0;
        await foreach (var item in SseParser.Create(_stream, Classify).EnumerateAsync())
        {
            contentEvents += item.Data.ContentEvents;
        }

        return contentEvents;
    }

    private static SseBatch Classify(string eventType, ReadOnlySpan<byte> data)
    {
        var batch = SseBatch.Empty;
        ChunkClassifier.Classify(data, ref batch);
        return batch;
    }
}
