using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Reporting;
using OpenAiStreaming.LoadGenerator.Running;
using OpenAiStreaming.LoadGenerator.Tests.Infrastructure;

namespace OpenAiStreaming.LoadGenerator.Tests.Running;

/// <summary>The runner against a real Kestrel serving a known schedule.</summary>
public sealed class LoadRunnerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(LoadResult Result, string RunId)> RunAsync(ScriptedServer server, LoadOptions options)
    {
        using var runner = new LoadRunner(options with { BaseUrl = server.BaseAddress });
        var result = await runner.RunAsync(Ct);
        return (result, runner.RunId);
    }

    private static LoadOptions Options(int concurrency, int requests) => new()
    {
        Model = ScriptedServer.ModelId,
        Concurrency = concurrency,
        Requests = requests,
        SettleTimeout = TimeSpan.FromSeconds(5),
        RequestTimeout = TimeSpan.FromSeconds(20),
    };

    [Fact]
    public async Task RunAsync_EveryRequest_UniqueBenchIdAndTheProtocolBody()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 3 });

        var (result, runId) = await RunAsync(server, Options(4, 10) with { MaxTokens = 3, Prompt = "hi there" });

        Assert.Equal(0, result.Errors);
        var ids = server.BenchIds.ToArray();
        Assert.Equal(10, ids.Length);
        Assert.Equal(10, ids.Distinct().Count());
        Assert.All(ids, id => Assert.StartsWith(runId + "-", id, StringComparison.Ordinal));
        using var body = JsonDocument.Parse(server.Bodies.First());
        var root = body.RootElement;
        Assert.Equal(ScriptedServer.ModelId, root.GetProperty("model").GetString());
        Assert.Equal("user", root.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Equal("hi there", root.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(3, root.GetProperty("max_tokens").GetInt32());
        Assert.True(root.GetProperty("stream").GetBoolean());
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task RunAsync_NoUsageAndExtraBody_TokensCountedAsEventsAndFieldsMerged()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 5 });

        var (result, _) = await RunAsync(server, Options(2, 2) with { IncludeUsage = false, ExtraBody = """{"ignore_eos":true,"max_tokens":5}""" });

        Assert.Equal(0, result.Errors);
        Assert.Equal(10, result.Events);
        Assert.Equal(10, result.Tokens);
        using var body = JsonDocument.Parse(server.Bodies.First());
        Assert.False(body.RootElement.TryGetProperty("stream_options", out _));
        Assert.True(body.RootElement.GetProperty("ignore_eos").GetBoolean());
        Assert.Equal(5, body.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task RunAsync_NoModelGiven_TakesTheFirstListed()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 2 });

        var (result, _) = await RunAsync(server, Options(1, 1) with { Model = null });

        Assert.Equal(ScriptedServer.ModelId, result.Model);
        Assert.Equal(0, result.Errors);
    }

    [Fact]
    public async Task RunAsync_EventsAfterDone_Ignored()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 4, Ending = Ending.DoneThenMore });

        var (result, _) = await RunAsync(server, Options(1, 2));

        Assert.Equal(0, result.Errors);
        Assert.Equal(2, result.RequestsOk);
        Assert.Equal(8, result.Events);
    }

    [Theory]
    [InlineData(Ending.NoDone, "stream ended without data: [DONE] after 4 content events")]
    [InlineData(Ending.Abort, "connection lost after 4 content events")]
    [InlineData(Ending.ErrorEvent, "error event: backend exploded")]
    public async Task RunAsync_TruncatedOrFailedStream_CountedAsError(Ending ending, string message)
    {
        // One stream at a time, so that the k-th abort can wait until the client has read 4k tokens.
        LoadRunner? client = null;
        int aborts = 0;
        await using var server = await ScriptedServer.StartAsync(new Script
        {
            Tokens = 4,
            Ending = ending,
            BeforeAbort = async () =>
            {
                long read = 4L * Interlocked.Increment(ref aborts);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (client!.Progress().Events < read && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(5, Ct);
                }
            },
        });
        using var runner = new LoadRunner(Options(1, 4) with { BaseUrl = server.BaseAddress });
        client = runner;

        var result = await runner.RunAsync(Ct);

        Assert.Equal(4, result.Errors);
        Assert.Equal(0, result.RequestsOk);
        Assert.Equal(0, result.E2eMs.Count);
        Assert.Equal(16, result.Events);
        var sample = Assert.Single(result.ErrorSamples);
        Assert.StartsWith(message, sample, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ClientError_CountedWithTheServersMessage()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Status = 400 });

        var (result, _) = await RunAsync(server, Options(2, 3));

        Assert.Equal(3, result.Errors);
        Assert.Equal(0, result.RequestsOk);
        Assert.Equal(0, result.TtftMs.Count);
        Assert.Equal("HTTP 400 Bad Request: max_tokens is too large", Assert.Single(result.ErrorSamples));
    }

    [Fact]
    public async Task RunAsync_NoServer_NetworkErrors()
    {
        var options = Options(1, 2) with { BaseUrl = new Uri("http://127.0.0.1:1") };
        using var runner = new LoadRunner(options);

        var result = await runner.RunAsync(Ct);

        Assert.Equal(2, result.Errors);
        Assert.StartsWith("request failed", Assert.Single(result.ErrorSamples), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AbortAfterEvents_AbortsRecordedAndMatchedWithTheServersCancellations()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 5000, Interval = TimeSpan.FromMilliseconds(2), BenchEndpoints = true });

        var (result, _) = await RunAsync(server, Options(4, 8) with { AbortAfterEvents = 3 });

        Assert.Equal(0, result.Errors);
        Assert.Equal(8, result.RequestsOk);
        Assert.Equal(8, result.RequestsAborted);
        // Events that arrive in the same read as the third are received too.
        Assert.InRange(result.Events, 24, 8 * 100);
        Assert.Equal(1, server.Resets);
        Assert.Equal(0, result.LeftRunning);
        Assert.Equal(0, result.CancelUnmatched);
        var cancel = Assert.NotNull(result.CancelMs);
        Assert.Equal(8, cancel.Count);
        Assert.True(cancel.Min >= 0, $"a generation stopped {cancel.Min} ms before the client aborted it");
        Assert.True(cancel.Max < 5000, $"cancellation took {cancel.Max} ms");
        Assert.NotNull(result.ServerJson);
        using var stats = JsonDocument.Parse(result.ServerJson);
        Assert.Equal(8, stats.RootElement.GetProperty("cancelled").GetInt32());
    }

    [Fact]
    public async Task RunAsync_AbortsWithoutServerRecords_CountedAsUnmatched()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 5000, Interval = TimeSpan.FromMilliseconds(2), BenchEndpoints = true, ListCancellations = false });

        var (result, _) = await RunAsync(server, Options(3, 3) with { AbortAfterEvents = 2 });

        Assert.Equal(3, result.RequestsAborted);
        Assert.Equal(3, result.CancelUnmatched);
        Assert.Equal(0, Assert.NotNull(result.CancelMs).Count);
    }

    [Fact]
    public async Task RunAsync_Warmup_NotMeasuredAndServerResetAfterIt()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 2, BenchEndpoints = true });

        var (result, _) = await RunAsync(server, Options(2, 4) with { Warmup = 3 });

        Assert.Equal(4, result.RequestsSent);
        Assert.Equal(7, server.BenchIds.Count);
        using var stats = JsonDocument.Parse(result.ServerJson!);
        Assert.Equal(4, stats.RootElement.GetProperty("started").GetInt32());
    }

    [Fact]
    public async Task RunAsync_Duration_WorkersLoopUntilTimeIsUp()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 3, Interval = TimeSpan.FromMilliseconds(5) });

        var (result, _) = await RunAsync(server, Options(2, 1) with { Requests = null, Duration = TimeSpan.FromMilliseconds(400), Warmup = 2 });

        Assert.Equal(0, result.Errors);
        Assert.True(result.RequestsSent > 4, $"only {result.RequestsSent} requests in 400 ms");
        Assert.True(result.DurationS >= 0.4, $"ran {result.DurationS} s");
        Assert.Equal(result.RequestsSent * 3, result.Events);
    }

    [Fact]
    public async Task RunAsync_RampUp_SpreadsTheWorkersStarts()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 1 });

        var (result, _) = await RunAsync(server, Options(4, 4) with { RampUp = TimeSpan.FromMilliseconds(400), Warmup = 1 });

        Assert.Equal(0, result.Errors);
        // 300 ms less a little: timers may fire a fraction of a millisecond early.
        Assert.True(result.DurationS >= 0.28, $"the last of 4 workers should start 300 ms in; the run took {result.DurationS} s");
    }

    [Fact]
    public async Task RunAsync_Stopped_InterruptedRequestsNotMeasured()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 5000, Interval = TimeSpan.FromMilliseconds(2) });
        using var runner = new LoadRunner(Options(2, 2) with { BaseUrl = server.BaseAddress });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var run = runner.RunAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (runner.Progress().Events < 10 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Ct);
        }

        await stop.CancelAsync();
        var result = await run;

        Assert.Equal(2, result.Interrupted);
        Assert.Equal(0, result.Errors);
        Assert.Equal(0, result.Events);
        Assert.Equal(0, result.ItlMs.Count);
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var exception = Assert.Throws<ArgumentException>(() => new LoadRunner(new LoadOptions { Concurrency = 0 }));

        Assert.Contains("--concurrency", exception.Message, StringComparison.Ordinal);
    }
}
