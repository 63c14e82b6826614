using System.Buffers.Binary;
using OpenAiStreaming.LoadGenerator.Reporting;
using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

/// <summary>A temporary results folder of benchmarks/run.sh, its runs written by the load generator's own <see cref="ResultJson"/>.</summary>
internal sealed class ResultsFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("loadgen-report-").FullName;

    /// <summary>Writes NAME.json: a one-second run, so tokens and events are also the rates.</summary>
    public void Run(string name, long tokens = 1000, long? events = null, Summary? ttft = null, Summary? itl = null, Summary? cancel = null,
        int errors = 0, IReadOnlyList<(double UpperBoundMs, long Count)>? itlHistogram = null) =>
        ResultJson.WriteFile(new LoadResult
        {
            Label = name,
            BaseUrl = "http://127.0.0.1:5000/",
            Model = "synthetic",
            Concurrency = 1,
            MaxTokens = 1000,
            AbortAfterEvents = cancel is null ? null : 1,
            RequestsSent = 10,
            RequestsOk = 10 - errors,
            RequestsAborted = cancel is null ? 0 : 10,
            Errors = errors,
            ErrorSamples = [],
            DurationS = 1,
            Events = events ?? tokens,
            Tokens = tokens,
            TtftMs = ttft ?? Ms(1, 2),
            ItlMs = itl ?? Ms(0.01, 0.05),
            TpotMs = Summary.Empty,
            E2eMs = Ms(10, 20),
            CancelMs = cancel,
            CancelUnmatched = cancel is null ? null : 0,
            ServerJson = cancel is null ? null : """{"impl":"ours","active":0}""",
            LeftRunning = cancel is null ? null : 0,
            ItlHistogram = itlHistogram ?? [],
        }, File(name + ".json"));

    /// <summary>Writes NAME.r1.json, NAME.r2.json, … one round per value, each by <paramref name="run"/> (its name, its value).</summary>
    public void Rounds(string name, IReadOnlyList<double> values, Action<string, double> run)
    {
        for (int i = 0; i < values.Count; i++)
        {
            run($"{name}.r{i + 1}", values[i]);
        }
    }

    /// <summary>Writes a file of the folder.</summary>
    public void Write(string fileName, string text) => System.IO.File.WriteAllText(File(fileName), text);

    public string File(string fileName) => System.IO.Path.Combine(Path, fileName);

    public void Dispose() => Directory.Delete(Path, recursive: true);

    /// <summary>A latency summary with the given median and 99th percentile.</summary>
    public static Summary Ms(double p50, double p99) => new(p50, (p50 + p99) / 2, p99, p99 * 1.5, p50, 100, p50 / 2);

    /// <summary>The width and height in a PNG's header.</summary>
    public static (int Width, int Height) PngSize(string path)
    {
        byte[] png = System.IO.File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }
}
