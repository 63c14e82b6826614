using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Where a response's events go: the HTTP response as server-sent events (<see cref="SseResponseEventSink"/>), a
/// background response's store (<see cref="StoreResponseEventSink"/>), or a WebSocket.
/// </summary>
internal interface IResponseEventSink
{
    int UnflushedEvents { get; }

    long UnflushedBytes { get; }

    /// <summary>Starts the stream: for HTTP, its headers.</summary>
    void Start(HttpResponse response);

    /// <summary>Starts one event; its JSON object is written into the returned writer, then <see cref="EndEvent"/>.</summary>
    Utf8JsonWriter BeginEvent(string type, long sequenceNumber);

    void EndEvent();

    void WriteHeartbeat();

    /// <summary>Sends what was written; with <paramref name="snapshot"/>, the response's new state goes with it.</summary>
    ValueTask<FlushResult> FlushAsync(StoredResponse? snapshot, CancellationToken cancellationToken);
}
