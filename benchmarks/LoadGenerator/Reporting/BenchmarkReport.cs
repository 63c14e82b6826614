using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using static OpenAiStreaming.LoadGenerator.Reporting.MarkdownFormat;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>
/// Writes <c>docs/benchmarks.md</c> and its plots (<c>docs/benchmarks/throughput.png</c>, <c>gaps.png</c>) from the
/// results folder of <c>benchmarks/run.sh</c>, once every scenario's median round has been picked
/// (<see cref="RoundMedian"/>).
/// </summary>
public static class BenchmarkReport
{
    /// <summary>The servers in the order the page lists them.</summary>
    public static readonly IReadOnlyList<string> Peers = ["builtin", "handwritten", "ours", "fastapi"];

    /// <summary>The saturation concurrencies.</summary>
    public static readonly IReadOnlyList<int> Concurrencies = [1, 4, 16, 64, 256];

    /// <summary>The largest p99 gap at 20 tokens/s that passes a step: the 50 ms interval + 10 ms.</summary>
    public const double GapLimitMs = 60;

    private static readonly Dictionary<string, string> s_names = new(StringComparer.Ordinal)
    {
        ["builtin"] = ".NET `TypedResults.ServerSentEvents`",
        ["handwritten"] = "hand-written `WriteAsync` + flush",
        ["ours"] = "OpenAiStreaming (pump, metrics, heartbeats)",
        ["fastapi"] = "FastAPI + uvicorn",
    };

    /// <summary>Writes <c>benchmarks.md</c> into <paramref name="docs"/> and the plots into its <c>benchmarks</c> folder.</summary>
    /// <param name="results">The results.</param>
    /// <param name="docs">The docs folder.</param>
    /// <param name="environment">The machine the results were measured on.</param>
    /// <exception cref="InvalidOperationException">No server has any result.</exception>
    public static void Write(BenchmarkResults results, string docs, ReportEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(docs);
        ArgumentNullException.ThrowIfNull(environment);
        string plots = Path.Combine(docs, "benchmarks");
        Directory.CreateDirectory(plots);
        var peers = Peers.Where(results.Has).ToList();
        if (peers.Count == 0)
        {
            throw new InvalidOperationException($"no result of any server in {results.Folder}");
        }

        var md = new StringBuilder();
        Introduction(md, results, peers, environment);
        Targets(md, results);
        PairedRounds(md, results);
        if (results.Text("design.md") is { } design)
        {
            // The design notes (benchmarks/design.md, copied by run.sh): prose with the figures behind the design.
            Line(md, design.TrimEnd() + "\n");
        }

        Saturation(md, results, peers, plots);
        TimeToFirstToken(md, results, peers);
        OpenStreams(md, results, peers, plots);
        ProducerCost(md, results);
        ResponseStore(md, results);
        Storm(md, results, peers);
        Reading(md);
        File.WriteAllText(Path.Combine(docs, "benchmarks.md"), md.ToString());
    }

    private static void Introduction(StringBuilder md, BenchmarkResults results, List<string> peers, ReportEnvironment env)
    {
        var (stealMedian, stealMax) = results.Steal();
        Line(md, "# Benchmarks\n");
        Line(md, "The servers stream the same synthetic token schedule, byte for byte (see `benchmarks/Peers/README.md`): "
            + string.Join(", ", peers.Select(p => $"**{p}** ({s_names[p]})"))
            + ". `benchmarks/LoadGenerator` drives each in turn with the same load, and ratios are against the .NET "
            + "built-in. Each server runs pinned to CPU 0 and the load generator to CPU 1, so the figures are what one "
            + "core of server does with one core of client.\n");
        var counts = results.RoundCounts(peers[0]);
        string rounds = counts.Count <= 1 ? $"{counts.FirstOrDefault()}" : $"{string.Join(", ", counts.SkipLast(1))} or {counts[^1]}";
        Line(md, $"A shared machine drifts by tens of percent over minutes, so the servers take turns in each of {rounds} "
            + "round(s), the order reversed every other round (A B C D, D C B A, ...: none always follows the same one), the noisiest figures in more rounds, each run on a freshly started and warmed-up server, and every figure below is "
            + "the round with the median result; \"rounds\" columns give the smallest and largest result of all rounds. A "
            + "virtual machine also loses CPU to other guests of its hypervisor (steal), and on this one a 200-stream step "
            + "failed in every run that lost more than 4% and passed in every run that lost less than 1.5%, so a run that loses "
            + $"more than 2% is set aside and run again: {results.RepeatedRuns()} run(s) were. CPU steal during the runs kept: median "
            + $"{Number(stealMedian / 10.0)}%, worst {Number(stealMax / 10.0)}%.\n");
        Line(md, "Reproduce (writes this page and its plots):\n\n    benchmarks/run.sh\n");
        Line(md, $"Measured {env.Date} at commit {env.Commit} on {env.Cpu}, {env.Cores} cores, .NET SDK "
            + $"{env.Dotnet}, FastAPI {env.FastApi} with uvicorn {env.Uvicorn}. Two cores is a small machine: "
            + "compare the ratios, not the absolute numbers, with yours.\n");
    }

    /// <summary>The ratios against the built-in that issue 17 asks for, each with its target.</summary>
    private static void Targets(StringBuilder md, BenchmarkResults results)
    {
        Line(md, "## Against the built-in, at a glance\n");
        Line(md, "The ratio is of the two servers' medians over their rounds, and the target is judged on it. Beside it, the same figure round by "
            + "round: each round of ours against the built-in's run in the same round, the smallest, median and largest of those "
            + "ratios, and in how many rounds ours was on the target's side. Where the rounds fall on both sides of a target, "
            + "one run on this machine does not tell the two servers apart on that figure.\n");
        Line(md, "| figure | ours | built-in | ours vs built-in | round by round (min, median, max) | rounds on target | target | |");
        Line(md, "|---|---:|---:|---:|---:|---:|---:|---|");
        static double? P(JsonObject? r, string key) => BenchmarkResults.Number(r, key);
        // A row without a target is a figure the issue does not set one for, shown beside those it does.
        void Row(string figure, double? ours, double? builtin, IReadOnlyList<double> paired, double? target, bool higherIsBetter, string unit)
        {
            bool OnTarget(double ratio, double t) => higherIsBetter ? ratio >= t : ratio <= t;
            bool? holds = ours is { } o && builtin is { } b && b != 0 && target is { } t ? OnTarget(o / b, t) : null;
            string goal = target is { } g ? $"{(higherIsBetter ? "≥" : "≤")} {g:0.0#}×" : "none";
            string verdict = target is null ? string.Empty : holds is { } h ? Verdict(h) : Missing;
            string rounds = paired.Count < 2 ? string.Empty
                : $"{Ratio(paired[0], 1)}, {Ratio(paired[paired.Count / 2], 1)}, {Ratio(paired[^1], 1)}";
            string onTarget = paired.Count < 2 || target is not { } goalRatio ? string.Empty
                : $"{paired.Count(r => OnTarget(r, goalRatio))} of {paired.Count}";
            Line(md, $"| {figure} | {Number(ours, 2)}{unit} | {Number(builtin, 2)}{unit} | {Ratio(ours, builtin)} | {rounds} | {onTarget} | {goal} | {verdict} |");
        }

        IReadOnlyList<double> Paired(string name, Func<string, double?> value) => results.PairedRatios($"ours-{name}", $"builtin-{name}", value);

        Row("p99 gap between tokens, 2,000 streams at 20 tokens/s", P(results.Load("ours-streams-2000"), "itl_ms.p99"),
            P(results.Load("builtin-streams-2000"), "itl_ms.p99"), Paired("streams-2000", results.Figure("itl_ms.p99")), 1.0, false, " ms");
        Row("p99 gap between tokens, 5,000 streams at 20 tokens/s (both past one core's capacity)", P(results.Load("ours-streams-5000"), "itl_ms.p99"),
            P(results.Load("builtin-streams-5000"), "itl_ms.p99"), Paired("streams-5000", results.Figure("itl_ms.p99")), null, false, " ms");
        Row("memory per open stream (1 token/s)", results.MemoryPerStream("ours"), results.MemoryPerStream("builtin"), results.PairedMemoryRatios(),
            1.0, false, " KiB");
        Row("TTFT p50 overhead, 1 stream, instant backend", P(results.Load("ours-ttft-1"), "ttft_ms.p50"),
            P(results.Load("builtin-ttft-1"), "ttft_ms.p50"), Paired("ttft-1", results.Figure("ttft_ms.p50")), 1.0, false, " ms");
        Row("server CPU seconds at the 500-stream step (median of the rounds)", results.MedianCpuSeconds("ours-streams-500"), results.MedianCpuSeconds("builtin-streams-500"),
            Paired("streams-500", results.CpuSeconds), 1.0, false, " s");
        Row("thread-pool work items per token at 500 streams", results.WorkItemsPerToken("ours-streams-500"),
            results.WorkItemsPerToken("builtin-streams-500"), Paired("streams-500", results.WorkItemsPerToken), null, false, string.Empty);
        Row("saturation events/s, one chunk per token (64 streams)", P(results.Load("ours-unmerged-saturation-64"), "events_per_s"),
            P(results.Load("builtin-saturation-64"), "events_per_s"),
            results.PairedRatios("ours-unmerged-saturation-64", "builtin-saturation-64", results.Figure("events_per_s")), 1.5, true, string.Empty);
        Row("saturation events per server CPU second, one chunk per token (64 streams)", results.EventsPerCpuSecond("ours-unmerged-saturation-64"),
            results.EventsPerCpuSecond("builtin-saturation-64"),
            results.PairedRatios("ours-unmerged-saturation-64", "builtin-saturation-64", results.EventsPerCpuSecond), 1.5, true, string.Empty);
        long? failed = results.MemoryFailures("ours", 10000);
        Line(md, $"| streams failing among 10,000 open at 1 token/s (all rounds) | {failed?.ToString(CultureInfo.InvariantCulture) ?? Missing} "
            + $"| {results.MemoryFailures("builtin", 10000)?.ToString(CultureInfo.InvariantCulture) ?? Missing} | | | | 0 | {(failed is { } f ? Verdict(f == 0) : Missing)} |");
        Line(md, "| allocations per event (BenchmarkDotNet `EventWriteBenchmarks`, not run by this script) | 0 B | | | | | 0 B | |");
        Line(md, string.Empty);
    }

    /// <summary>The paired scenario's figures (<c>SCENARIOS=paired</c>), when the run had it.</summary>
    private static void PairedRounds(StringBuilder md, BenchmarkResults results)
    {
        var runs = results.PairedRuns();
        if (runs.Count == 0)
        {
            return;
        }

        Line(md, "## Against the built-in, round by round\n");
        Line(md, "The paired scenario: in each round both servers run the same step fresh, back to back, the order alternating. "
            + "The figure is the geometric mean of ours' value over the built-in's in the same round, with its 95% confidence "
            + "interval: a difference of a few percent that the medians above cannot tell from the spread between server "
            + "processes shows here as an interval clear of 1.0×.\n");
        Line(md, "| run | figure | ours over the built-in | 95% confidence interval | rounds | ours lower in |");
        Line(md, "|---|---|---:|---:|---:|---:|");
        foreach (string run in runs)
        {
            string[] keys = run.Contains("-ttft-", StringComparison.Ordinal)
                ? ["ttft_ms.p50", "server_window.cpu_s"]
                : ["itl_ms.p90", "itl_ms.p99", "itl_ms.max", "server_window.cpu_s"];
            foreach (string key in keys)
            {
                if (PairedComparison.Of(results.PairedRatios($"ours-{run}", $"builtin-{run}", results.Figure(key))) is { } c)
                {
                    Line(md, string.Create(CultureInfo.InvariantCulture,
                        $"| {run} | `{key}` | {c.GeometricMean:F3}× | {c.Low:F3}–{c.High:F3} | {c.Rounds} | {c.OursLower} |"));
                }
            }
        }

        Line(md, string.Empty);
    }

    /// <summary>The table of <c>benchmarks/ResponseStoreBenchmark</c> (scenario <c>redis</c>), when the run made one.</summary>
    private static void ResponseStore(StringBuilder md, BenchmarkResults results)
    {
        if (results.Text("redis.md") is not { } table)
        {
            return;
        }

        Line(md, "## Background responses on Redis against memory\n");
        Line(md, "The same server in process with the in-memory store and with the Redis store (`OpenAiStreaming.Redis`, a "
            + "local redis-server), in interleaved rounds; readers in the same process (`benchmarks/ResponseStoreBenchmark`, "
            + "`SCENARIOS=redis benchmarks/run.sh`).\n");
        Line(md, table.TrimEnd() + "\n");
    }

    /// <summary>The BenchmarkDotNet table of <c>BatchLoopBenchmarks</c>, when the run made one.</summary>
    private static void ProducerCost(StringBuilder md, BenchmarkResults results)
    {
        if (results.Text("producer.md") is not { } table)
        {
            return;
        }

        Line(md, "## What a batched model loop pays per token\n");
        Line(md, "One thread steps 256 sequences, writing one token into each sequence's queue per step, while each "
            + "sequence's response reads on the thread pool; a quarter of the clients have stopped reading, so their queues "
            + "stay full. `TokenPumps` is the pump as `TokenStreamChatClient` uses it: the loop never runs a response's write "
            + "(a pushing loop's pump always wakes its consumer on the thread pool), and a stalled client's tokens merge. "
            + "The baseline is a bounded channel per sequence that drops its oldest token when full: it never waits either, "
            + "but loses tokens. Per operation: one token of one sequence (`benchmarks/OpenAiStreaming.Benchmarks`, "
            + "`--filter '*BatchLoopBenchmarks*' --job short`).\n");
        int start = table.IndexOf("| Method", StringComparison.Ordinal);
        Line(md, (start >= 0 ? table[start..] : table).TrimEnd() + "\n");
    }

    private static void Saturation(StringBuilder md, BenchmarkResults results, List<string> peers, string plots)
    {
        peers = [.. peers.Where(p => results.Load($"{p}-saturation-64") is not null)];
        if (peers.Count == 0)
        {
            return;
        }

        var sat = peers.ToDictionary(p => p, p => results.Load($"{p}-saturation-64")!);
        var b = sat.GetValueOrDefault("builtin");
        Line(md, "## Saturation: 64 streams of 1,000 tokens, as fast as possible\n");
        Line(md, "Each concurrency level keeps its streams busy for 3 s (streams in flight then finish).\n");
        Line(md, "OpenAiStreaming's pump never lets the model wait for the network: with an instant backend every client is "
            + "slower than its model, so past 64 queued deltas the pump merges new text into the last one (by design: a "
            + "slow client never stalls the model). Its events then carry several tokens each, so **tokens/s**, what the "
            + "users receive, is the measure that compares; events/s is shown beside it.\n");
        Line(md, "| server | tokens/s | rounds | tokens/s vs built-in | events/s | events/s vs built-in | tokens per event | gap p99 ms | errors |");
        Line(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string p in peers)
        {
            Line(md, SaturationRow(p, sat[p], results.Spread($"{p}-saturation-64"), b));
        }

        var un = results.Load("ours-unmerged-saturation-64");
        if (un is not null)
        {
            Line(md, SaturationRow("ours, one chunk per token (`MaxQueuedDeltas` 10⁶)", un, results.Spread("ours-unmerged-saturation-64"), b));
        }

        Line(md, string.Empty);
        if (un is not null && b is not null)
        {
            Line(md, $"- Events per second with one chunk per token, as the others write: ours "
                + $"{Ratio(Get(un, "events_per_s"), Get(b, "events_per_s"))} the built-in, "
                + $"{Verdict(Get(un, "events_per_s") >= Get(b, "events_per_s"))} against 1.0×"
                + $"{(Get(un, "events_per_s") >= 1.3 * Get(b, "events_per_s") ? " and the 1.3× aim" : string.Empty)} "
                + "(several ready deltas per flush; the writer allocates nothing per event).");
        }

        if (un is not null && b is not null && results.EventsPerCpuSecond("ours-unmerged-saturation-64") is { } oursPerCpu
            && results.EventsPerCpuSecond("builtin-saturation-64") is { } builtinPerCpu)
        {
            Line(md, $"- Per second of server CPU, one chunk per token: ours {Number(oursPerCpu)} events, the built-in "
                + $"{Number(builtinPerCpu)} ({Ratio(oursPerCpu, builtinPerCpu)}). The servers used "
                + $"{Number(results.ServerCores("ours-unmerged-saturation-64"), 2)} and {Number(results.ServerCores("builtin-saturation-64"), 2)} "
                + "of their core: where a server leaves its core partly idle, the load generator's one core (it parses every "
                + "event) is what caps events/s, and the events per CPU second are what one busy core of server would do.");
        }

        if (sat.TryGetValue("ours", out var o) && b is not null)
        {
            Line(md, $"- Target: ours ≥ 1.0× the built-in with every feature on (aim 1.3×): tokens/s "
                + $"{Ratio(Get(o, "tokens_per_s"), Get(b, "tokens_per_s"))}, {Verdict(Get(o, "tokens_per_s") >= Get(b, "tokens_per_s"))}"
                + $"{(Get(o, "tokens_per_s") >= 1.3 * Get(b, "tokens_per_s") ? " (the 1.3× aim holds too)" : string.Empty)}; counted in events it "
                + $"is {Ratio(Get(o, "events_per_s"), Get(b, "events_per_s"))}, because each of our events carries "
                + $"{Number(TokensPerEvent(o), 1)} tokens.");
        }

        if (sat.TryGetValue("ours", out o) && sat.TryGetValue("fastapi", out var f))
        {
            Line(md, $"- Target: ours ≥ 20× FastAPI/uvicorn: tokens/s {Ratio(Get(o, "tokens_per_s"), Get(f, "tokens_per_s"))}, "
                + $"{Verdict(Get(o, "tokens_per_s") >= 20 * Get(f, "tokens_per_s"))}; in events/s "
                + $"{Ratio(Get(o, "events_per_s"), Get(f, "events_per_s"))} (the built-in itself is "
                + $"{Ratio(BenchmarkResults.Number(b, "events_per_s"), Get(f, "events_per_s"))} FastAPI).");
        }

        Line(md, string.Empty);
        BenchmarkPlots.Throughput([.. peers.Select(p => (p, ThroughputPoints(results, p)))], Path.Combine(plots, "throughput.png"));
        Line(md, "![Throughput against concurrency](benchmarks/throughput.png)\n");
        Line(md, "| concurrency | " + string.Join(" | ", peers.Select(p => $"{p} tokens/s")) + " | ours vs built-in |");
        Line(md, "|---:|" + string.Concat(Enumerable.Repeat("---:|", peers.Count + 1)));
        foreach (int c in Concurrencies)
        {
            var row = peers.ToDictionary(p => p, p => results.Load($"{p}-saturation-{c}"));
            Line(md, $"| {c} | " + string.Join(" | ", peers.Select(p => row[p] is { } r ? Number(Get(r, "tokens_per_s")) : Missing))
                + $" | {Ratio(BenchmarkResults.Number(row.GetValueOrDefault("ours"), "tokens_per_s"), BenchmarkResults.Number(row.GetValueOrDefault("builtin"), "tokens_per_s"))} |");
        }

        Line(md, string.Empty);
    }

    private static string SaturationRow(string server, JsonObject r, string spread, JsonObject? b) =>
        $"| {server} | {Number(Get(r, "tokens_per_s"))} | {spread} | {Ratio(Get(r, "tokens_per_s"), BenchmarkResults.Number(b, "tokens_per_s"))} "
        + $"| {Number(Get(r, "events_per_s"))} | {Ratio(Get(r, "events_per_s"), BenchmarkResults.Number(b, "events_per_s"))} "
        + $"| {Number(TokensPerEvent(r), 2)} | {Number(BenchmarkResults.Number(r, "itl_ms.p99"), 3)} | {Int(r, "errors")} |";

    private static void TimeToFirstToken(StringBuilder md, BenchmarkResults results, List<string> peers)
    {
        if (!peers.Any(p => results.Load($"{p}-ttft-1") is not null))
        {
            return;
        }

        Line(md, "## Time to first token with an instant backend\n");
        Line(md, "The backend yields its token at once, so this is what the serving stack adds: request parsing, the first "
            + "write and flush, and the client's read.\n");
        Line(md, "| server | 1 stream p50 ms | rounds | 1 stream p99 ms | 100 streams p50 ms | rounds | 100 streams p99 ms | p50 vs built-in (1 / 100) |");
        Line(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
        double? b1 = BenchmarkResults.Number(results.Load("builtin-ttft-1"), "ttft_ms.p50");
        double? b100 = BenchmarkResults.Number(results.Load("builtin-ttft-100"), "ttft_ms.p50");
        foreach (string p in peers)
        {
            if (results.Load($"{p}-ttft-1") is not { } t1 || results.Load($"{p}-ttft-100") is not { } t100)
            {
                continue;
            }

            Line(md, $"| {p} | {Number(Get(t1, "ttft_ms.p50"), 3)} | {results.Spread($"{p}-ttft-1", 3)} | {Number(Get(t1, "ttft_ms.p99"), 3)} "
                + $"| {Number(Get(t100, "ttft_ms.p50"), 2)} | {results.Spread($"{p}-ttft-100", 2)} | {Number(Get(t100, "ttft_ms.p99"), 2)} "
                + $"| {Ratio(Get(t1, "ttft_ms.p50"), b1)} / {Ratio(Get(t100, "ttft_ms.p50"), b100)} |");
        }

        Line(md, string.Empty);
    }

    private static void OpenStreams(StringBuilder md, BenchmarkResults results, List<string> peers, string plots)
    {
        var steps = results.StreamSteps();
        if (steps.Count == 0 && peers.All(p => results.MemoryPerStream(p) is null))
        {
            return;
        }

        Line(md, "## Open streams at 20 tokens/s each\n");
        Line(md, "Every stream gets a token every 50 ms; the load ramps from 200 to 1,000 open streams (each step opens its "
            + $"streams over a second per thousand, then holds them for 10 s), and the built-in and ours then run 2,000 and "
            + $"5,000 open streams whatever their ramp did. A step passes while the median round's p99 gap "
            + $"between tokens stays within {GapLimitMs:0} ms (the interval + 10 ms); a server's ramp stops at its first step "
            + "that fails. Cells give that p99 and, in brackets, the rounds' smallest and largest; every step runs on a freshly "
            + "started server. Memory per open stream is measured apart, with streams at 1 token/s so that no server falls "
            + "behind and buffers (none may fail): the slope of the server's peak resident memory between "
            + string.Join(" and ", results.MemorySteps(peers[0]).Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))
            + " open streams, each count on a fresh server (so the growth any fresh process pays cancels out), in each round; "
            + "the median round's slope, with the rounds' smallest and largest in brackets.\n");
        Line(md, "| server | largest passing count | " + string.Join(" | ", steps.Select(n => $"p99 gap at {n.ToString("N0", CultureInfo.InvariantCulture)}")) + " | KiB per open stream |");
        Line(md, "|---|---:|" + string.Concat(Enumerable.Repeat("---:|", steps.Count + 1)));
        foreach (string p in peers)
        {
            int? best = null;
            var cells = new List<string>();
            foreach (int n in steps)
            {
                if (results.Load($"{p}-streams-{n}") is not { } r)
                {
                    cells.Add(Missing);
                    continue;
                }

                double? p99 = BenchmarkResults.Number(r, "itl_ms.p99");
                bool ok = p99 <= GapLimitMs && Int(r, "errors") == 0;
                string range = results.Spread($"{p}-streams-{n}");
                cells.Add($"{Number(p99)} ms{(range.Length > 0 ? $" ({range})" : string.Empty)}{(ok ? string.Empty : " ✗")}");
                if (ok)
                {
                    best = n;
                }
            }

            Line(md, $"| {p} | {(best is { } count ? count.ToString("N0", CultureInfo.InvariantCulture) : "none")} | "
                + string.Join(" | ", cells) + $" | {Number(results.MemoryPerStream(p))}{(results.MemorySpread(p) is { Length: > 0 } spread ? $" ({spread})" : string.Empty)} |");
        }

        Line(md, string.Empty);
        if (steps.Any(n => peers.Any(p => results.CpuSeconds($"{p}-streams-{n}") is not null)))
        {
            Line(md, "The server's CPU seconds during each step's median round and, in brackets, the thread-pool work items it ran per token delivered and the seconds of JIT compilation among those CPU seconds (each step's server is warmed up at the step's own concurrency, two rounds of twice as many 20-token requests, and measured once its JIT has gone quiet; what is still compiled during a step is what the warm-up did not reach):\n");
            Line(md, "| server | " + string.Join(" | ", steps.Select(n => $"{n.ToString("N0", CultureInfo.InvariantCulture)} streams")) + " |");
            Line(md, "|---|" + string.Concat(Enumerable.Repeat("---:|", steps.Count)));
            foreach (string p in peers)
            {
                Line(md, $"| {p} | " + string.Join(" | ", steps.Select(n => results.CpuSeconds($"{p}-streams-{n}") is { } cpu
                    ? $"{Number(cpu, 2)} s ({Number(results.WorkItemsPerToken($"{p}-streams-{n}"), 2)}"
                        + (results.JitSeconds($"{p}-streams-{n}") is { } jit ? $"; JIT {Number(jit, 2)} s)" : ")") : Missing)) + " |");
            }

            Line(md, string.Empty);
        }

        int step = steps.Where(n => peers.All(p => results.Load($"{p}-streams-{n}") is not null)).DefaultIfEmpty().Max();
        if (step > 0)
        {
            BenchmarkPlots.Gaps(step, [.. peers.Select(p => (p, GapHistogram(results.Load($"{p}-streams-{step}")!)))], Path.Combine(plots, "gaps.png"));
            Line(md, $"![Inter-token gap distribution at {step.ToString("N0", CultureInfo.InvariantCulture)} streams](benchmarks/gaps.png)\n");
        }
    }

    private static void Storm(StringBuilder md, BenchmarkResults results, List<string> peers)
    {
        if (!peers.Any(p => results.Load($"{p}-storm") is not null))
        {
            return;
        }

        Line(md, "## Disconnect storm\n");
        Line(md, "Streams at 20 tokens/s, each aborted by the client right after its first token. Cancellation latency is the "
            + "time from the client's abort to the moment the server's token loop stopped (both read the same monotonic "
            + "clock); \"left running\" counts generations still active once the storm is over. 1,000 streams connect, get a "
            + "token and go away at once, over and over: every server's one core is saturated by the churn (see its TTFT), so "
            + "the latencies are mostly queueing, and what must hold is that every generation stops.\n");
        Line(md, "| server | aborted streams | TTFT p50 ms | cancel p50 ms | cancel p99 ms | rounds | cancel max ms | without a stop record | left running | errors |");
        Line(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string p in peers)
        {
            if (results.Load($"{p}-storm") is not { } r)
            {
                continue;
            }

            Line(md, $"| {p} | {Text(r, "requests_aborted")} | {Number(BenchmarkResults.Number(r, "ttft_ms.p50"), 1)} "
                + $"| {Number(BenchmarkResults.Number(r, "cancel_ms.p50"), 2)} | {Number(BenchmarkResults.Number(r, "cancel_ms.p99"), 2)} | "
                + $"{results.Spread($"{p}-storm")} | "
                + $"{Number(BenchmarkResults.Number(r, "cancel_ms.max"), 2)} | {Text(r, "cancel_unmatched")} | {Text(r, "left_running")} | {Int(r, "errors")} |");
        }

        Line(md, string.Empty);
    }

    private static void Reading(StringBuilder md)
    {
        Line(md, "## Reading the figures\n");
        Line(md, "- **events/s** counts SSE events that carry content; **tokens/s** counts `usage.completion_tokens`. They "
            + "differ only when a server merges deltas for a slow client (OpenAiStreaming does past 64 queued deltas).");
        Line(md, "- Gaps are measured by the client between successive content events, so they include the client's own "
            + "scheduling; the same client measures every server.");
        Line(md, "- At 20 tokens/s the cost is one timer wake-up, one write and one flush per token on every server, so a few "
            + "hundred streams bring one core near its limit whatever the stack. OpenAiStreaming's pump hands a token from "
            + "an enumerated model (its own task per stream) to the response on the model's thread when the response is "
            + "already waiting, so it pays the same one thread-pool work item per token as the built-in; a flush that must "
            + "wait gives the thread back to the model at once. A pushing model loop (one thread for a batch) never runs a "
            + "response's write: its pumps wake their responses on the thread pool (see the batched-loop table).");
        Line(md, "- The raw results (one JSON per run and round, in the load generator's format, and `NAME.json` for the median "
            + "round) are in `benchmarks/results/` after a run.");
    }

    /// <summary>The server's tokens/s at each saturation concurrency it has a result for.</summary>
    private static IReadOnlyList<(int Concurrency, double TokensPerS)> ThroughputPoints(BenchmarkResults results, string peer)
    {
        var points = new List<(int, double)>();
        foreach (int c in Concurrencies)
        {
            if (BenchmarkResults.Number(results.Load($"{peer}-saturation-{c}"), "tokens_per_s") is { } tokensPerS)
            {
                points.Add((c, tokensPerS));
            }
        }

        return points;
    }

    /// <summary>A result's <c>itl_histogram</c>: (upper bound ms, count) pairs.</summary>
    private static IReadOnlyList<(double UpperBoundMs, long Count)> GapHistogram(JsonObject result) =>
        [.. result["itl_histogram"]!.AsArray().Select(pair => (pair![0]!.GetValue<double>(), pair[1]!.GetValue<long>()))];

    private static void Line(StringBuilder md, string text) => md.Append(text).Append('\n');

    /// <summary>A figure every load-generator result has.</summary>
    private static double Get(JsonObject result, string key) =>
        BenchmarkResults.Number(result, key) ?? throw new InvalidDataException($"a result lacks {key}");

    private static long Int(JsonObject result, string key) => (long)Get(result, key);

    /// <summary>A count the load generator may leave null (no peer statistics), as written or as a dash.</summary>
    private static string Text(JsonObject result, string key) =>
        BenchmarkResults.Number(result, key) is { } value ? ((long)value).ToString(CultureInfo.InvariantCulture) : Missing;

    private static double TokensPerEvent(JsonObject result) => Get(result, "tokens") / Math.Max(Get(result, "events"), 1);
}
