using System.Text.Json.Nodes;
using OpenAiStreaming.LoadGenerator.Reporting;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class RoundMedianTests : IDisposable
{
    private readonly ResultsFolder _results = new();

    public void Dispose() => _results.Dispose();

    [Fact]
    public void Pick_ThreeRounds_CopiesTheMedianRoundWithItsSteal()
    {
        _results.Run("ours-saturation-64.r1", tokens: 300);
        _results.Run("ours-saturation-64.r2", tokens: 100);
        _results.Run("ours-saturation-64.r3", tokens: 200);
        _results.Write("ours-saturation-64.r3.steal", "7");

        double median = RoundMedian.Pick(_results.Path, "ours-saturation-64", "tokens_per_s");

        Assert.Equal(200, median);
        Assert.Equal(File.ReadAllText(_results.File("ours-saturation-64.r3.json")), File.ReadAllText(_results.File("ours-saturation-64.json")));
        Assert.Equal("7", File.ReadAllText(_results.File("ours-saturation-64.steal")));
        var rounds = JsonNode.Parse(File.ReadAllText(_results.File("ours-saturation-64.rounds.json")))!;
        Assert.Equal("tokens_per_s", rounds["key"]!.GetValue<string>());
        Assert.Equal([100.0, 200.0, 300.0], rounds["values"]!.AsArray().Select(v => v!.GetValue<double>()));
    }

    [Fact]
    public void Pick_EvenCount_TakesTheUpperOfTheTwoMiddleRounds()
    {
        foreach (int round in (int[])[1, 2, 3, 4])
        {
            _results.Run($"a.r{round}", tokens: round * 10);
        }

        Assert.Equal(30, RoundMedian.Pick(_results.Path, "a", "tokens_per_s"));
    }

    [Fact]
    public void Pick_RoundsWithoutTheFigure_CountAsInfinitelyBad()
    {
        _results.Run("ours-storm.r1", cancel: ResultsFolder.Ms(1, 9));
        _results.Run("ours-storm.r2");
        _results.Run("ours-storm.r3");
        Assert.Equal(double.PositiveInfinity, RoundMedian.Pick(_results.Path, "ours-storm", "cancel_ms.p99"));
        Assert.Equal("inf", RoundMedian.Format(double.PositiveInfinity));
        Assert.Equal("""{"key":"cancel_ms.p99","values":[9,null,null]}""", File.ReadAllText(_results.File("ours-storm.rounds.json")));
    }

    [Fact]
    public void Pick_OneRound_CopiesItsMemoryRecord()
    {
        _results.Run("ours-memory-500.r1", tokens: 8);
        _results.Write("ours-memory-500.r1.rss.json", """{"peak_rss_kib": 1}""");

        Assert.Equal(8, RoundMedian.Pick(_results.Path, "ours-memory-500", "tokens_per_s"));
        Assert.Equal("""{"peak_rss_kib": 1}""", File.ReadAllText(_results.File("ours-memory-500.rss.json")));
    }

    [Fact]
    public void Pick_NoRound_Throws()
    {
        _results.Run("ours-ttft-1");

        Assert.Throws<FileNotFoundException>(() => RoundMedian.Pick(_results.Path, "ours-ttft-1", "ttft_ms.p50"));
    }

    [Theory]
    [InlineData(54.3, "54.3")]
    [InlineData(60, "60")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    public void Format_ReadsBackAsTheSameNumber(double value, string expected)
    {
        Assert.Equal(expected, RoundMedian.Format(value));
    }
}
