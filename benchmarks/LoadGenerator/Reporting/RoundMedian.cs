using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>
/// Picks the median of a run's rounds (<c>NAME.r1.json</c> … <c>NAME.rN.json</c>) by one figure, as
/// <c>benchmarks/run.sh</c> does after every scenario: a shared machine drifts between rounds, and the median round
/// is the one a reader can trust.
/// </summary>
public static class RoundMedian
{
    /// <summary>
    /// Copies the round with the median <paramref name="key"/> (the upper one of an even count; a round without the
    /// figure counts as infinitely bad) to <c>NAME.json</c>, with its <c>.rss.json</c>, <c>.steal</c> and <c>.cpu.json</c> files, and
    /// writes every round's value to <c>NAME.rounds.json</c>.
    /// </summary>
    /// <param name="folder">The results folder.</param>
    /// <param name="name">The run's name without its round.</param>
    /// <param name="key">The figure, a dotted path into the JSON such as <c>itl_ms.p99</c>.</param>
    /// <returns>The median value; <see cref="double.PositiveInfinity"/> when the chosen round lacks it.</returns>
    /// <exception cref="FileNotFoundException">No round of <paramref name="name"/> is in the folder.</exception>
    public static double Pick(string folder, string name, string key)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(name);
        var pattern = new Regex("^" + Regex.Escape(name) + @"\.r(\d+)\.json$", RegexOptions.CultureInvariant);
        var rounds = Directory.EnumerateFiles(folder)
            .Select(path => (Path: path, Match: pattern.Match(Path.GetFileName(path))))
            .Where(f => f.Match.Success)
            .Select(f => (Value: BenchmarkResults.Number(JsonNode.Parse(File.ReadAllText(f.Path)), key) ?? double.PositiveInfinity,
                Round: int.Parse(f.Match.Groups[1].Value, CultureInfo.InvariantCulture)))
            .Order()
            .ToList();
        if (rounds.Count == 0)
        {
            throw new FileNotFoundException($"no rounds of {name} in {folder}");
        }

        var chosen = rounds[rounds.Count / 2];
        string stem = Path.Combine(folder, $"{name}.r{chosen.Round}");
        File.Copy(stem + ".json", Path.Combine(folder, name + ".json"), overwrite: true);
        foreach (string extra in (string[])[".rss.json", ".steal", ".cpu.json"])
        {
            if (File.Exists(stem + extra))
            {
                File.Copy(stem + extra, Path.Combine(folder, name + extra), overwrite: true);
            }
        }

        var values = new JsonArray([.. rounds.Select(r => double.IsPositiveInfinity(r.Value) ? null : JsonValue.Create(r.Value))]);
        File.WriteAllText(Path.Combine(folder, name + ".rounds.json"), new JsonObject { ["key"] = key, ["values"] = values }.ToJsonString());
        return chosen.Value;
    }

    /// <summary>A value as <c>benchmarks/run.sh</c> compares it (with Python's <c>float()</c>): <c>inf</c> when infinite.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "inf" : value.ToString("R", CultureInfo.InvariantCulture);
}
