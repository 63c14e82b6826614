using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OpenAiStreaming.ServerSentEvents;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>Response events as server-sent events: <c>event:</c> the type, <c>id:</c> the sequence number.</summary>
internal sealed class SseResponseEventSink : IResponseEventSink
{
    private ServerSentEventWriter? _sse;

    public int UnflushedEvents => _sse!.UnflushedEvents;

    public long UnflushedBytes => _sse!.UnflushedBytes;

    public void Start(HttpResponse response)
    {
        response.PrepareServerSentEvents();
        _sse = new ServerSentEventWriter(response.BodyWriter, ResponseObject.WriterOptions);
    }

    public Utf8JsonWriter BeginEvent(string type, long sequenceNumber)
    {
        Span<byte> typeBytes = stackalloc byte[64];
        int typeLength = Encoding.UTF8.GetBytes(type, typeBytes);
        // An event outside the response's sequence (a reader's error) gets no id: the client's last id stays valid.
        Span<byte> id = stackalloc byte[20];
        int idLength = 0;
        if (sequenceNumber >= 0)
        {
            Utf8Formatter.TryFormat(sequenceNumber, id, out idLength);
        }

        return _sse!.BeginJsonData(typeBytes[..typeLength], id[..idLength]);
    }

    public void EndEvent() => _sse!.EndJsonData();

    /// <summary>Writes a stored event as it was produced.</summary>
    public void Write(in ResponseEvent stored)
    {
        Span<byte> typeBytes = stackalloc byte[64];
        int typeLength = Encoding.UTF8.GetBytes(stored.Type, typeBytes);
        Span<byte> id = stackalloc byte[20];
        Utf8Formatter.TryFormat(stored.SequenceNumber, id, out int idLength);
        _sse!.WriteData(stored.Data.Span, typeBytes[..typeLength], id[..idLength]);
    }

    public void WriteHeartbeat() => _sse!.WriteComment("keep-alive");

    public ValueTask<FlushResult> FlushAsync(StoredResponse? snapshot, CancellationToken cancellationToken) => _sse!.FlushAsync(cancellationToken);
}
