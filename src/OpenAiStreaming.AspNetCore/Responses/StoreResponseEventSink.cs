using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// A background response's events into its store: everything written between two flushes is appended in one call,
/// so a shared store pays one round trip per wake-up of the model's stream, not one per token.
/// </summary>
internal sealed class StoreResponseEventSink(IResponseEventWriter writer) : IResponseEventSink
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly List<ResponseEvent> _pending = [];
    private Utf8JsonWriter? _json;
    private string? _type;
    private long _sequenceNumber;
    private long _pendingBytes;

    public int UnflushedEvents => _pending.Count;

    public long UnflushedBytes => _pendingBytes;

    public void Start(HttpResponse response)
    {
        // Nothing to start: the store is the stream.
    }

    public Utf8JsonWriter BeginEvent(string type, long sequenceNumber)
    {
        _buffer.ResetWrittenCount();
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_buffer, ResponseObject.WriterOptions);
        }
        else
        {
            _json.Reset(_buffer);
        }

        _type = type;
        _sequenceNumber = sequenceNumber;
        return _json;
    }

    public void EndEvent()
    {
        _json!.Flush();
        _pending.Add(new ResponseEvent(_sequenceNumber, _type!, _buffer.WrittenSpan.ToArray()));
        _pendingBytes += _buffer.WrittenCount;
    }

    public void WriteHeartbeat()
    {
        // Readers write their own heartbeats; the store needs none.
    }

    public async ValueTask<FlushResult> FlushAsync(StoredResponse? snapshot, CancellationToken cancellationToken)
    {
        if (_pending.Count == 0 && snapshot is null)
        {
            return default;
        }

        try
        {
            await writer.AppendAsync([.. _pending], snapshot, cancellationToken).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException)
        {
            // The lifecycle reads a completed flush as "nobody can receive this any more" and stops the model.
            return new FlushResult(isCanceled: false, isCompleted: true);
        }
        finally
        {
            _pending.Clear();
            _pendingBytes = 0;
        }

        return default;
    }
}
