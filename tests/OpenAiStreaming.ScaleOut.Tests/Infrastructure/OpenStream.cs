using System.Net;
using System.Net.ServerSentEvents;

namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>How a chat stream ended, as a client sees it.</summary>
public enum StreamEnd
{
    /// <summary><c>data: [DONE]</c> after the answer.</summary>
    Complete,

    /// <summary>An error event, then the connection broke off: visibly failed.</summary>
    ErrorEvent,

    /// <summary>Refused with a status before any event (429, 503), visibly.</summary>
    Refused,

    /// <summary>Anything else: the stream stopped without [DONE] and without an error event. Never allowed.</summary>
    Truncated,
}

/// <summary>A chat stream read in the background: its first token, its events, how it ended.</summary>
public sealed class OpenStream
{
    private readonly TaskCompletionSource _firstToken = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _events = [];

    private OpenStream(HttpClient client, string body) => Ended = ReadAsync(client, body);

    /// <summary>Completes at the first content delta; faults when the stream ends before one.</summary>
    public Task FirstToken => _firstToken.Task;

    /// <summary>How the stream ended, once it has.</summary>
    public Task<StreamEnd> Ended { get; }

    /// <summary>The status of the response.</summary>
    public HttpStatusCode Status { get; private set; }

    /// <summary>The data of every event so far.</summary>
    public IReadOnlyList<string> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public static OpenStream Start(HttpClient client, string body) => new(client, body);

    private async Task<StreamEnd> ReadAsync(HttpClient client, string body)
    {
        await Task.Yield();
        string? last = null;
        try
        {
            using var response = await client.SendAsync(Sse.ChatRequest(body), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
            Status = response.StatusCode;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                _firstToken.TrySetException(new InvalidOperationException($"refused: {response.StatusCode}"));
                return StreamEnd.Refused;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(TestContext.Current.CancellationToken))
            {
                last = item.Data;
                lock (_events)
                {
                    _events.Add(last);
                }

                if (last.Contains("\"content\":\"", StringComparison.Ordinal) && !last.Contains("\"role\"", StringComparison.Ordinal))
                {
                    _firstToken.TrySetResult();
                }
            }
        }
        catch (HttpRequestException) when (last is null)
        {
            // The connection failed before any answer (the proxy's upstream went away): visibly refused.
            _firstToken.TrySetException(new InvalidOperationException("no response"));
            return StreamEnd.Refused;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && last?.StartsWith("{\"error\"", StringComparison.Ordinal) == true)
        {
            _firstToken.TrySetException(new InvalidOperationException("error event"));
            return StreamEnd.ErrorEvent;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            _firstToken.TrySetException(ex);
            return StreamEnd.Truncated;
        }

        _firstToken.TrySetException(new InvalidOperationException("ended before a token"));
        return last == "[DONE]" ? StreamEnd.Complete
            : last?.StartsWith("{\"error\"", StringComparison.Ordinal) == true ? StreamEnd.ErrorEvent
            : StreamEnd.Truncated;
    }
}
