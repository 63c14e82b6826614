using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using OpenAiStreaming.Metrics;

namespace ChatServer.Metrics;

/// <summary>
/// A small Prometheus text exposition (format 0.0.4) of the <c>OpenAiStreaming</c> meter, for <c>GET /metrics</c>:
/// no OpenTelemetry Prometheus exporter package restores here. A <see cref="MeterListener"/> on the meter of one
/// <see cref="IMeterFactory"/> (the app's own) sums counters and up-down counters per tag set and keeps cumulative
/// histograms on the buckets the instrument advises. Names follow OpenTelemetry's Prometheus translation: dots become
/// underscores, then the unit (<c>_seconds</c>, <c>_bytes</c>) and <c>_total</c> for counters are appended.
/// </summary>
public sealed class PrometheusExposition : IDisposable
{
    /// <summary>The content type of the text format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // OpenTelemetry's default explicit buckets, for a histogram that advises none.
    private static readonly double[] s_defaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();

    /// <summary>Starts listening to the <c>OpenAiStreaming</c> meter created by <paramref name="meterFactory"/>.</summary>
    /// <param name="meterFactory">The app's meter factory; meters of other factories (other hosts in the process) are ignored.</param>
    public PrometheusExposition(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == OpenAiStreamingMetricNames.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && Family.TryCreate(instrument) is { } family)
            {
                _families[instrument] = family;
                listener.EnableMeasurementEvents(instrument, family);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _families.TryRemove(instrument, out var _);
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Writes every metric seen so far, sorted by name, in the text exposition format.</summary>
    /// <returns>The exposition text, each line ending in <c>\n</c>.</returns>
    public string Format()
    {
        var text = new StringBuilder();
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.WriteTo(text);
        }

        return text.ToString();
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    /// <summary>
    /// The Prometheus name of an OpenTelemetry instrument: characters outside <c>[a-zA-Z0-9_:]</c> become <c>_</c>
    /// (runs collapsed), the unit's word is appended unless the name already ends with it, and <c>_total</c> for a
    /// monotonic counter.
    /// </summary>
    /// <param name="name">The instrument's name, e.g. <c>gen_ai.server.time_to_first_token</c>.</param>
    /// <param name="unit">Its UCUM unit, e.g. <c>s</c>, <c>By</c>, <c>{token}</c> (annotations add nothing).</param>
    /// <param name="isCounter">True for a monotonic counter.</param>
    /// <returns>For example <c>gen_ai_server_time_to_first_token_seconds</c>.</returns>
    public static string MetricName(string name, string? unit, bool isCounter)
    {
        ArgumentNullException.ThrowIfNull(name);
        string result = Sanitize(name, allowColon: true);
        string? unitWord = unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            "1" => "ratio",
            _ => null,
        };
        if (unitWord is not null && !result.EndsWith("_" + unitWord, StringComparison.Ordinal))
        {
            result += "_" + unitWord;
        }

        if (isCounter && !result.EndsWith("_total", StringComparison.Ordinal))
        {
            result += "_total";
        }

        return result;
    }

    /// <summary>The Prometheus name of a tag: <c>gen_ai.request.model</c> becomes <c>gen_ai_request_model</c>.</summary>
    /// <param name="key">The tag's key.</param>
    /// <returns>A valid label name.</returns>
    public static string LabelName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Sanitize(key, allowColon: false);
    }

    /// <summary>Escapes a label value: <c>\</c>, <c>"</c> and line feeds.</summary>
    /// <param name="value">The raw value.</param>
    /// <returns>The value as it goes between the quotes.</returns>
    public static string EscapeLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>A sample value as Prometheus reads it: shortest round-trip, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    /// <param name="value">The value.</param>
    /// <returns>Its text.</returns>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Sanitize(string name, bool allowColon)
    {
        var result = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            bool valid = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            if (valid)
            {
                result.Append(c);
            }
            else if (result.Length == 0 || result[^1] != '_')
            {
                result.Append('_');
            }
        }

        if (result.Length == 0 || char.IsAsciiDigit(result[0]))
        {
            result.Insert(0, '_');
        }

        return result.ToString();
    }

    /// <summary>One instrument: its name, type line, and one series per distinct tag set.</summary>
    private sealed class Family
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly string _type;
        private readonly string _help;
        private readonly double[]? _buckets;

        private Family(string name, string type, string? help, double[]? buckets)
        {
            Name = name;
            _type = type;
            _help = (help ?? string.Empty).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
            _buckets = buckets;
        }

        public string Name { get; }

        public static Family? TryCreate(Instrument instrument) => instrument switch
        {
            Counter<long> or Counter<int> or Counter<double> =>
                new Family(MetricName(instrument.Name, instrument.Unit, isCounter: true), "counter", instrument.Description, null),
            UpDownCounter<long> or UpDownCounter<int> or UpDownCounter<double> =>
                new Family(MetricName(instrument.Name, instrument.Unit, isCounter: false), "gauge", instrument.Description, null),
            Histogram<double> h => Histogram(instrument, h.Advice?.HistogramBucketBoundaries),
            Histogram<long> h => Histogram(instrument, h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b)),
            Histogram<int> h => Histogram(instrument, h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b)),
            _ => null, // observable instruments: none on this meter
        };

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = _series.GetOrAdd(Labels(tags), static (_, buckets) => new Series(buckets), _buckets);
            series.Record(value, _buckets);
        }

        public void WriteTo(StringBuilder text)
        {
            text.Append("# HELP ").Append(Name).Append(' ').Append(_help).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(_type).Append('\n');
            foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                series.WriteTo(text, Name, labels, _buckets);
            }
        }

        private static Family Histogram(Instrument instrument, IEnumerable<double>? advice) =>
            new(MetricName(instrument.Name, instrument.Unit, isCounter: false), "histogram", instrument.Description,
                advice is null ? s_defaultBuckets : [.. advice.Order()]);

        /// <summary>The label set as written between braces, sorted by name: also the series' key.</summary>
        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty)
            {
                return string.Empty;
            }

            var pairs = new List<(string Name, string Value)>(tags.Length);
            foreach (var tag in tags)
            {
                pairs.Add((LabelName(tag.Key), Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty));
            }

            pairs.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return string.Join(',', pairs.Select(p => $"{p.Name}=\"{EscapeLabelValue(p.Value)}\""));
        }
    }

    /// <summary>The running sum of one tag set, or its histogram: per-bucket counts, sum and count.</summary>
    private sealed class Series(double[]? buckets)
    {
        private readonly Lock _gate = new();
        private readonly long[]? _bucketCounts = buckets is null ? null : new long[buckets.Length + 1];
        private double _sum;
        private long _count;

        public void Record(double value, double[]? bounds)
        {
            lock (_gate)
            {
                _sum += value;
                _count++;
                if (bounds is not null)
                {
                    // Prometheus buckets are upper-inclusive: value <= le.
                    int i = 0;
                    while (i < bounds.Length && value > bounds[i])
                    {
                        i++;
                    }

                    _bucketCounts![i]++;
                }
            }
        }

        public void WriteTo(StringBuilder text, string name, string labels, double[]? bounds)
        {
            double sum;
            long count;
            long[]? counts;
            lock (_gate)
            {
                sum = _sum;
                count = _count;
                counts = (long[]?)_bucketCounts?.Clone();
            }

            if (bounds is null)
            {
                Sample(text, name, labels, null, FormatValue(sum));
                return;
            }

            long cumulative = 0;
            for (int i = 0; i < bounds.Length; i++)
            {
                cumulative += counts![i];
                Sample(text, name + "_bucket", labels, FormatValue(bounds[i]), cumulative.ToString(CultureInfo.InvariantCulture));
            }

            Sample(text, name + "_bucket", labels, "+Inf", count.ToString(CultureInfo.InvariantCulture));
            Sample(text, name + "_sum", labels, null, FormatValue(sum));
            Sample(text, name + "_count", labels, null, count.ToString(CultureInfo.InvariantCulture));
        }

        private static void Sample(StringBuilder text, string name, string labels, string? le, string value)
        {
            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{').Append(labels);
                if (le is not null)
                {
                    text.Append(labels.Length > 0 ? "," : string.Empty).Append("le=\"").Append(le).Append('"');
                }

                text.Append('}');
            }

            text.Append(' ').Append(value).Append('\n');
        }
    }
}
