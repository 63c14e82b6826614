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
