using System.IO.Pipelines;

namespace OpenAiStreaming.Benchmarks;

/// <summary>
/// A <see cref="PipeWriter"/> over one reused array: a flush hands nothing anywhere and starts over at the array's
/// beginning, so a benchmark that writes into it measures the writer, not a sink.
/// </summary>
internal sealed class BufferPipeWriter : PipeWriter
{
    private readonly bool _keepOnFlush;
    private byte[] _buffer = new byte[4096];
    private int _written;

    /// <summary>Creates the writer.</summary>
    /// <param name="keepOnFlush">True to keep what was written across flushes, to look at it afterwards.</param>
    public BufferPipeWriter(bool keepOnFlush = false) => _keepOnFlush = keepOnFlush;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    /// <summary>What was written since the last flush, or since the start when flushes keep it.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public override void Advance(int bytes) => _written += bytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (!_keepOnFlush)
        {
            _written = 0;
        }

        return default;
    }

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    private void Reserve(int sizeHint)
    {
        if (_buffer.Length - _written < Math.Max(sizeHint, 1))
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _written + sizeHint));
        }
    }
}
