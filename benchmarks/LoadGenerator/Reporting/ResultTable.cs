using System.Globalization;
using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>Writes a <see cref="LoadResult"/> for people: one row per latency figure, then the totals.</summary>
public static class ResultTable
{
    /// <summary>Writes the table.</summary>
    /// <param name="result">The result.</param>
    /// <param name="output">Where to write it.</param>
    public static void Write(LoadResult result, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(output);
        var c = CultureInfo.InvariantCulture;
        string abort = result.AbortAfterEvents is { } k ? string.Create(c, $", client aborts after {k} events") : string.Empty;
        output.WriteLine(string.Create(c, $"{result.Label}: {result.Model} at {result.BaseUrl}, concurrency {result.Concurrency}, max_tokens {result.MaxTokens}{abort}"));
        output.WriteLine();
        output.WriteLine(string.Create(c, $"{"ms",-8}{"p50",12}{"p90",12}{"p99",12}{"max",12}{"mean",12}{"count",12}"));
        Row(output, "TTFT", result.TtftMs);
        Row(output, "ITL", result.ItlMs);
        Row(output, "TPOT", result.TpotMs);
        Row(output, "E2E", result.E2eMs);
        if (result.CancelMs is { } cancel)
        {
            Row(output, "cancel", cancel);
        }

        output.WriteLine();
        string aborted = result.RequestsAborted > 0 ? $" ({result.RequestsAborted} aborted by the client)" : string.Empty;
        string interrupted = result.Interrupted > 0 ? $", {result.Interrupted} interrupted (not measured)" : string.Empty;
        output.WriteLine(string.Create(c, $"requests  {result.RequestsSent} sent, {result.RequestsOk} ok{aborted}, {result.Errors} errors{interrupted} in {result.DurationS:0.000} s"));
        output.WriteLine(string.Create(c, $"events    {result.Events:N0} ({result.EventsPerS:N0}/s)"));
        output.WriteLine(string.Create(c, $"tokens    {result.Tokens:N0} ({result.TokensPerS:N0}/s)"));
        if (result.CancelUnmatched is > 0)
        {
            output.WriteLine(string.Create(c, $"cancel    {result.CancelUnmatched} aborted requests have no cancellation record on the server"));
        }

        if (result.ServerJson is not null)
        {
            string left = result.LeftRunning is { } n ? string.Create(c, $", left running {n}") : string.Empty;
            output.WriteLine($"server    {DescribeServer(result.ServerJson)}{left}");
        }

        foreach (string message in result.ErrorSamples)
        {
            output.WriteLine(string.Create(c, $"error     {message}"));
        }
    }

    private static void Row(TextWriter output, string name, Summary s) =>
        output.WriteLine(s.Count == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{name,-8}{"-",12}{"-",12}{"-",12}{"-",12}{"-",12}{0,12}")
            : string.Create(CultureInfo.InvariantCulture, $"{name,-8}{s.P50,12:0.000}{s.P90,12:0.000}{s.P99,12:0.000}{s.Max,12:0.000}{s.Mean,12:0.000}{s.Count,12}"));

    /// <summary>The scalar fields of a /bench/stats object, as <c>name=value</c> pairs.</summary>
    private static string DescribeServer(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var parts = new List<string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String)
                {
                    string value = property.Name.EndsWith("_bytes", StringComparison.Ordinal) && property.Value.TryGetInt64(out long bytes)
                        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB")
                        : property.Value.ToString();
                    parts.Add($"{property.Name}={value}");
                }
            }

            return string.Join(' ', parts);
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
