using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OpenAiStreaming.ServerSentEvents;

/// <summary>
/// Writes Server-Sent Events as UTF-8 straight into a <see cref="PipeWriter"/>: data events (raw or JSON), comment lines
/// and <c>id:</c> fields. Nothing reaches the network until <see cref="FlushAsync"/>, so a caller decides how many events
/// go out per flush: one per event for live tokens, or everything drained from a queue in one batch.
/// </summary>
/// <remarks>Not thread-safe: one writer per response, used by the task that owns the response.</remarks>
public sealed class ServerSentEventWriter
{
    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;
    private static ReadOnlySpan<byte> IdPrefix => "id: "u8;
    private static ReadOnlySpan<byte> EventPrefix => "event: "u8;
    private static ReadOnlySpan<byte> EventEnd => "\n\n"u8;

    /// <summary>The longest event <see cref="TryWriteWhole"/> writes in one piece: within a pipe's 4 KiB memory block,
    /// so that asking for the piece never makes the pipe allocate a larger one.</summary>
    private const int WholeEventLimit = 4000;

    /// <summary>The pipe every event is written to.</summary>
    private readonly PipeWriter _output;

    /// <summary>The JSON options of a writer created without any: compact output with relaxed escaping, so non-ASCII
    /// text is written as UTF-8 rather than <c>\uXXXX</c> escapes. Code that writes JSON for these events by other means
    /// escapes with these, so that its bytes match.</summary>
    public static JsonWriterOptions DefaultJsonOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Where a writer waiting in <see cref="t_spareJson"/> points, so that it holds on to no response.</summary>
    private static readonly ArrayBufferWriter<byte> s_nowhere = new(1);

    /// <summary>
    /// A JSON writer with the default options, free for the next event on this thread. A writer with the default
    /// options takes it for the length of one event instead of keeping one per response: a server holds thousands of
    /// open streams, and an event is written in one go.
    /// </summary>
    [ThreadStatic]
    private static Utf8JsonWriter? t_spareJson;

    /// <summary>This writer's own JSON writer when it was given options; null with the defaults (see <see cref="t_spareJson"/>).</summary>
    private readonly Utf8JsonWriter? _ownJson;

    /// <summary>The JSON writer of the event being written, between <see cref="BeginJsonData"/> and <see cref="EndJsonData"/>.</summary>
    private Utf8JsonWriter? _json;

    /// <summary>True between <see cref="BeginJsonData"/> and <see cref="EndJsonData"/>.</summary>
    private bool _inJsonEvent;

    /// <summary>Events and comments written since the last flush.</summary>
    private int _unflushedEvents;

    /// <summary>Creates a writer over <paramref name="output"/>.</summary>
    /// <param name="output">The pipe to write to, typically <c>HttpResponse.BodyWriter</c>.</param>
    /// <param name="jsonOptions">Options for JSON events, or null for <see cref="DefaultJsonOptions"/>. Indented output
    /// is not allowed: an event's data must stay on one line.</param>
    public ServerSentEventWriter(PipeWriter output, JsonWriterOptions? jsonOptions = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (jsonOptions is { Indented: true })
        {
            throw new ArgumentException("Indented JSON would put newlines inside an event's data.", nameof(jsonOptions));
        }

        _output = output;
        _ownJson = jsonOptions is { } options ? new Utf8JsonWriter(output, options) : null;
    }

    /// <summary>Bytes written since the last flush, not yet handed to the transport (0 where the pipe cannot tell).</summary>
    public long UnflushedBytes => _output.CanGetUnflushedBytes ? _output.UnflushedBytes : 0;

    /// <summary>Events and comments written since the last flush.</summary>
    public int UnflushedEvents => _unflushedEvents;

    /// <summary>
    /// Writes one event whose data is <paramref name="data"/> (UTF-8). Line breaks in the data become separate
    /// <c>data:</c> lines, as the SSE format requires, so the client reassembles the same text.
    /// </summary>
    /// <param name="data">The event's data.</param>
    /// <param name="eventType">The <c>event:</c> field, or empty for the default <c>message</c> type.</param>
    /// <param name="id">The <c>id:</c> field, or empty for none.</param>
    public void WriteData(ReadOnlySpan<byte> data, ReadOnlySpan<byte> eventType = default, ReadOnlySpan<byte> id = default)
    {
        ThrowIfInJsonEvent();
        if (eventType.IsEmpty && id.IsEmpty && TryWriteWhole(data))
        {
            _unflushedEvents++;
            return;
        }

        WriteFields(eventType, id);
        while (true)
        {
            int lineEnd = data.IndexOfAny((byte)'\r', (byte)'\n');
            Write(DataPrefix);
            if (lineEnd < 0)
            {
                Write(data);
                Write("\n"u8);
                break;
            }

            Write(data[..lineEnd]);
            Write("\n"u8);
            int next = lineEnd + 1;
            if (data[lineEnd] == '\r' && next < data.Length && data[next] == '\n')
            {
                next++;
            }

            data = data[next..];
        }

        Write("\n"u8);
        _unflushedEvents++;
    }

    /// <summary>Writes one event whose data is <paramref name="data"/>, encoded as UTF-8.</summary>
    /// <param name="data">The event's data; line breaks become separate <c>data:</c> lines.</param>
    public void WriteData(string data)
    {
        ArgumentNullException.ThrowIfNull(data);
        byte[]? rented = null;
        int max = Encoding.UTF8.GetMaxByteCount(data.Length);
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        int length = Encoding.UTF8.GetBytes(data, buffer);
        WriteData(buffer[..length]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Starts an event whose data is one JSON value: writes the fields and <c>data: </c>, then returns a
    /// <see cref="Utf8JsonWriter"/> that writes straight into the pipe. Write exactly one JSON value with it, then call
    /// <see cref="EndJsonData"/>.
    /// </summary>
    /// <param name="eventType">The <c>event:</c> field, or empty for the default <c>message</c> type.</param>
    /// <param name="id">The <c>id:</c> field, or empty for none.</param>
    /// <returns>The JSON writer for this event's data; valid until <see cref="EndJsonData"/>.</returns>
    public Utf8JsonWriter BeginJsonData(ReadOnlySpan<byte> eventType = default, ReadOnlySpan<byte> id = default)
    {
        ThrowIfInJsonEvent();
        WriteFields(eventType, id);
        Write(DataPrefix);
        var json = _ownJson;
        if (json is null)
        {
            json = t_spareJson ?? new Utf8JsonWriter(_output, DefaultJsonOptions);
            t_spareJson = null;
        }

        json.Reset(_output);
        _json = json;
        _inJsonEvent = true;
        return json;
    }

    /// <summary>Ends the event started by <see cref="BeginJsonData"/>.</summary>
    public void EndJsonData()
    {
        if (!_inJsonEvent)
        {
            throw new InvalidOperationException($"{nameof(EndJsonData)} called without {nameof(BeginJsonData)}.");
        }

        var json = _json!;
        json.Flush();
        _json = null;
        if (json != _ownJson)
        {
            // Back to this thread's spare (the thread that ends an event may not be the one that began it).
            json.Reset(s_nowhere);
            t_spareJson = json;
        }

        _inJsonEvent = false;
        Write(EventEnd);
        _unflushedEvents++;
    }

    /// <summary>
    /// Writes a comment, for example a heartbeat <c>: keep-alive</c>. Clients ignore comments; proxies and load
    /// balancers see traffic, so they keep an idle stream open, and a dead connection surfaces as a failed write.
    /// </summary>
    /// <param name="text">The comment text (without the leading colon). Line breaks start new comment lines.</param>
    public void WriteComment(ReadOnlySpan<char> text)
    {
        ThrowIfInJsonEvent();
        foreach (var line in text.EnumerateLines())
        {
            Write(":"u8);
            if (!line.IsEmpty)
            {
                Write(" "u8);
                int written = Encoding.UTF8.GetBytes(line, _output.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length)));
                _output.Advance(written);
            }

            Write("\n"u8);
        }

        Write("\n"u8);
        _unflushedEvents++;
    }

    /// <summary>Hands everything written so far to the transport.</summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    /// <returns>The pipe's flush result; <see cref="FlushResult.IsCompleted"/> means the reader (the client) is gone.</returns>
    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfInJsonEvent();
        _unflushedEvents = 0;
        return _output.FlushAsync(cancellationToken);
    }

    private void WriteFields(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> id)
    {
        // Both are checked before either is written, so a rejected field leaves nothing half-written in the pipe.
        ThrowIfLineBreak(eventType, nameof(eventType));
        ThrowIfLineBreak(id, nameof(id));
        WriteField(EventPrefix, eventType);
        WriteField(IdPrefix, id);
    }

    private static void ThrowIfLineBreak(ReadOnlySpan<byte> value, string name)
    {
        if (value.IndexOfAny((byte)'\r', (byte)'\n') >= 0)
        {
            throw new ArgumentException("An event field cannot contain a line break.", name);
        }
    }

    private void WriteField(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> value)
    {
        if (!value.IsEmpty)
        {
            Write(prefix);
            Write(value);
            Write("\n"u8);
        }
    }

    private void Write(ReadOnlySpan<byte> bytes) => _output.Write(bytes);

    /// <summary>
    /// Nearly every event of a stream (one JSON chunk, one line, a few hundred bytes): <c>data: </c>, the data and the
    /// event's end written into one piece of the pipe's memory, advancing the pipe once rather than four times. False,
    /// having written nothing, for data with a line break, longer than a memory block, or when the pipe's next piece is
    /// too small.
    /// </summary>
    private bool TryWriteWhole(ReadOnlySpan<byte> data)
    {
        int length = DataPrefix.Length + data.Length + EventEnd.Length;
        if (length > WholeEventLimit || data.IndexOfAny((byte)'\r', (byte)'\n') >= 0)
        {
            return false;
        }

        var span = _output.GetSpan(length);
        if (span.Length < length)
        {
            return false;
        }

        DataPrefix.CopyTo(span);
        data.CopyTo(span[DataPrefix.Length..]);
        EventEnd.CopyTo(span[(DataPrefix.Length + data.Length)..]);
        _output.Advance(length);
        return true;
    }

    private void ThrowIfInJsonEvent()
    {
        if (_inJsonEvent)
        {
            throw new InvalidOperationException($"Call {nameof(EndJsonData)} before writing anything else.");
        }
    }
}
