namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class ReportCommandsTests : IDisposable
{
    private readonly ResultsFolder _results = new();

    public void Dispose() => _results.Dispose();

    [Fact]
    public async Task Median_PrintsTheMedianForRunSh()
    {
        _results.Run("ours-streams-100.r1", itl: ResultsFolder.Ms(50, 61.5));
        _results.Run("ours-streams-100.r2", itl: ResultsFolder.Ms(50, 54.25));
        _results.Run("ours-streams-100.r3", itl: ResultsFolder.Ms(50, 55));
        var output = new StringWriter();

        var parse = LoadGeneratorCommand.Create().Parse(["median", _results.Path, "ours-streams-100", "itl_ms.p99"]);
        parse.InvocationConfiguration.Output = output;
        int exit = await parse.InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, exit);
        Assert.Equal("55\n", output.ToString().ReplaceLineEndings("\n"));
        Assert.True(File.Exists(_results.File("ours-streams-100.json")));
    }

    [Fact]
    public async Task Paired_PrintsOursOverTheBuiltinRoundByRound()
    {
        // Round by round 50/40, 60/50 and 40/50; round 4 has no built-in run and does not count.
        _results.Rounds("ours-streams-2000", [50, 60, 40, 70], (name, p99) => _results.Run(name, itl: ResultsFolder.Ms(50, p99)));
        _results.Rounds("builtin-streams-2000", [40, 50, 50], (name, p99) => _results.Run(name, itl: ResultsFolder.Ms(50, p99)));

        var output = new StringWriter();
        var parse = LoadGeneratorCommand.Create().Parse(["paired", _results.Path, "streams-2000", "itl_ms.p99"]);
        parse.InvocationConfiguration.Output = output;
        int exit = await parse.InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, exit);
        Assert.Equal("itl_ms.p99 of streams-2000: 1.063× (95% CI 0.576–1.962) over 3 rounds; ours lower in 1\n", output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Paired_NoRounds_FailsAndSaysSo()
    {
        _results.Run("ours-streams-2000.r1", itl: ResultsFolder.Ms(50, 60));
        var output = new StringWriter();
        var parse = LoadGeneratorCommand.Create().Parse(["paired", _results.Path, "streams-2000", "itl_ms.p99"]);
        parse.InvocationConfiguration.Output = output;

        Assert.Equal(1, await parse.InvokeAsync(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("fewer than two rounds of both", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_WritesThePageAndPlots()
    {
        _results.Run("builtin-saturation-64", tokens: 100_000);
        using var docs = new ResultsFolder();

        int exit = await LoadGeneratorCommand.Create().Parse(["report", _results.Path, docs.Path]).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(0, exit);
        Assert.Contains("| builtin | 100,000 |", await File.ReadAllTextAsync(docs.File("benchmarks.md"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.True(File.Exists(docs.File("benchmarks/throughput.png")));
    }
}
