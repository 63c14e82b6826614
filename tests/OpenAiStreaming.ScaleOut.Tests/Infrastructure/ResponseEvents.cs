using System.Net.ServerSentEvents;
using System.Text.Json;

namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>One Responses API event as a client reads it: its sequence number, type and data.</summary>
public sealed record ResponseEventRead(long SequenceNumber, string Type, string Data);

/// <summary>Reads a Responses API event stream (<c>GET /v1/responses/{id}?stream=true</c>) as a client does.</summary>
public sealed class ResponseEvents
{
    private readonly List<ResponseEventRead> _events = [];
    private readonly TaskCompletionSource _enough = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _enoughCount;

    private ResponseEvents(HttpClient client, string path, int enoughCount)
    {
        _enoughCount = enoughCount;
        Ended = ReadAsync(client, path);
    }

    /// <summary>Completes with the failure that ended the stream, or null when it ended normally.</summary>
    public Task<Exception?> Ended { get; }

    /// <summary>Completes once <c>enoughCount</c> events have arrived.</summary>
    public Task Enough => _enough.Task;

    public IReadOnlyList<ResponseEventRead> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public static ResponseEvents Start(HttpClient client, string path, int enoughCount = 1) => new(client, path, enoughCount);

    private async Task<Exception?> ReadAsync(HttpClient client, string path)
    {
        await Task.Yield();
        try
        {
            using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(TestContext.Current.CancellationToken))
            {
                using var json = JsonDocument.Parse(item.Data);
                long sequence = json.RootElement.TryGetProperty("sequence_number", out var s) ? s.GetInt64() : -1;
                lock (_events)
                {
                    _events.Add(new ResponseEventRead(sequence, item.EventType, item.Data));
                    if (_events.Count >= _enoughCount)
                    {
                        _enough.TrySetResult();
                    }
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return ex;
        }
        finally
        {
            _enough.TrySetResult();
        }
    }
}
