using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using ChatServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace ChatServer.Tests;

/// <summary>The sample's <c>GET /metrics</c>, served by OpenTelemetry's Prometheus exporter, scraped after a real stream.</summary>
[Collection(SampleAppCollection.Name)]
public sealed partial class MetricsEndpointTests
{
    private const string Ttft = "gen_ai_server_time_to_first_token_seconds";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_AfterAStream_ServesTimeToFirstTokenOnTheAdvisedBuckets()
    {
        await using var app = ChatServerApp.Create(
            ["--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00", "--Logging:LogLevel:Default=Warning"]);
        using var ttft = new MetricCollector<double>(app.Services.GetRequiredService<IMeterFactory>(), MeterName, TimeToFirstToken);
        await app.StartAsync(Ct);
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        using var request = new StringContent(
            """{"model":"tiny-char-lm","stream":true,"max_tokens":8,"seed":3,"messages":[{"role":"user","content":"Hi"}]}""",
            Encoding.UTF8, "application/json");
        using var stream = await client.PostAsync(new Uri("v1/chat/completions", UriKind.Relative), request, Ct);
        string events = await stream.Content.ReadAsStringAsync(Ct);
        Assert.EndsWith("data: [DONE]\n\n", events, StringComparison.Ordinal);
        await ttft.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));

        using var response = await client.GetAsync(new Uri("metrics", UriKind.Relative), Ct);
        string text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"# TYPE {Ttft} histogram\n", text, StringComparison.Ordinal);
        // The SDK listens to every meter of this name in the process, so another host's series may be there too.
        const string labels = "otel_scope_name=\"OpenAiStreaming\",gen_ai_operation_name=\"chat\",gen_ai_request_model=\"tiny-char-lm\",gen_ai_response_finish_reason=\"length\"";
        var series = Assert.Single(Series(text, Ttft + "_count"), s => s.Labels == labels);
        Assert.True(series.Value >= 1, $"TTFT count {series.Value}");

        // One cumulative series per bucket of the same tag set, on the bounds the instrument advises, ending in +Inf.
        var buckets = Series(text, Ttft + "_bucket")
            .Select(b => (Labels: LeLabel().Replace(b.Labels, string.Empty), Le: LeLabel().Match(b.Labels).Groups[1].Value, b.Value))
            .Where(b => b.Labels == series.Labels)
            .ToList();
        var advised = ((Histogram<double>)ttft.Instrument!).Advice!.HistogramBucketBoundaries!;
        Assert.Equal(advised.Select(b => b.ToString(CultureInfo.InvariantCulture)).Append("+Inf"), buckets.Select(b => b.Le));
        Assert.Equal(series.Value, buckets[^1].Value);
        Assert.All(buckets.Zip(buckets.Skip(1)), pair => Assert.True(pair.First.Value <= pair.Second.Value, "buckets are not cumulative"));
        Assert.Contains(Series(text, Ttft + "_sum"), s => s.Labels == series.Labels && s.Value > 0);
    }

    /// <summary>Every sample of one metric: its label set (without the braces) and value.</summary>
    private static List<(string Labels, double Value)> Series(string text, string name) =>
        [.. text.Split('\n')
            .Select(line => SampleLine().Match(line))
            .Where(m => m.Success && m.Groups["name"].Value == name)
            .Select(m => (m.Groups["labels"].Value, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)))];

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>.*)\})? (?<value>\S+)(?: \d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@",?le=""([^""]*)""")]
    private static partial Regex LeLabel();
}
