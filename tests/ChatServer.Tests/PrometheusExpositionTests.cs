using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using ChatServer.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.Metrics;

namespace ChatServer.Tests;

/// <summary>The sample's <c>/metrics</c> text: names, escaping, sums per tag set, cumulative buckets.</summary>
public sealed partial class PrometheusExpositionTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IMeterFactory _factory;
    private readonly PrometheusExposition _exposition;
    private readonly Meter _meter;

    public PrometheusExpositionTests()
    {
        _factory = _services.GetRequiredService<IMeterFactory>();
        _exposition = new PrometheusExposition(_factory);
        _meter = _factory.Create(OpenAiStreamingMetricNames.MeterName);
    }

    public void Dispose()
    {
        _exposition.Dispose();
        _services.Dispose();
    }

    [Theory]
    [InlineData("gen_ai.server.time_to_first_token", "s", false, "gen_ai_server_time_to_first_token_seconds")]
    [InlineData("openai_streaming.queue.wait", "s", false, "openai_streaming_queue_wait_seconds")]
    [InlineData("openai_streaming.bytes", "By", true, "openai_streaming_bytes_total")]
    [InlineData("openai_streaming.payload", "By", false, "openai_streaming_payload_bytes")]
    [InlineData("openai_streaming.active_streams", "{stream}", false, "openai_streaming_active_streams")]
    [InlineData("openai_streaming.client_disconnects", "{disconnect}", true, "openai_streaming_client_disconnects_total")]
    [InlineData("requests_total", "{request}", true, "requests_total")]
    [InlineData("latency.seconds", "s", false, "latency_seconds")]
    [InlineData("odd..name-with/chars", "ms", false, "odd_name_with_chars_milliseconds")]
    [InlineData("vllm:style", null, false, "vllm:style")]
    [InlineData("9lives", null, true, "_9lives_total")]
    public void MetricName_TranslatesLikeOpenTelemetry(string name, string? unit, bool isCounter, string expected)
    {
        Assert.Equal(expected, PrometheusExposition.MetricName(name, unit, isCounter));
    }

    [Theory]
    [InlineData("gen_ai.request.model", "gen_ai_request_model")]
    [InlineData("error.type", "error_type")]
    [InlineData("openai_streaming.phase", "openai_streaming_phase")]
    [InlineData("a:b", "a_b")]
    public void LabelName_DotsAndColonsBecomeUnderscores(string key, string expected)
    {
        Assert.Equal(expected, PrometheusExposition.LabelName(key));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("say \"hi\"", "say \\\"hi\\\"")]
    [InlineData("two\nlines", "two\\nlines")]
    public void EscapeLabelValue_BackslashQuoteNewline(string value, string expected)
    {
        Assert.Equal(expected, PrometheusExposition.EscapeLabelValue(value));
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(10.0, "10")]
    [InlineData(0.001, "0.001")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void FormatValue_AsPrometheusReadsIt(double value, string expected)
    {
        Assert.Equal(expected, PrometheusExposition.FormatValue(value));
    }

    [Fact]
    public void Counter_SummedPerTagSet_WithHelpAndType()
    {
        var counter = _meter.CreateCounter<long>("test.events", "{event}", "Events seen.");
        counter.Add(2, new KeyValuePair<string, object?>("gen_ai.request.model", "a"));
        counter.Add(3, new KeyValuePair<string, object?>("gen_ai.request.model", "a"));
        counter.Add(5, new KeyValuePair<string, object?>("gen_ai.request.model", "b"));

        string text = _exposition.Format();

        Assert.Contains("# HELP test_events_total Events seen.\n# TYPE test_events_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("test_events_total{gen_ai_request_model=\"a\"} 5\n", text, StringComparison.Ordinal);
        Assert.Contains("test_events_total{gen_ai_request_model=\"b\"} 5\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_SortedByName_SameSetInAnyOrderIsOneSeries()
    {
        var counter = _meter.CreateCounter<long>("test.sorted");
        counter.Add(1, new("z", "1"), new("a", "2"));
        counter.Add(1, new("a", "2"), new("z", "1"));

        Assert.Contains("test_sorted_total{a=\"2\",z=\"1\"} 2\n", _exposition.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void LabelValues_AreEscaped_HelpToo()
    {
        var counter = _meter.CreateCounter<long>("test.escaped", null, "A help\nwith a \\ in it.");
        counter.Add(1, new KeyValuePair<string, object?>("error.type", "Bad \"thing\"\\\n"));

        string text = _exposition.Format();

        Assert.Contains("# HELP test_escaped_total A help\\nwith a \\\\ in it.\n", text, StringComparison.Ordinal);
        Assert.Contains("test_escaped_total{error_type=\"Bad \\\"thing\\\"\\\\\\n\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void UpDownCounter_IsAGauge_ThatReturnsToZero()
    {
        var active = _meter.CreateUpDownCounter<long>("test.active", "{stream}");
        active.Add(1);
        active.Add(1);
        active.Add(-2);

        string text = _exposition.Format();

        Assert.Contains("# TYPE test_active gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("test_active 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_BucketsAreCumulative_UpperInclusive_WithInfSumAndCount()
    {
        var histogram = _meter.CreateHistogram("test.latency", "s", "Latency.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.5, 1] });
        var model = new KeyValuePair<string, object?>("gen_ai.request.model", "m");
        foreach (double value in new[] { 0.05, 0.1, 0.3, 2 })
        {
            histogram.Record(value, model);
        }

        string text = _exposition.Format();

        Assert.Contains(
            "# TYPE test_latency_seconds histogram\n" +
            "test_latency_seconds_bucket{gen_ai_request_model=\"m\",le=\"0.1\"} 2\n" +
            "test_latency_seconds_bucket{gen_ai_request_model=\"m\",le=\"0.5\"} 3\n" +
            "test_latency_seconds_bucket{gen_ai_request_model=\"m\",le=\"1\"} 3\n" +
            "test_latency_seconds_bucket{gen_ai_request_model=\"m\",le=\"+Inf\"} 4\n" +
            "test_latency_seconds_sum{gen_ai_request_model=\"m\"} 2.45\n" +
            "test_latency_seconds_count{gen_ai_request_model=\"m\"} 4\n",
            text, StringComparison.Ordinal);
    }

    [Fact]
    public void Histogram_WithoutTagsOrAdvice_UsesDefaultBuckets()
    {
        var histogram = _meter.CreateHistogram<double>("test.plain");
        histogram.Record(7);

        string text = _exposition.Format();

        Assert.Contains("test_plain_bucket{le=\"5\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("test_plain_bucket{le=\"10\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("test_plain_bucket{le=\"10000\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("test_plain_bucket{le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("test_plain_count 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherMetersAndOtherFactories_AreIgnored()
    {
        using var otherServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var otherFactory = otherServices.GetRequiredService<IMeterFactory>();
        otherFactory.Create(OpenAiStreamingMetricNames.MeterName).CreateCounter<long>("test.elsewhere").Add(1);
        _factory.Create("SomethingElse").CreateCounter<long>("test.other_meter").Add(1);

        string text = _exposition.Format();

        Assert.DoesNotContain("test_elsewhere", text, StringComparison.Ordinal);
        Assert.DoesNotContain("test_other_meter", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RealMeter_EveryInstrumentHasItsPrometheusName_EveryLineIsValid()
    {
        var metrics = new OpenAiStreamingMetrics(_factory);
        var time = TimeProvider.System;
        var request = metrics.StartRequest("tiny \"char\" lm", "chat", time.GetTimestamp(), time);
        request.Flushed(2, 300, time.GetTimestamp(), hadContent: true);
        request.Flushed(1, 100, time.GetTimestamp(), hadContent: true);
        request.Heartbeat();
        request.End(RequestOutcome.Completed("stop", 3, 2));

        string text = _exposition.Format();

        string[] families =
        [
            "gen_ai_server_time_to_first_token_seconds histogram",
            "gen_ai_server_time_per_output_token_seconds histogram",
            "gen_ai_server_request_duration_seconds histogram",
            "openai_streaming_inter_token_latency_seconds histogram",
            "openai_streaming_queue_wait_seconds histogram",
            "openai_streaming_flush_duration_seconds histogram",
            "openai_streaming_active_streams gauge",
            "openai_streaming_client_disconnects_total counter",
            "openai_streaming_heartbeats_total counter",
            "openai_streaming_chunks_total counter",
            "openai_streaming_bytes_total counter",
            "openai_streaming_coalesced_deltas_total counter",
            "openai_streaming_tokens_total counter",
            "openai_streaming_requests_total counter",
        ];
        Assert.All(families, f => Assert.Contains("# TYPE " + f + "\n", text, StringComparison.Ordinal));
        Assert.Contains("openai_streaming_bytes_total{gen_ai_operation_name=\"chat\",gen_ai_request_model=\"tiny \\\"char\\\" lm\"} 400\n", text, StringComparison.Ordinal);
        Assert.Contains("gen_ai_server_time_to_first_token_seconds_bucket{gen_ai_operation_name=\"chat\",gen_ai_request_model=\"tiny \\\"char\\\" lm\",gen_ai_response_finish_reason=\"stop\",le=\"0.001\"} ", text, StringComparison.Ordinal);
        Assert.Contains("openai_streaming_tokens_total{gen_ai_operation_name=\"chat\",gen_ai_request_model=\"tiny \\\"char\\\" lm\",gen_ai_token_type=\"output\"} 2\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        foreach (string line in text.TrimEnd('\n').Split('\n'))
        {
            Assert.Matches(line.StartsWith('#') ? CommentLine() : SampleLine(), line);
        }
    }

    [GeneratedRegex("""^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram))$""")]
    private static partial Regex CommentLine();

    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? (\+Inf|-Inf|NaN|-?[0-9.eE+-]+)$""")]
    private static partial Regex SampleLine();
}
