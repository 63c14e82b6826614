using System.CommandLine;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>The subcommands <c>benchmarks/run.sh</c> calls after its runs: <c>median</c> after each scenario, <c>report</c> at the
/// end, <c>paired</c> after the paired scenario.</summary>
public static class ReportCommands
{
    /// <summary><c>report RESULTS DOCS</c>: writes DOCS/benchmarks.md and its plots from a results folder.</summary>
    /// <returns>The command.</returns>
    public static Command CreateReport()
    {
        var results = new Argument<DirectoryInfo>("results") { Description = "The results folder of benchmarks/run.sh" };
        var docs = new Argument<DirectoryInfo>("docs") { Description = "Where benchmarks.md and benchmarks/*.png go" };
        var command = new Command("report", "Writes docs/benchmarks.md and its plots (throughput.png, gaps.png) from the results of benchmarks/run.sh.")
        {
            results, docs,
        };
        command.SetAction(parse =>
        {
            BenchmarkReport.Write(new BenchmarkResults(parse.GetValue(results)!.FullName), parse.GetValue(docs)!.FullName, ReportEnvironment.Detect(TimeProvider.System));
            return 0;
        });
        return command;
    }

    /// <summary><c>median RESULTS NAME KEY</c>: picks the median round of a run and prints its value.</summary>
    /// <returns>The command.</returns>
    public static Command CreateMedian()
    {
        var results = new Argument<DirectoryInfo>("results") { Description = "The results folder of benchmarks/run.sh" };
        var name = new Argument<string>("name") { Description = "The run, without its round: NAME.r1.json … NAME.rN.json" };
        var key = new Argument<string>("key") { Description = "The figure to take the median of, a dotted path such as itl_ms.p99" };
        var command = new Command("median", "Copies the round with the median KEY to NAME.json (with its .rss.json and .steal) and prints that median.")
        {
            results, name, key,
        };
        command.SetAction(parse =>
        {
            double median = RoundMedian.Pick(parse.GetValue(results)!.FullName, parse.GetValue(name)!, parse.GetValue(key)!);
            parse.InvocationConfiguration.Output.WriteLine(RoundMedian.Format(median));
            return 0;
        });
        return command;
    }

    /// <summary><c>paired RESULTS NAME KEY</c>: ours-NAME against builtin-NAME round by round, as <see cref="PairedComparison"/>.</summary>
    /// <returns>The command.</returns>
    public static Command CreatePaired()
    {
        var results = new Argument<DirectoryInfo>("results") { Description = "The results folder of benchmarks/run.sh" };
        var name = new Argument<string>("name") { Description = "The run without its peer and round: ours-NAME.rN.json against builtin-NAME.rN.json" };
        var key = new Argument<string>("key") { Description = "The figure to compare, a dotted path such as itl_ms.p99" };
        var command = new Command("paired", "Prints the geometric mean of ours over the built-in round by round, with its 95% confidence interval.")
        {
            results, name, key,
        };
        command.SetAction(parse =>
        {
            var folder = new BenchmarkResults(parse.GetValue(results)!.FullName);
            string run = parse.GetValue(name)!, figure = parse.GetValue(key)!;
            var comparison = PairedComparison.Of(folder.PairedRatios($"ours-{run}", $"builtin-{run}", folder.Figure(figure)));
            parse.InvocationConfiguration.Output.WriteLine($"{figure} of {run}: {comparison?.ToString() ?? "fewer than two rounds of both"}");
            return comparison is null ? 1 : 0;
        });
        return command;
    }
}
