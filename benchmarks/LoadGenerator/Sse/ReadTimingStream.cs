namespace OpenAiStreaming.LoadGenerator.Sse;

/// <summary>
/// A response body that remembers when its last read returned, so that each event <see cref="System.Net.ServerSentEvents.SseParser"/>
/// hands over is stamped with the arrival of the read that completed it: the parser dispatches what one read completes
/// before it reads again, so events that came together share a timestamp.
/// </summary>
internal sealed class ReadTimingStream(Stream body, TimeProvider time) : Stream
{
    /// <summary>The <see cref="TimeProvider"/> timestamp at which the last read returned.</summary>
    public long LastReadTimestamp { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read = body.Read(buffer);
        LastReadTimestamp = time.GetTimestamp();
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        LastReadTimestamp = time.GetTimestamp();
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
