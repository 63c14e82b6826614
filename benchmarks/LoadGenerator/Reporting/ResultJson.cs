using System.Globalization;
using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>
/// Writes a <see cref="LoadResult"/> as the load generator's output object of the shared benchmark protocol
/// (bench-protocol.md), with a few fields of its own after the protocol's: <c>max_tokens</c>,
/// <c>abort_after_events</c>, <c>requests_aborted</c>, <c>interrupted</c>, <c>cancel_unmatched</c>,
/// <c>left_running</c> and <c>percentile_method</c>.
/// </summary>
public static class ResultJson
{
    /// <summary>How percentiles are computed, as written in <c>percentile_method</c>.</summary>
    public const string PercentileMethod = "linear";

    /// <summary>Writes <paramref name="result"/> as one indented JSON object.</summary>
    /// <param name="result">The result.</param>
    /// <param name="stream">Where to write it (UTF-8).</param>
    public static void Write(LoadResult result, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteString("label", result.Label);
        writer.WriteString("base_url", result.BaseUrl);
        writer.WriteString("model", result.Model);
        writer.WriteNumber("concurrency", result.Concurrency);
        writer.WriteNumber("requests_sent", result.RequestsSent);
        writer.WriteNumber("requests_ok", result.RequestsOk);
        writer.WriteNumber("errors", result.Errors);
        writer.WriteStartArray("error_samples");
        foreach (string message in result.ErrorSamples)
        {
            writer.WriteStringValue(message);
        }

        writer.WriteEndArray();
        writer.WriteNumber("duration_s", Math.Round(result.DurationS, 6));
        writer.WriteNumber("events", result.Events);
        writer.WriteNumber("tokens", result.Tokens);
        writer.WriteNumber("events_per_s", Math.Round(result.EventsPerS, 3));
        writer.WriteNumber("tokens_per_s", Math.Round(result.TokensPerS, 3));
        WriteSummary(writer, "ttft_ms", result.TtftMs);
        WriteSummary(writer, "itl_ms", result.ItlMs);
        WriteSummary(writer, "tpot_ms", result.TpotMs);
        WriteSummary(writer, "e2e_ms", result.E2eMs);
        if (result.CancelMs is { } cancel)
        {
            WriteSummary(writer, "cancel_ms", cancel);
        }
        else
        {
            writer.WriteNull("cancel_ms");
        }

        writer.WritePropertyName("server");
        if (result.ServerJson is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteRawValue(result.ServerJson);
        }

        writer.WriteStartArray("itl_histogram");
        foreach (var (bound, count) in result.ItlHistogram)
        {
            // Each pair on one line: an indented file stays short and readable.
            writer.WriteRawValue(string.Create(CultureInfo.InvariantCulture, $"[{bound:R}, {count}]"), skipInputValidation: true);
        }

        writer.WriteEndArray();
        writer.WriteNumber("max_tokens", result.MaxTokens);
        WriteNullable(writer, "abort_after_events", result.AbortAfterEvents);
        writer.WriteNumber("requests_aborted", result.RequestsAborted);
        writer.WriteNumber("interrupted", result.Interrupted);
        WriteNullable(writer, "cancel_unmatched", result.CancelUnmatched);
        WriteNullable(writer, "left_running", result.LeftRunning);
        writer.WriteString("percentile_method", PercentileMethod);
        if (result.Server is { } window)
        {
            writer.WriteStartObject("server_window");
            WriteNullable(writer, "cpu_s", window.CpuS);
            WriteNullable(writer, "work_items", window.WorkItems);
            WriteNullable(writer, "jit_s", window.JitS);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("server_window");
        }

        writer.WriteEndObject();
    }

    /// <summary>Writes <paramref name="result"/> to a file, replacing it.</summary>
    /// <param name="result">The result.</param>
    /// <param name="path">The file.</param>
    public static void WriteFile(LoadResult result, string path)
    {
        using var file = File.Create(path);
        Write(result, file);
        file.WriteByte((byte)'\n');
    }

    private static void WriteSummary(Utf8JsonWriter writer, string name, Summary summary)
    {
        writer.WriteStartObject(name);
        writer.WriteNumber("p50", Math.Round(summary.P50, 4));
        writer.WriteNumber("p90", Math.Round(summary.P90, 4));
        writer.WriteNumber("p99", Math.Round(summary.P99, 4));
        writer.WriteNumber("max", Math.Round(summary.Max, 4));
        writer.WriteNumber("mean", Math.Round(summary.Mean, 4));
        writer.WriteNumber("count", summary.Count);
        writer.WriteNumber("min", Math.Round(summary.Min, 4));
        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, Math.Round(v, 6));
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
