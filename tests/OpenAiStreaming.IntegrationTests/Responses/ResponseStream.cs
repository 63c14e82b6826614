using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>One response event as a client received it: its SSE fields and its parsed data.</summary>
public sealed record ResponseStreamEvent(string EventType, string? Id, JsonElement Data)
{
    public string Type => Data.GetProperty("type").GetString()!;

    public long SequenceNumber => Data.GetProperty("sequence_number").GetInt64();
}

/// <summary>Requests to <c>/v1/responses</c> and readers of its event streams.</summary>
public static class ResponseStream
{
    public static HttpRequestMessage Create(string json) =>
        new(HttpMethod.Post, "v1/responses") { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static string Body(string input = "Hello", bool stream = true, bool background = false, string extra = "") =>
        $$"""{"model":"test-model","input":{{JsonSerializer.Serialize(input)}},"stream":{{(stream ? "true" : "false")}},"background":{{(background ? "true" : "false")}}{{extra}}}""";

    /// <summary>Sends and reads the event stream to its end (or until the connection breaks).</summary>
    public static async Task<(HttpResponseMessage Response, List<ResponseStreamEvent> Events, Exception? Failure)> ReadAllAsync(HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var events = new List<ResponseStreamEvent>();
        var failure = await Record.ExceptionAsync(() => ReadAsync(response, events, int.MaxValue));
        return (response, events, failure);
    }

    /// <summary>Reads events into <paramref name="events"/> until <paramref name="count"/> have arrived or the stream ends.</summary>
    public static async Task ReadAsync(HttpResponseMessage response, List<ResponseStreamEvent> events, int count)
    {
        var body = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        if (count <= 0)
        {
            return;
        }

        await foreach (var item in SseParser.Create(body, (type, data) => JsonDocument.Parse(data.ToArray()).RootElement.Clone())
            .EnumerateAsync(TestContext.Current.CancellationToken))
        {
            events.Add(new ResponseStreamEvent(item.EventType, item.EventId, item.Data));
            if (events.Count >= count)
            {
                return;
            }
        }
    }

    /// <summary>The text the <c>response.output_text.delta</c> events carry, concatenated.</summary>
    public static string Text(IEnumerable<ResponseStreamEvent> events) =>
        string.Concat(events.Where(e => e.Type == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString()));

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.Clone();
}
