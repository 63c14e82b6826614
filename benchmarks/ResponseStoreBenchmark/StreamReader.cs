using System.Diagnostics;
using System.Net.ServerSentEvents;

namespace OpenAiStreaming.ResponseStoreBenchmark;

/// <summary>What one reader of a response's event stream saw.</summary>
internal sealed record StreamRead(int Events, int Deltas, bool Complete, List<double> GapsMs);

/// <summary>Reads <c>GET /v1/responses/{id}?stream=true</c> as a client does, timing the gap before each event.</summary>
internal static class ResponseStreamReader
{
    public static async Task<StreamRead> ReadAsync(HttpClient client, string id, long startingAfter, bool keepGaps)
    {
        using var response = await client.GetAsync($"v1/responses/{id}?stream=true&starting_after={startingAfter}", HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var gaps = new List<double>();
            int events = 0, deltas = 0;
            string last = "";
            long previous = 0;
            await foreach (var item in SseParser.Create(stream).EnumerateAsync().ConfigureAwait(false))
            {
                long now = Stopwatch.GetTimestamp();
                if (keepGaps && events > 0)
                {
                    gaps.Add(Stopwatch.GetElapsedTime(previous, now).TotalMilliseconds);
                }

                previous = now;
                events++;
                last = item.EventType;
                if (last == "response.output_text.delta")
                {
                    deltas++;
                }
            }

            return new StreamRead(events, deltas, last is "response.completed" or "response.incomplete", gaps);
        }
    }
}
