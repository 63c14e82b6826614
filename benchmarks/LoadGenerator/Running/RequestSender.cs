using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Sse;

namespace OpenAiStreaming.LoadGenerator.Running;

/// <summary>
/// Sends one streaming chat completion and measures it into a <see cref="Worker"/>: time to first content event,
/// every gap between content events, time per output token, end to end, and the outcome. Timestamps are taken right
/// after each read of the body returns, so events that arrive in one read share a timestamp (a gap of 0).
/// </summary>
internal sealed class RequestSender
{
    /// <summary>Most bytes of an error response read for its message.</summary>
    private const int MaxErrorBodyBytes = 64 * 1024;

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _client;
    private readonly Uri _chatUri;
    private readonly byte[] _body;
    private readonly string? _authorization;
    private readonly string _runId;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly int _abortAfterEvents;

    /// <summary>Creates a sender.</summary>
    /// <param name="client">The run's client.</param>
    /// <param name="chatUri">The chat completions address.</param>
    /// <param name="body">The request body, sent as is by every request.</param>
    /// <param name="apiKey">The bearer key, or null.</param>
    /// <param name="runId">Prefix of the X-Bench-Id values.</param>
    /// <param name="time">The clock.</param>
    /// <param name="timeout">Longest time per request.</param>
    /// <param name="abortAfterEvents">Content events after which the client aborts a stream; 0: never.</param>
    public RequestSender(HttpClient client, Uri chatUri, byte[] body, string? apiKey, string runId, TimeProvider time, TimeSpan timeout, int abortAfterEvents)
    {
        _client = client;
        _chatUri = chatUri;
        _body = body;
        _authorization = apiKey is null ? null : "Bearer " + apiKey;
        _runId = runId;
        _time = time;
        _timeout = timeout;
        _abortAfterEvents = abortAfterEvents;
    }

    /// <summary>Milliseconds between two timestamps of the sender's clock.</summary>
    /// <param name="from">Earlier timestamp.</param>
    /// <param name="to">Later timestamp.</param>
    /// <returns>The time between them in ms.</returns>
    public double Ms(long from, long to) => (to - from) * 1000.0 / _time.TimestampFrequency;

    /// <summary>Sends request number <paramref name="sequence"/> and records it in <paramref name="worker"/>.</summary>
    /// <param name="worker">Where the measurements go.</param>
    /// <param name="sequence">The request's number in the run, for its X-Bench-Id.</param>
    /// <param name="stop">Stops the run: the request is abandoned and counted as interrupted.</param>
    /// <returns>A task that completes when the request is finished and recorded.</returns>
    public async Task SendAsync(Worker worker, long sequence, CancellationToken stop)
    {
        string id = string.Concat(_runId, "-", sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var request = new HttpRequestMessage(HttpMethod.Post, _chatUri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(_body),
        };
        request.Content.Headers.ContentType = JsonContentType;
        request.Headers.TryAddWithoutValidation("X-Bench-Id", id);
        if (_authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(_timeout);
        long sent = _time.GetTimestamp();
        long first = 0;
        long last = 0;
        int events = 0;
        int usageTokens = -1;
        int gapsBefore = worker.GapsMs.Count;
        int ttftBefore = worker.TtftMs.Count;
        worker.Sent++;
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                worker.AddError(await DescribeErrorResponseAsync(response, timeout.Token).ConfigureAwait(false));
                return;
            }

            var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var timed = new ReadTimingStream(stream, _time);
                await foreach (var item in SseParser.Create(timed, ChunkClassifier.Parse).EnumerateAsync(timeout.Token).ConfigureAwait(false))
                {
                    long now = timed.LastReadTimestamp;
                    var batch = item.Data;
                    if (batch.ContentEvents > 0)
                    {
                        if (events == 0)
                        {
                            first = now;
                            worker.TtftMs.Add(Ms(sent, now));
                        }
                        else
                        {
                            // Events that came in the same read share its timestamp: gaps of zero.
                            worker.GapsMs.Add((float)Ms(last, now));
                        }

                        last = now;
                        events++;
                        worker.Events++;
                    }

                    if (batch.CompletionTokens >= 0)
                    {
                        usageTokens = batch.CompletionTokens;
                    }

                    if (batch.Error is not null)
                    {
                        worker.AddError(batch.Error);
                        return;
                    }

                    if (batch.Done)
                    {
                        Complete(worker, sent, first, now, events, usageTokens);
                        await DrainAsync(stream, timeout.Token).ConfigureAwait(false);
                        return;
                    }

                    if (_abortAfterEvents > 0 && events >= _abortAfterEvents)
                    {
                        // Leaving the using blocks disposes the response unread, which closes the connection at once
                        // (the handler drains nothing): what a browser tab that goes away does.
                        worker.Aborts.Add((id, Nanoseconds(_time.GetTimestamp())));
                        worker.Aborted++;
                        worker.Ok++;
                        worker.Tokens += events;
                        return;
                    }
                }

                worker.AddError($"stream ended without data: [DONE] after {events} content events");
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Not measured at all: a request cut short by Ctrl+C says nothing about the server.
            worker.Interrupted++;
            worker.Events -= events;
            worker.GapsMs.RemoveRange(gapsBefore, worker.GapsMs.Count - gapsBefore);
            worker.TtftMs.RemoveRange(ttftBefore, worker.TtftMs.Count - ttftBefore);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            worker.AddError($"timeout after {_timeout.TotalSeconds:0.###} s, {events} content events received");
        }
        catch (HttpRequestException e)
        {
            worker.AddError($"request failed after {events} content events: {Describe(e)}");
        }
        catch (IOException e)
        {
            worker.AddError($"connection lost after {events} content events: {Describe(e)}");
        }
    }

    /// <summary>The clock's timestamp in nanoseconds (on Linux, CLOCK_MONOTONIC: the clock peers stamp cancellations with).</summary>
    /// <param name="timestamp">A timestamp of the sender's clock.</param>
    /// <returns>Nanoseconds.</returns>
    public long Nanoseconds(long timestamp)
    {
        long frequency = _time.TimestampFrequency;
        return frequency == 1_000_000_000 ? timestamp : (long)((Int128)timestamp * 1_000_000_000 / frequency);
    }

    private void Complete(Worker worker, long sent, long first, long done, int events, int usageTokens)
    {
        int tokens = usageTokens >= 0 ? usageTokens : events;
        double e2e = Ms(sent, done);
        worker.Ok++;
        worker.Tokens += tokens;
        worker.E2eMs.Add(e2e);
        if (events > 0 && tokens > 1)
        {
            worker.TpotMs.Add((e2e - Ms(sent, first)) / (tokens - 1));
        }
    }

    /// <summary>Reads the rest of a finished response (normally just the end of the chunked body), so the connection
    /// goes back to the pool. Everything after <c>[DONE]</c> is ignored; a failure here is not the request's.</summary>
    private static async Task DrainAsync(Stream stream, CancellationToken cancellationToken)
    {
        try
        {
            await stream.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // The answer was complete at [DONE]; only the connection's reuse is lost.
        }
    }

    private static async Task<string> DescribeErrorResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        string body;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                byte[] buffer = new byte[MaxErrorBodyBytes];
                int length = 0;
                int read;
                while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                body = Encoding.UTF8.GetString(buffer, 0, length);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return status;
        }

        string? message = OpenAiErrorMessage(body);
        string text = message ?? body.Trim();
        if (text.Length > 300)
        {
            text = text[..300] + "…";
        }

        return text.Length == 0 ? status : $"{status}: {text}";
    }

    /// <summary>The <c>error.message</c> of an OpenAI error body (or <c>detail</c>, FastAPI's shape), or null.</summary>
    /// <param name="body">A response body.</param>
    /// <returns>The message, or null when the body has none.</returns>
    internal static string? OpenAiErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
                {
                    return message.GetString();
                }

                if (error.ValueKind == JsonValueKind.String)
                {
                    return error.GetString();
                }
            }

            if (root.TryGetProperty("message", out var topMessage) && topMessage.ValueKind == JsonValueKind.String)
            {
                return topMessage.GetString();
            }

            return root.TryGetProperty("detail", out var detail) ? detail.ToString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(Exception e) =>
        e.InnerException is { } inner && !e.Message.Contains(inner.Message, StringComparison.Ordinal) ? $"{e.Message} ({inner.Message})" : e.Message;
}
