using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace OpenAiStreaming.Testing.EventStreams;

/// <summary>Chat Completions requests, and what a test asserts about the event stream that answers them.</summary>
public static class Sse
{
    /// <summary>A POST of <paramref name="json"/> to <c>v1/chat/completions</c>.</summary>
    /// <param name="json">The request body.</param>
    /// <returns>The request.</returns>
    public static HttpRequestMessage ChatRequest(string json) =>
        new(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    /// <summary>A chat request body with one user message, <c>Hello</c>.</summary>
    /// <param name="stream">The <c>stream</c> field.</param>
    /// <param name="includeUsage">Whether to ask for the usage chunk.</param>
    /// <param name="model">The <c>model</c> field.</param>
    /// <param name="extra">More fields, each starting with a comma.</param>
    /// <returns>The JSON.</returns>
    public static string ChatBody(bool stream = true, bool includeUsage = false, string model = "test-model", string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hello"}],"stream":{{(stream ? "true" : "false")}}{{(includeUsage ? ",\"stream_options\":{\"include_usage\":true}" : "")}}{{extra}}}""";

    /// <summary>Sends a request and reads its event stream to the end with <see cref="SseCapture"/>, timing each event.</summary>
    /// <param name="client">The client.</param>
    /// <param name="request">The request.</param>
    /// <returns>The response (its body read) and its events, timed from the request.</returns>
    public static async Task<(HttpResponseMessage Response, List<ReceivedEvent> Events)> ReadAllAsync(HttpClient client, HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(client);
        var capture = new SseCapture();
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await capture.ReadToEndAsync(response);
        return (response, capture.Events);
    }

    /// <summary>Reads a stream that may break off: the events that arrived, and the exception that ended it, if any.</summary>
    /// <param name="client">The client.</param>
    /// <param name="request">The request.</param>
    /// <returns>The events' data, and the failure.</returns>
    public static async Task<(List<string> Events, Exception? Failure)> ReadUntilFailureAsync(HttpClient client, HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var capture = new SseCapture();
        var failure = await Record.ExceptionAsync(() => capture.ReadToEndAsync(response));
        return (capture.Events.ConvertAll(e => e.Data), failure);
    }

    /// <summary>Reads events until one's data contains <paramref name="marker"/>; the rest of the stream stays unread.</summary>
    /// <param name="response">A response whose headers have arrived.</param>
    /// <param name="marker">Text to look for, such as <c>"content":"w</c>.</param>
    /// <returns>A task that completes at the matching event; the test fails if the stream ends before it.</returns>
    public static async Task ReadUntilAsync(HttpResponseMessage response, string marker)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(TestContext.Current.CancellationToken))
        {
            if (item.Data.Contains(marker, StringComparison.Ordinal))
            {
                return;
            }
        }

        Assert.Fail($"the stream ended before '{marker}'");
    }

    /// <summary>The event's data as JSON.</summary>
    /// <param name="e">The event.</param>
    /// <returns>The root element.</returns>
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

    /// <summary>A response or content header's values joined by commas, or null when absent.</summary>
    /// <param name="response">The response.</param>
    /// <param name="name">The header.</param>
    /// <returns>The value.</returns>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : null;

    /// <summary>The response's <c>Content-Type</c>.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The media type, or null.</returns>
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
