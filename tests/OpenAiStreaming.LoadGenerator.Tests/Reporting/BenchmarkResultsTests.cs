using System.Text.Json.Nodes;
using OpenAiStreaming.LoadGenerator.Reporting;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class BenchmarkResultsTests : IDisposable
{
    private readonly ResultsFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Number_DottedPath_NullWhereAnythingIsMissing()
    {
        var result = JsonNode.Parse("""{"itl_ms":{"p99":54.5},"cancel_ms":null,"errors":0}""");

        Assert.Equal(54.5, BenchmarkResults.Number(result, "itl_ms.p99"));
        Assert.Equal(0, BenchmarkResults.Number(result, "errors"));
        Assert.Null(BenchmarkResults.Number(result, "cancel_ms.p99"));
        Assert.Null(BenchmarkResults.Number(result, "ttft_ms.p50"));
        Assert.Null(BenchmarkResults.Number(null, "errors"));
    }

    [Fact]
    public void Load_MissingRun_Null()
    {
        _folder.Run("ours-ttft-1", tokens: 5);
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal(5, BenchmarkResults.Number(results.Load("ours-ttft-1"), "tokens_per_s"));
        Assert.Null(results.Load("ours-ttft-100"));
    }

    [Fact]
    public void Spread_SmallestToLargestRound_EmptyForOneRound()
    {
        _folder.Write("a.rounds.json", """{"key":"itl_ms.p99","values":[54.0,null,1057.4,55.25]}""");
        _folder.Write("b.rounds.json", """{"key":"itl_ms.p99","values":[54.0]}""");
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal("54.0–1,057", results.Spread("a"));
        Assert.Equal(string.Empty, results.Spread("b"));
        Assert.Equal(string.Empty, results.Spread("c"));
    }

    [Fact]
    public void Spread_Digits_AsTheFigureBesideIt()
    {
        // One-token TTFT rounds of 0.065 and 0.144 ms read "0.1–0.1" at one decimal.
        _folder.Write("ttft.rounds.json", """{"key":"ttft_ms.p50","values":[0.0654,0.1437,0.0981]}""");
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal("0.065–0.144", results.Spread("ttft", 3));
        Assert.Equal("0.1–0.1", results.Spread("ttft"));
    }

    [Fact]
    public void Steal_MedianAndWorstOfTheRounds_NotOfTheMedianCopies()
    {
        _folder.Write("a.r1.steal", "5\n");
        _folder.Write("a.r2.steal", "15");
        _folder.Write("b.r1.steal", "");
        _folder.Write("a.steal", "99");
        var results = new BenchmarkResults(_folder.Path);

        using var empty = new ResultsFolder();

        Assert.Equal((5, 15), results.Steal());
        Assert.Equal((null, null), new BenchmarkResults(empty.Path).Steal());
    }

    [Fact]
    public void RoundsAndRepeatedRuns_CountedFromFileNames()
    {
        _folder.Run("ours-saturation-64.r1");
        _folder.Run("ours-saturation-64.r2");
        _folder.Run("ours-saturation-64");
        _folder.Run("ours-saturation-640.r1");
        _folder.Run("ours-storm.r1.stolen1");
        _folder.Run("ours-storm.r1.stolen2");
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal([1, 2], results.RoundCounts("ours"));
        Assert.Empty(results.RoundCounts("builtin"));
        Assert.Equal(2, results.RepeatedRuns());
    }

    [Fact]
    public void StreamSteps_MedianRunsOnly_InOrder()
    {
        _folder.Run("ours-streams-500");
        _folder.Run("builtin-streams-100");
        _folder.Run("ours-streams-100");
        _folder.Run("ours-streams-1000.r1");

        Assert.Equal([100, 500], new BenchmarkResults(_folder.Path).StreamSteps());
    }

    [Fact]
    public void MemoryPerStream_SlopeBetweenFewestAndMostStreams()
    {
        _folder.Write("ours-memory-2500.rss.json", """{"baseline_rss_kib": 50000, "peak_rss_kib": 130000, "streams": 2500}""");
        _folder.Write("ours-memory-500.rss.json", """{"baseline_rss_kib": 50000, "peak_rss_kib": 80000, "streams": 500}""");
        _folder.Write("builtin-memory-500.rss.json", """{"peak_rss_kib": 1}""");
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal([500, 2500], results.MemorySteps("ours"));
        Assert.Equal(25, results.MemoryPerStream("ours"));
        Assert.Null(results.MemoryPerStream("builtin"));
    }

    [Fact]
    public void MemoryPerStream_InRounds_MedianRoundsSlopeSpreadAndEveryRoundsFailures()
    {
        // Each round's slope comes from its own two runs: 20, 40 and 30 KiB per stream.
        foreach (var (round, first, last) in (ReadOnlySpan<(int, int, int)>)[(1, 80000, 100000), (2, 90000, 130000), (3, 70000, 100000)])
        {
            _folder.Write($"ours-memory-500.r{round}.rss.json", $$"""{"peak_rss_kib": {{first}}, "streams": 500}""");
            _folder.Write($"ours-memory-1500.r{round}.rss.json", $$"""{"peak_rss_kib": {{last}}, "streams": 1500}""");
            _folder.Run($"ours-memory-1500.r{round}", errors: round == 2 ? 3 : 0);
        }

        // run.sh copies the round with the median errors as the un-rounded files; the slope must not come from them.
        _folder.Write("ours-memory-500.rss.json", """{"peak_rss_kib": 80000}""");
        _folder.Write("ours-memory-1500.rss.json", """{"peak_rss_kib": 100000}""");
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal(30, results.MemoryPerStream("ours"));
        Assert.Equal("20.0–40.0", results.MemorySpread("ours"));
        Assert.Equal(3, results.MemoryFailures("ours", 1500));
        Assert.Null(results.MemoryFailures("ours", 10000));
        Assert.Equal(string.Empty, results.MemorySpread("builtin"));
    }

    [Fact]
    public void PairedRatios_RoundKOfOursOverRoundKOfTheBuiltin_SortedOnlyRoundsBothHave()
    {
        // Ours' medians (round 2) over the built-in's (round 1) would be 60 / 50; round by round the ratios are 0.5, 1.2, 0.8.
        foreach (var (round, ours, builtin) in (ReadOnlySpan<(int, double, double)>)[(1, 40, 80), (2, 60, 50), (3, 80, 100)])
        {
            _folder.Run($"ours-streams-2000.r{round}", itl: ResultsFolder.Ms(50, ours));
            _folder.Run($"builtin-streams-2000.r{round}", itl: ResultsFolder.Ms(50, builtin));
        }

        // A fourth round the built-in lacks pairs with nothing.
        _folder.Run("ours-streams-2000.r4", itl: ResultsFolder.Ms(50, 1000));
        var results = new BenchmarkResults(_folder.Path);

        var ratios = results.PairedRatios("ours-streams-2000", "builtin-streams-2000", name => BenchmarkResults.Number(results.Load(name), "itl_ms.p99"));

        Assert.Equal([0.5, 0.8, 1.2], ratios);
        Assert.Empty(results.PairedRatios("ours-streams-500", "builtin-streams-500", name => BenchmarkResults.Number(results.Load(name), "itl_ms.p99")));
    }

    [Fact]
    public void PairedMemoryRatios_EachRoundsSlopeOverTheBuiltinsSameRound()
    {
        // Ours' slopes 20, 40 and 30 KiB per stream; the built-in's 40, 40 and 20.
        foreach (var (round, ours, builtin) in (ReadOnlySpan<(int, int, int)>)[(1, 20, 40), (2, 40, 40), (3, 30, 20)])
        {
            foreach (var (peer, slope) in (ReadOnlySpan<(string, int)>)[("ours", ours), ("builtin", builtin)])
            {
                _folder.Write($"{peer}-memory-500.r{round}.rss.json", """{"peak_rss_kib": 80000}""");
                _folder.Write($"{peer}-memory-1500.r{round}.rss.json", $$"""{"peak_rss_kib": {{80000 + (1000 * slope)}}}""");
                _folder.Run($"{peer}-memory-1500.r{round}");
                _folder.Write($"{peer}-memory-500.rss.json", """{"peak_rss_kib": 80000}""");
                _folder.Write($"{peer}-memory-1500.rss.json", """{"peak_rss_kib": 90000}""");
            }
        }

        var ratios = new BenchmarkResults(_folder.Path).PairedMemoryRatios();

        Assert.Equal([0.5, 1.0, 1.5], ratios);
    }

    [Fact]
    public void MedianCpuSeconds_MedianOfTheRoundsNotTheMedianCopys_CopyWithoutRounds()
    {
        foreach (var (round, cpu) in (ReadOnlySpan<(int, double)>)[(1, 5.0), (2, 3.0), (3, 4.0)])
        {
            _folder.Run($"ours-streams-500.r{round}");
            _folder.Write($"ours-streams-500.r{round}.cpu.json", $$"""{"cpu_s": {{cpu}}}""");
        }

        // run.sh copies the round with the median p99 gap, here round 1, whose CPU is not the median of the rounds'.
        _folder.Write("ours-streams-500.cpu.json", """{"cpu_s": 5.0}""");
        _folder.Write("builtin-streams-500.cpu.json", """{"cpu_s": 4.5}""");
        var results = new BenchmarkResults(_folder.Path);

        Assert.Equal(4.0, results.MedianCpuSeconds("ours-streams-500"));
        Assert.Equal(4.5, results.MedianCpuSeconds("builtin-streams-500"));
        Assert.Null(results.MedianCpuSeconds("ours-streams-200"));
    }
}
