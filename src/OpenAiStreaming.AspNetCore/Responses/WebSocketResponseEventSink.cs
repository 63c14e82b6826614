using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Response events over a WebSocket (WebSocket mode): each event one text message, the events written between two
/// flushes sent together. Keep-alive is the WebSocket's own ping/pong.
/// </summary>
internal sealed class WebSocketResponseEventSink(WebSocket socket) : IResponseEventSink
{
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly List<(int Start, int Length)> _messages = [];
    private Utf8JsonWriter? _json;
    private int _start;

    public int UnflushedEvents => _messages.Count;

    public long UnflushedBytes => _buffer.WrittenCount;

    public void Start(HttpResponse response)
    {
        // The socket is open already.
    }

    public Utf8JsonWriter BeginEvent(string type, long sequenceNumber)
    {
        _start = _buffer.WrittenCount;
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_buffer, ResponseObject.WriterOptions);
        }
        else
        {
            _json.Reset(_buffer);
        }

        return _json;
    }

    public void EndEvent()
    {
        _json!.Flush();
        _messages.Add((_start, _buffer.WrittenCount - _start));
    }

    public void WriteHeartbeat()
    {
        // The WebSocket's keep-alive pings keep idle sockets open.
    }

    public async ValueTask<FlushResult> FlushAsync(StoredResponse? snapshot, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (start, length) in _messages)
            {
                await socket.SendAsync(_buffer.WrittenMemory.Slice(start, length), WebSocketMessageType.Text, endOfMessage: true, cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        catch (WebSocketException)
        {
            return new FlushResult(isCanceled: false, isCompleted: true);
        }
        finally
        {
            _messages.Clear();
            _buffer.ResetWrittenCount();
        }

        return default;
    }
}
