using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>
/// The folder <c>benchmarks/run.sh</c> fills: one load-generator JSON per run and round (<c>NAME.rN.json</c>), the
/// median round of each (<c>NAME.json</c>, with <c>NAME.rounds.json</c> listing every round's value), the CPU steal
/// of each run (<c>NAME.steal</c>, per mille), runs set aside for steal (<c>NAME.stolenN.json</c>) and the peak memory
/// of the memory runs (<c>NAME.rN.rss.json</c>, the median round's as <c>NAME.rss.json</c>).
/// </summary>
public sealed partial class BenchmarkResults
{
    private readonly Dictionary<string, JsonObject?> _loaded = new(StringComparer.Ordinal);

    /// <summary>Reads results from <paramref name="folder"/>.</summary>
    /// <param name="folder">The results folder.</param>
    public BenchmarkResults(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Folder = folder;
    }

    /// <summary>The results folder.</summary>
    public string Folder { get; }

    /// <summary>The JSON object in <c>NAME.json</c>, or null when there is none.</summary>
    /// <param name="name">The run's name, e.g. <c>ours-saturation-64</c> or <c>ours-memory-500.rss</c>.</param>
    /// <returns>The object, read once and kept.</returns>
    public JsonObject? Load(string name)
    {
        if (!_loaded.TryGetValue(name, out var result))
        {
            string path = Path.Combine(Folder, name + ".json");
            result = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?.AsObject() : null;
            _loaded[name] = result;
        }

        return result;
    }

    /// <summary>A number at a dotted <paramref name="key"/> of a result, such as <c>itl_ms.p99</c>.</summary>
    /// <param name="result">A result, or null.</param>
    /// <param name="key">Property names joined by dots.</param>
    /// <returns>The number, or null when the result, a property on the way or the number is missing or null.</returns>
    public static double? Number(JsonNode? result, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (string part in key.Split('.'))
        {
            result = result is JsonObject o ? o[part] : null;
        }

        return result is JsonValue value && value.TryGetValue(out double number) ? number : null;
    }

    /// <summary>The figure at <paramref name="key"/> of a run given its name (<see cref="Number"/> of <see cref="Load"/>), as
    /// <see cref="PairedRatios"/> takes it.</summary>
    /// <param name="key">Property names joined by dots, such as <c>itl_ms.p99</c>.</param>
    /// <returns>The figure of a run, or null where it is missing.</returns>
    public Func<string, double?> Figure(string key) => name => Number(Load(name), key);

    /// <summary>The smallest and largest of the rounds' values of <paramref name="name"/>, as "a–b".</summary>
    /// <param name="name">The run's name without its round.</param>
    /// <param name="digits">Decimals for values under 1,000, as the figure beside it has.</param>
    /// <returns>The range, or an empty string when there were fewer than two rounds.</returns>
    public string Spread(string name, int digits = 1)
    {
        string path = Path.Combine(Folder, name + ".rounds.json");
        if (!File.Exists(path))
        {
            return string.Empty;
        }

        var values = JsonNode.Parse(File.ReadAllText(path))!["values"]!.AsArray()
            .Where(v => v is not null)
            .Select(v => v!.GetValue<double>())
            .ToList();
        return values.Count < 2 ? string.Empty : $"{MarkdownFormat.Number(values.Min(), digits)}–{MarkdownFormat.Number(values.Max(), digits)}";
    }

    /// <summary>
    /// Ours against the built-in round by round: the ratio of <paramref name="value"/> in round k of
    /// <paramref name="ours"/> to round k of <paramref name="builtin"/>, run in the same round (the servers take
    /// turns within a round, so a pair shares the machine's drift that the medians of each server's rounds do not).
    /// </summary>
    /// <param name="ours">Ours' run name without its round.</param>
    /// <param name="builtin">The built-in's run name without its round.</param>
    /// <param name="value">The figure of one round, given the run name with its round (e.g. <c>ours-ttft-1.r3</c>).</param>
    /// <returns>The ratios of the rounds both have, smallest first.</returns>
    public IReadOnlyList<double> PairedRatios(string ours, string builtin, Func<string, double?> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var ratios = new List<double>();
        foreach (int round in Rounds(ours))
        {
            if (value($"{ours}.r{round}") is { } o && value($"{builtin}.r{round}") is { } b && b != 0)
            {
                ratios.Add(o / b);
            }
        }

        ratios.Sort();
        return ratios;
    }

    /// <summary>How many rounds <paramref name="peer"/>'s runs took, each count once, smallest first (a run script may
    /// give its noisiest figures more rounds than the rest).</summary>
    /// <param name="peer">The peer.</param>
    /// <returns>The counts; empty when the peer has no round.</returns>
    public IReadOnlyList<int> RoundCounts(string peer) =>
        FileNames().Select(f => RoundNumber().Match(f)).Where(m => m.Success && m.Groups[1].Value.StartsWith(peer + "-", StringComparison.Ordinal))
            .GroupBy(m => m.Groups[1].Value, m => Int(m.Groups[2].Value)).Select(g => g.Max()).Distinct().Order().ToList();

    /// <summary>Whether <paramref name="peer"/> has any median result in the folder.</summary>
    /// <param name="peer">The peer.</param>
    /// <returns>True when some <c>PEER-….json</c> is there.</returns>
    public bool Has(string peer) =>
        FileNames().Any(f => f.StartsWith(peer + "-", StringComparison.Ordinal) && f.EndsWith(".json", StringComparison.Ordinal) && !RoundFile().IsMatch(f));

    /// <summary>The server's CPU seconds during a run (<c>NAME.cpu.json</c>), or null when not measured.</summary>
    /// <param name="name">The run's name.</param>
    /// <returns>The seconds.</returns>
    public double? CpuSeconds(string name) => Number(Load(name + ".cpu"), "cpu_s");

    /// <summary>
    /// The median of the server's CPU seconds over a run's rounds (<c>NAME.rN.cpu.json</c>; the upper one of an even
    /// count), rather than the CPU of the round with the median of another figure, as <see cref="CpuSeconds"/> of the
    /// median copy gives; without rounds, <see cref="CpuSeconds"/>.
    /// </summary>
    /// <param name="name">The run's name without its round.</param>
    /// <returns>The seconds, or null when not measured.</returns>
    public double? MedianCpuSeconds(string name)
    {
        var rounds = Rounds(name).Select(round => CpuSeconds($"{name}.r{round}")).OfType<double>().Order().ToList();
        return rounds.Count == 0 ? CpuSeconds(name) : rounds[rounds.Count / 2];
    }

    /// <summary>Of <see cref="CpuSeconds"/>, the seconds the JIT compiled for, or null when not measured.</summary>
    /// <param name="name">The run's name.</param>
    /// <returns>The seconds.</returns>
    public double? JitSeconds(string name) => Number(Load(name + ".cpu"), "jit_s");

    /// <summary>
    /// Events delivered per second of the server's CPU during a run: what one core of server does, whether or not the
    /// load kept it busy. Null when not measured.
    /// </summary>
    /// <param name="name">The run's name.</param>
    /// <returns>Events per CPU second.</returns>
    public double? EventsPerCpuSecond(string name) =>
        CpuSeconds(name) is { } cpu && cpu > 0 && Number(Load(name), "events") is { } events ? events / cpu : null;

    /// <summary>The share of one core the server used during a run (its CPU seconds over the run's seconds), or null.</summary>
    /// <param name="name">The run's name.</param>
    /// <returns>The share, 1 for a whole core.</returns>
    public double? ServerCores(string name) =>
        CpuSeconds(name) is { } cpu && Number(Load(name), "duration_s") is { } seconds && seconds > 0 ? cpu / seconds : null;

    /// <summary>Thread-pool work items the server ran per token delivered during a run, or null when not measured.</summary>
    /// <param name="name">The run's name.</param>
    /// <returns>Work items per token.</returns>
    public double? WorkItemsPerToken(string name) =>
        Number(Load(name + ".cpu"), "work_items") is { } items && Number(Load(name), "tokens") is { } tokens && tokens > 0 ? items / tokens : null;

    /// <summary>The text of <c>NAME</c> in the folder (a table another tool wrote), or null when there is none.</summary>
    /// <param name="fileName">The file's name.</param>
    /// <returns>The text.</returns>
    public string? Text(string fileName)
    {
        string path = Path.Combine(Folder, fileName);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <summary>Runs that were set aside for CPU steal and run again.</summary>
    /// <returns>The count.</returns>
    public int RepeatedRuns() => FileNames().Count(f => StolenFile().IsMatch(f));

    /// <summary>The median and the largest CPU steal, per mille, of every measured round.</summary>
    /// <returns>Both, or nulls when no steal was recorded.</returns>
    public (int? Median, int? Max) Steal()
    {
        var values = FileNames()
            .Where(f => StealFile().IsMatch(f))
            .Select(f => File.ReadAllText(Path.Combine(Folder, f)).Trim())
            .Select(text => text.Length == 0 ? 0 : int.Parse(text, CultureInfo.InvariantCulture))
            .Order()
            .ToList();
        return values.Count == 0 ? (null, null) : (values[values.Count / 2], values[^1]);
    }

    /// <summary>The runs of the paired scenario that ours has rounds of, without the peer (<c>paired-streams-2000</c> for
    /// <c>ours-paired-streams-2000.r1.json</c>), in order.</summary>
    /// <returns>The names.</returns>
    public IReadOnlyList<string> PairedRuns() =>
        [.. FileNames().Select(f => PairedRoundFile().Match(f)).Where(m => m.Success).Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>The stream counts of the concurrency ramp that have a median result, in order.</summary>
    /// <returns>The counts.</returns>
    public IReadOnlyList<int> StreamSteps() =>
        [.. FileNames().Select(f => StreamsFile().Match(f)).Where(m => m.Success).Select(m => Int(m.Groups[1].Value)).Distinct().Order()];

    /// <summary>The stream counts of <paramref name="peer"/>'s memory runs, in order.</summary>
    /// <param name="peer">The peer.</param>
    /// <returns>The counts.</returns>
    public IReadOnlyList<int> MemorySteps(string peer) =>
        [.. FileNames().Select(f => MemoryFile().Match(f)).Where(m => m.Success && m.Groups[1].Value == peer).Select(m => Int(m.Groups[2].Value)).Order()];

    /// <summary>
    /// KiB of peak resident memory per open stream: the slope between the fewest and the most open streams, of the round
    /// with the median slope when the runs were in rounds (<c>NAME.rN.rss.json</c>).
    /// </summary>
    /// <param name="peer">The peer.</param>
    /// <returns>The slope, or null with fewer than two memory runs.</returns>
    public double? MemoryPerStream(string peer)
    {
        var slopes = MemorySlopes(peer);
        return slopes.Count == 0 ? null : slopes[slopes.Count / 2];
    }

    /// <summary>The smallest and largest of the rounds' <see cref="MemoryPerStream"/> slopes, as "a–b".</summary>
    /// <param name="peer">The peer.</param>
    /// <returns>The range, or an empty string with fewer than two rounds.</returns>
    public string MemorySpread(string peer)
    {
        var slopes = MemorySlopes(peer);
        return slopes.Count < 2 ? string.Empty : $"{MarkdownFormat.Number(slopes[0])}–{MarkdownFormat.Number(slopes[^1])}";
    }

    /// <summary>Streams that failed in all of <paramref name="peer"/>'s runs with <paramref name="streams"/> open, every round.</summary>
    /// <param name="peer">The peer.</param>
    /// <param name="streams">The open streams.</param>
    /// <returns>The total, or null when there was no such run.</returns>
    public long? MemoryFailures(string peer, int streams)
    {
        var runs = FileNames().Where(f => f.StartsWith($"{peer}-memory-{streams}.", StringComparison.Ordinal) && RoundFile().IsMatch(f)).ToList();
        if (runs.Count == 0)
        {
            return Load($"{peer}-memory-{streams}") is { } single ? (long)(Number(single, "errors") ?? 0) : null;
        }

        return runs.Sum(f => (long)(Number(Load(f[..^".json".Length]), "errors") ?? 0));
    }

    /// <summary>
    /// Ours' memory per open stream against the built-in's, round by round (<see cref="PairedRatios"/>): each round's
    /// slope between the fewest and the most open streams.
    /// </summary>
    /// <returns>The ratios, smallest first; empty without rounds.</returns>
    public IReadOnlyList<double> PairedMemoryRatios()
    {
        var steps = MemorySteps("ours");
        return steps.Count < 2 || !steps.SequenceEqual(MemorySteps("builtin"))
            ? []
            : PairedRatios($"ours-memory-{steps[^1]}", $"builtin-memory-{steps[^1]}", name =>
            {
                string round = name[name.LastIndexOf('.')..];
                string peer = name[..name.IndexOf("-memory-", StringComparison.Ordinal)];
                return Number(Load($"{peer}-memory-{steps[^1]}{round}.rss"), "peak_rss_kib") - Number(Load($"{peer}-memory-{steps[0]}{round}.rss"), "peak_rss_kib");
            });
    }

    /// <summary>Each round's slope (or the one un-rounded run's), in order.</summary>
    private List<double> MemorySlopes(string peer)
    {
        var steps = MemorySteps(peer);
        if (steps.Count < 2)
        {
            return [];
        }

        double? Peak(int streams, string round) => Number(Load($"{peer}-memory-{streams}{round}.rss"), "peak_rss_kib");
        var rounds = FileNames().Select(f => RoundRssFile().Match(f))
            .Where(m => m.Success && m.Groups[1].Value == $"{peer}-memory-{steps[^1]}")
            .Select(m => "." + m.Groups[2].Value)
            .DefaultIfEmpty(string.Empty);
        return [.. rounds
            .Select(round => (First: Peak(steps[0], round), Last: Peak(steps[^1], round)))
            .Where(p => p.First is not null && p.Last is not null)
            .Select(p => (p.Last!.Value - p.First!.Value) / (steps[^1] - steps[0]))
            .Order()];
    }

    /// <summary>The rounds of <paramref name="name"/> in the folder: 1, 2, … while <c>NAME.rN.json</c> is there.</summary>
    private IEnumerable<int> Rounds(string name)
    {
        for (int round = 1; File.Exists(Path.Combine(Folder, $"{name}.r{round}.json")); round++)
        {
            yield return round;
        }
    }

    private IEnumerable<string> FileNames() => Directory.EnumerateFiles(Folder).Select(Path.GetFileName).OfType<string>();

    private static int Int(string digits) => int.Parse(digits, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(.+)\.r\d+\.json$")]
    private static partial Regex RoundFile();

    [GeneratedRegex(@"^(.+)\.r(\d+)\.json$")]
    private static partial Regex RoundNumber();

    [GeneratedRegex(@"\.stolen\d+\.json$")]
    private static partial Regex StolenFile();

    [GeneratedRegex(@"\.r\d+\.steal$")]
    private static partial Regex StealFile();

    [GeneratedRegex(@"^ours-(paired-.+)\.r\d+\.json$")]
    private static partial Regex PairedRoundFile();

    [GeneratedRegex(@"-streams-(\d+)\.json$")]
    private static partial Regex StreamsFile();

    [GeneratedRegex(@"^(.+)-memory-(\d+)\.rss\.json$")]
    private static partial Regex MemoryFile();

    [GeneratedRegex(@"^(.+)\.(r\d+)\.rss\.json$")]
    private static partial Regex RoundRssFile();
}
