using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>One event as the client saw it, with the time it arrived.</summary>
public sealed record ReceivedEvent(string Data, TimeSpan At);

public static class Sse
{
    public static HttpRequestMessage ChatRequest(string json) =>
        new(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static string ChatBody(bool stream = true, bool includeUsage = false, string model = "test-model", string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hello"}],"stream":{{(stream ? "true" : "false")}}{{(includeUsage ? ",\"stream_options\":{\"include_usage\":true}" : "")}}{{extra}}}""";

    /// <summary>Sends a request and reads its event stream to the end with <see cref="SseParser"/>, timing each event.</summary>
    public static async Task<(HttpResponseMessage Response, List<ReceivedEvent> Events)> ReadAllAsync(HttpClient client, HttpRequestMessage request)
    {
        var clock = Stopwatch.StartNew();
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var events = new List<ReceivedEvent>();
        await using var body = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(TestContext.Current.CancellationToken))
        {
            events.Add(new ReceivedEvent(item.Data, clock.Elapsed));
        }

        return (response, events);
    }

    /// <summary>Reads a stream that may break off: the events that arrived, and the exception that ended it, if any.</summary>
    public static async Task<(List<string> Events, Exception? Failure)> ReadUntilFailureAsync(HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        var received = new List<string>();
        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var item in SseParser.Create(body).EnumerateAsync(TestContext.Current.CancellationToken))
            {
                received.Add(item.Data);
            }
        });
        return (received, failure);
    }

    public static JsonElement Json(this ReceivedEvent e) => JsonDocument.Parse(e.Data).RootElement;

    /// <summary>The content deltas of a chat stream, in order.</summary>
    public static List<string> Contents(IEnumerable<ReceivedEvent> events) => Contents(events.Select(e => e.Data));

    /// <summary>The content deltas of a chat stream, in order.</summary>
    public static List<string> Contents(IEnumerable<string> events) =>
        [.. events.Where(e => e != "[DONE]")
            .Select(e => JsonDocument.Parse(e).RootElement)
            .Where(j => j.TryGetProperty("choices", out _))
            .Where(j => j.GetProperty("choices").GetArrayLength() > 0 && j.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 })
            .Select(j => j.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()!)];

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : null;

    public static MediaTypeHeaderValue? ContentType(HttpResponseMessage response) => response.Content.Headers.ContentType;

    /// <summary>
    /// Paced, not buffered: <paramref name="events"/> (the content events of a backend that produced one every
    /// <paramref name="pace"/>) spread over most of that time, and every gap but at most one is over half the pace. A
    /// loaded machine may stall the reader once and deliver two events together; a buffering hop delivers them all
    /// together at the end.
    /// </summary>
    public static void AssertPaced(IReadOnlyList<ReceivedEvent> events, TimeSpan pace, int expectedCount, string what = "")
    {
        Assert.Equal(expectedCount, events.Count);
        var gaps = events.Zip(events.Skip(1), (a, b) => b.At - a.At).ToList();
        string described = $"{what} gaps {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:F0} ms"))}";
        Assert.True(gaps.Count(g => g <= pace / 2) <= 1, $"events arrived together ({described}): buffered");
        Assert.True(events[^1].At - events[0].At > pace * (expectedCount - 1) * 0.75, $"events arrived within a short time ({described}): buffered");
    }
}
