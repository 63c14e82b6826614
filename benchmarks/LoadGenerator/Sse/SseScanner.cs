using System.Diagnostics;

namespace OpenAiStreaming.LoadGenerator.Sse;

/// <summary>
/// A minimal Server-Sent Events parser for one response body at a time, reused from request to request by its worker.
/// The body is read straight into the scanner's own buffer (<see cref="GetReadBuffer"/>, then <see cref="Advance"/>);
/// lines end in LF, CRLF or CR; comments (<c>: keep-alive</c>) and fields other than <c>data</c> are ignored; an
/// event is dispatched at its blank line, as the SSE specification says, so an event split across reads is seen once,
/// whole. Each dispatched event's data goes to <see cref="ChunkClassifier"/> without being copied, unless it has
/// several <c>data:</c> lines (which OpenAI servers never send).
/// </summary>
public sealed class SseScanner
{
    /// <summary>The largest event accepted; a stream that sends a longer one fails rather than growing without end.</summary>
    public const int MaxEventBytes = 16 * 1024 * 1024;

    /// <summary>Received bytes; [<see cref="_eventStart"/>, <see cref="_end"/>) is still needed.</summary>
    private byte[] _buffer;

    /// <summary>Start of the event being assembled: bytes before it are consumed and may be overwritten.</summary>
    private int _eventStart;

    /// <summary>Start of the first line not yet scanned (within the current event).</summary>
    private int _lineStart;

    /// <summary>End of the received bytes.</summary>
    private int _end;

    /// <summary>Number of <c>data</c> lines in the current event.</summary>
    private int _dataLines;

    /// <summary>Offset and length of the only data line's value, while <see cref="_dataLines"/> is 1.</summary>
    private int _dataStart;

    /// <summary>Length of the first data line's value.</summary>
    private int _dataLength;

    /// <summary>The joined value of an event with several data lines; null until one comes.</summary>
    private byte[]? _joined;

    /// <summary>Bytes used in <see cref="_joined"/>.</summary>
    private int _joinedLength;

    /// <summary>The last line ended in CR at the very end of the received bytes: an LF that follows belongs to it.</summary>
    private bool _skipLf;

    /// <summary>Whether <c>[DONE]</c> came: later events are ignored.</summary>
    private bool _done;

    /// <summary>Creates a scanner with a buffer of <paramref name="initialBufferSize"/> bytes (it grows for long events).</summary>
    /// <param name="initialBufferSize">Initial buffer size in bytes.</param>
    public SseScanner(int initialBufferSize = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialBufferSize, 16);
        _buffer = new byte[initialBufferSize];
    }

    /// <summary>Forgets the previous response; the buffer is kept.</summary>
    public void Reset()
    {
        _eventStart = _lineStart = _end = 0;
        _dataLines = _dataStart = _dataLength = _joinedLength = 0;
        _skipLf = _done = false;
    }

    /// <summary>Whether <c>data: [DONE]</c> has been seen since the last <see cref="Reset"/>.</summary>
    public bool Done => _done;

    /// <summary>Bytes of an unfinished event (or line) waiting for more input.</summary>
    public int PendingBytes => _end - _eventStart;

    /// <summary>Free space to read into; it is never empty.</summary>
    /// <returns>The free part of the buffer.</returns>
    /// <exception cref="InvalidDataException">An event is longer than <see cref="MaxEventBytes"/>.</exception>
    public Memory<byte> GetReadBuffer()
    {
        if (_buffer.Length - _end < _buffer.Length / 4 && _eventStart > 0)
        {
            Compact();
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxEventBytes)
            {
                throw new InvalidDataException($"an event is longer than {MaxEventBytes} bytes");
            }

            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxEventBytes));
        }

        return _buffer.AsMemory(_end);
    }

    /// <summary>Takes <paramref name="count"/> bytes just read into <see cref="GetReadBuffer"/> and dispatches the
    /// events they complete.</summary>
    /// <param name="count">Bytes read.</param>
    /// <returns>What the completed events said.</returns>
    public SseBatch Advance(int count)
    {
        Debug.Assert(count >= 0 && _end + count <= _buffer.Length, "more bytes than the read buffer held");
        _end += count;
        var batch = SseBatch.Empty;
        if (_done)
        {
            _eventStart = _lineStart = _end = 0;
            return batch;
        }

        while (_lineStart < _end)
        {
            if (_skipLf)
            {
                _skipLf = false;
                if (_buffer[_lineStart] == (byte)'\n')
                {
                    _lineStart++;
                    if (_dataLines == 0)
                    {
                        _eventStart = _lineStart;
                    }

                    continue;
                }
            }

            var rest = _buffer.AsSpan(_lineStart, _end - _lineStart);
            int eol = rest.IndexOfAny((byte)'\n', (byte)'\r');
            if (eol < 0)
            {
                break;
            }

            int next = _lineStart + eol + 1;
            if (rest[eol] == (byte)'\r')
            {
                if (next < _end)
                {
                    if (_buffer[next] == (byte)'\n')
                    {
                        next++;
                    }
                }
                else
                {
                    _skipLf = true;
                }
            }

            Line(_lineStart, eol, ref batch);
            _lineStart = next;
            if (_dataLines == 0)
            {
                _eventStart = _lineStart;
            }

            if (_done)
            {
                _eventStart = _lineStart = _end = 0;
                return batch;
            }
        }

        if (_eventStart == _end)
        {
            _eventStart = _lineStart = _end = 0;
        }

        return batch;
    }

    private void Line(int start, int length, ref SseBatch batch)
    {
        var line = _buffer.AsSpan(start, length);
        if (line.IsEmpty)
        {
            Dispatch(ref batch);
            return;
        }

        int colon = line.IndexOf((byte)':');
        if (colon == 0)
        {
            return;
        }

        var field = colon < 0 ? line : line[..colon];
        if (!field.SequenceEqual("data"u8))
        {
            return;
        }

        int valueStart = colon < 0 ? length : colon + 1;
        if (valueStart < length && line[valueStart] == (byte)' ')
        {
            valueStart++;
        }

        int valueLength = length - valueStart;
        _dataLines++;
        if (_dataLines == 1)
        {
            _dataStart = start + valueStart;
            _dataLength = valueLength;
            return;
        }

        if (_dataLines == 2)
        {
            _joinedLength = 0;
            AppendJoined(_buffer.AsSpan(_dataStart, _dataLength));
        }

        AppendJoined("\n"u8);
        AppendJoined(line[valueStart..]);
    }

    private void Dispatch(ref SseBatch batch)
    {
        if (_dataLines == 0)
        {
            return;
        }

        var data = _dataLines == 1 ? _buffer.AsSpan(_dataStart, _dataLength) : _joined.AsSpan(0, _joinedLength);
        _dataLines = 0;
        ChunkClassifier.Classify(data, ref batch);
        _done = batch.Done;
    }

    private void AppendJoined(ReadOnlySpan<byte> bytes)
    {
        if (_joined is null || _joined.Length - _joinedLength < bytes.Length)
        {
            Array.Resize(ref _joined, Math.Max(1024, (_joinedLength + bytes.Length) * 2));
        }

        bytes.CopyTo(_joined.AsSpan(_joinedLength));
        _joinedLength += bytes.Length;
    }

    /// <summary>Moves the unfinished event to the start of the buffer.</summary>
    private void Compact()
    {
        int shift = _eventStart;
        _buffer.AsSpan(_eventStart, _end - _eventStart).CopyTo(_buffer);
        _end -= shift;
        _lineStart -= shift;
        _dataStart -= shift;
        _eventStart = 0;
    }
}
