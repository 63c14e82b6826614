using OpenAiStreaming.LoadGenerator.Reporting;

namespace OpenAiStreaming.LoadGenerator.Tests.Reporting;

public sealed class BenchmarkPlotsTests : IDisposable
{
    private readonly ResultsFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Throughput_ServerWithMissingPoints_StillDrawn()
    {
        string path = _folder.File("throughput.png");

        BenchmarkPlots.Throughput([("builtin", [(1, 85_541), (4, 89_153), (256, 173_029)]), ("ours", [(1, 486_244)])], path);

        Assert.Equal((BenchmarkPlots.Width, BenchmarkPlots.Height), ResultsFolder.PngSize(path));
    }

    [Fact]
    public void Gaps_MoreServers_MoreInk()
    {
        string one = _folder.File("one.png");
        string two = _folder.File("two.png");
        IReadOnlyList<(double, long)> histogram = [(0.5, 10), (1, 0), (50.1187, 80), (63.0957, 10)];

        BenchmarkPlots.Gaps(500, [("builtin", histogram)], one);
        BenchmarkPlots.Gaps(500, [("builtin", histogram), ("ours", [(39.8107, 50), (100, 50)])], two);

        Assert.Equal((BenchmarkPlots.Width, BenchmarkPlots.Height), ResultsFolder.PngSize(two));
        Assert.NotEqual(File.ReadAllBytes(one), File.ReadAllBytes(two));
    }
}
