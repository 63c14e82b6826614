using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using OpenAiStreaming.Testing.Processes;

namespace OpenAiStreaming.Testing.EventStreams;

/// <summary>
/// Reads an event stream with <see cref="SseParser"/>, as a client would, keeping the bytes as they came (for tests
/// that compare them exactly) and timing each event when the parser hands it over: right after the read that brought
/// its blank line, since the parser dispatches what a read completes before it reads again.
/// </summary>
public sealed class SseCapture
{
    private readonly MemoryStream _body = new();

    /// <summary>The <see cref="Stopwatch"/> timestamp event times count from.</summary>
    private readonly long _origin;

    /// <summary>Starts a capture whose event times count from <paramref name="origin"/>.</summary>
    /// <param name="origin">A <see cref="Stopwatch"/> timestamp; now when null.</param>
    public SseCapture(long? origin = null) => _origin = origin ?? Stopwatch.GetTimestamp();

    /// <summary>The events read so far, in order.</summary>
    public List<ReceivedEvent> Events { get; } = [];

    /// <summary>The bytes read so far, as UTF-8 text.</summary>
    public string Body => Encoding.UTF8.GetString(_body.GetBuffer(), 0, checked((int)_body.Length));

    /// <summary>Reads <paramref name="response"/>'s event stream to its end.</summary>
    /// <param name="response">A response whose headers have arrived.</param>
    /// <param name="origin">A <see cref="Stopwatch"/> timestamp event times count from; now when null.</param>
    /// <returns>The capture.</returns>
    public static async Task<SseCapture> ReadAllAsync(HttpResponseMessage response, long? origin = null)
    {
        var capture = new SseCapture(origin);
        await capture.ReadToEndAsync(response);
        return capture;
    }

    /// <summary>
    /// The events of lines a process printed (curl's body), each timed by the line that completed it: the lines go
    /// through the parser one at a time.
    /// </summary>
    /// <param name="lines">The lines, without their line breaks.</param>
    /// <returns>The events.</returns>
    public static List<ReceivedEvent> Parse(IReadOnlyList<TimedLine> lines)
    {
        using var stream = new LineStream(lines);
        return [.. SseParser.Create(stream).Enumerate().Select(item => new ReceivedEvent(item.Data, stream.LastAt))];
    }

    /// <summary>Reads <paramref name="response"/>'s event stream to its end; a failure leaves what came before it.</summary>
    /// <param name="response">A response whose headers have arrived.</param>
    /// <returns>A task that completes at the end of the stream.</returns>
    public async Task ReadToEndAsync(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        await using var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        await foreach (var _ in ReadEventsAsync(stream, TestContext.Current.CancellationToken))
        {
        }
    }

    /// <summary>Yields each event as it arrives, after adding it to <see cref="Events"/>.</summary>
    /// <param name="stream">The response body.</param>
    /// <param name="cancellationToken">Stops the reading.</param>
    /// <returns>The events.</returns>
    public async IAsyncEnumerable<ReceivedEvent> ReadEventsAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var recording = new RecordingStream(stream, _body);
        await foreach (var item in SseParser.Create(recording).EnumerateAsync(cancellationToken))
        {
            var received = new ReceivedEvent(item.Data, Stopwatch.GetElapsedTime(_origin));
            Events.Add(received);
            yield return received;
        }
    }

    /// <summary>A read-only stream that copies what it reads into a second stream.</summary>
    private sealed class RecordingStream(Stream inner, Stream copy) : ReadOnlyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            copy.Write(buffer[..read]);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read = await inner.ReadAsync(buffer, cancellationToken);
            copy.Write(buffer.Span[..read]);
            return read;
        }
    }

    /// <summary>Serves timed lines one per read, remembering when the last one served arrived.</summary>
    private sealed class LineStream(IReadOnlyList<TimedLine> lines) : ReadOnlyStream
    {
        private int _next;
        private byte[] _pending = [];
        private int _pendingOffset;

        /// <summary>When the line last served (in whole or in part) arrived.</summary>
        public TimeSpan LastAt { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_pendingOffset == _pending.Length)
            {
                if (_next == lines.Count)
                {
                    return 0;
                }

                LastAt = lines[_next].At;
                _pending = Encoding.UTF8.GetBytes(lines[_next++].Text + "\n");
                _pendingOffset = 0;
            }

            int count = Math.Min(buffer.Length, _pending.Length - _pendingOffset);
            _pending.AsSpan(_pendingOffset, count).CopyTo(buffer);
            _pendingOffset += count;
            return count;
        }
    }
}
