using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Reporting;
using OpenAiStreaming.LoadGenerator.Running;
using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class ResultJsonTests
{
    internal static LoadResult Sample(string? server = null, Summary? cancel = null, ServerWindow? window = null) => new()
    {
        Label = "ours",
        BaseUrl = "http://127.0.0.1:8000/",
        Model = "m",
        Concurrency = 4,
        MaxTokens = 16,
        RequestsSent = 10,
        RequestsOk = 9,
        RequestsAborted = 0,
        Errors = 1,
        ErrorSamples = ["HTTP 500 Internal Server Error: boom"],
        DurationS = 2,
        Events = 144,
        Tokens = 150,
        TtftMs = Summary.Of(new double[] { 1, 2, 3 }),
        ItlMs = Summary.Of(new double[] { 0.5, 1.5 }),
        TpotMs = Summary.Empty,
        E2eMs = Summary.Of(new double[] { 10 }),
        CancelMs = cancel,
        CancelUnmatched = cancel is null ? null : 2,
        ServerJson = server,
        LeftRunning = server is null ? null : 0,
        Server = window,
        ItlHistogram = [(0.501187, 1), (0.630957, 0)],
    };

    private static JsonElement Write(LoadResult result)
    {
        using var stream = new MemoryStream();
        ResultJson.Write(result, stream);
        using var document = JsonDocument.Parse(stream.ToArray());
        return document.RootElement.Clone();
    }

    [Fact]
    public void Write_EveryProtocolField_WithItsType()
    {
        var json = Write(Sample());

        string[] protocol = ["label", "base_url", "model", "concurrency", "requests_sent", "requests_ok", "errors", "error_samples",
            "duration_s", "events", "tokens", "events_per_s", "tokens_per_s", "ttft_ms", "itl_ms", "tpot_ms", "e2e_ms",
            "cancel_ms", "server", "itl_histogram"];
        foreach (string name in protocol)
        {
            Assert.True(json.TryGetProperty(name, out _), $"missing {name}");
        }

        Assert.Equal("ours", json.GetProperty("label").GetString());
        Assert.Equal(10, json.GetProperty("requests_sent").GetInt32());
        Assert.Equal("HTTP 500 Internal Server Error: boom", json.GetProperty("error_samples")[0].GetString());
        Assert.Equal(72, json.GetProperty("events_per_s").GetDouble());
        Assert.Equal(75, json.GetProperty("tokens_per_s").GetDouble());
        var ttft = json.GetProperty("ttft_ms");
        Assert.Equal(2, ttft.GetProperty("p50").GetDouble());
        Assert.Equal(2.8, ttft.GetProperty("p90").GetDouble(), 9);
        Assert.Equal(3, ttft.GetProperty("max").GetDouble());
        Assert.Equal(2, ttft.GetProperty("mean").GetDouble());
        Assert.Equal(3, ttft.GetProperty("count").GetInt32());
        Assert.Equal(0, json.GetProperty("tpot_ms").GetProperty("count").GetInt32());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("cancel_ms").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("server").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("left_running").ValueKind);
        Assert.Equal(0.501187, json.GetProperty("itl_histogram")[0][0].GetDouble());
        Assert.Equal(1, json.GetProperty("itl_histogram")[0][1].GetInt32());
        Assert.Equal("linear", json.GetProperty("percentile_method").GetString());
    }

    [Fact]
    public void Write_PeerStatsAndCancellations_ServerEmbeddedAsIs()
    {
        var json = Write(Sample("""{"impl":"ours","active":0,"cancellations":[{"id":"a-1","stopped_ns":5}]}""", Summary.Of(new double[] { 0.25 })));

        Assert.Equal("ours", json.GetProperty("server").GetProperty("impl").GetString());
        Assert.Equal("a-1", json.GetProperty("server").GetProperty("cancellations")[0].GetProperty("id").GetString());
        Assert.Equal(0.25, json.GetProperty("cancel_ms").GetProperty("p99").GetDouble());
        Assert.Equal(2, json.GetProperty("cancel_unmatched").GetInt32());
        Assert.Equal(0, json.GetProperty("left_running").GetInt32());
    }

    [Fact]
    public void Write_ServerWindow_TheTwoAnswersDifference()
    {
        var before = BenchStats.Parse("""{"active":0,"cpu_ms":1500,"thread_pool_work_items":100,"jit_ms":900}""");
        var after = BenchStats.Parse("""{"active":0,"cpu_ms":4000,"thread_pool_work_items":350,"jit_ms":950}""");
        var fastApi = BenchStats.Parse("""{"active":0}""");

        var window = Write(Sample(window: ServerWindow.Between(before, after))).GetProperty("server_window");
        var without = Write(Sample(window: ServerWindow.Between(fastApi, fastApi))).GetProperty("server_window");

        Assert.Equal(2.5, window.GetProperty("cpu_s").GetDouble(), 9);
        Assert.Equal(250, window.GetProperty("work_items").GetDouble());
        Assert.Equal(0.05, window.GetProperty("jit_s").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, without.GetProperty("cpu_s").ValueKind);
        Assert.Equal(JsonValueKind.Null, Write(Sample()).GetProperty("server_window").ValueKind);
        Assert.Null(ServerWindow.Between(null, after));
    }

    [Fact]
    public void ResultTable_Write_RowsAndTotals()
    {
        using var writer = new StringWriter();

        ResultTable.Write(Sample("""{"impl":"ours","active":0,"rss_bytes":10485760}""", Summary.Of(new double[] { 0.25 })), writer);

        string text = writer.ToString();
        Assert.Contains("TTFT", text, StringComparison.Ordinal);
        Assert.Matches(@"TTFT\s+2\.000\s+2\.800\s+2\.980\s+3\.000\s+2\.000\s+3", text);
        Assert.Matches(@"TPOT\s+-", text);
        Assert.Matches(@"cancel\s+0\.250", text);
        Assert.Contains("10 sent, 9 ok, 1 errors", text, StringComparison.Ordinal);
        Assert.Contains("impl=ours active=0 rss_bytes=10.0 MiB, left running 0", text, StringComparison.Ordinal);
        Assert.Contains("2 aborted requests have no cancellation record", text, StringComparison.Ordinal);
        Assert.Contains("error     HTTP 500 Internal Server Error: boom", text, StringComparison.Ordinal);
    }
}
