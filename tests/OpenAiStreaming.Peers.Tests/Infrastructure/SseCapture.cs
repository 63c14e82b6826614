using System.Diagnostics;
using System.Text;

namespace OpenAiStreaming.Peers.Tests.Infrastructure;

/// <summary>One event as it arrived: its text (without the blank line) and when, from the capture's origin.</summary>
public sealed record TimedEvent(string Text, TimeSpan At);

/// <summary>Reads an event stream as raw bytes, timing each event when its terminating blank line arrives.</summary>
public sealed class SseCapture
{
    private readonly List<byte> _body = [];

    /// <summary>The <see cref="Stopwatch"/> timestamp event times count from.</summary>
    private readonly long _origin;
    private int _scanned;

    /// <param name="origin">A <see cref="Stopwatch"/> timestamp event times count from (by default, now).</param>
    public SseCapture(long? origin = null) => _origin = origin ?? Stopwatch.GetTimestamp();

    public List<TimedEvent> Events { get; } = [];

    public string Body => Encoding.UTF8.GetString([.. _body]);

    /// <summary>Reads until the stream ends; event times count from <paramref name="origin"/> (by default, now).</summary>
    public static async Task<SseCapture> ReadAllAsync(HttpResponseMessage response, long? origin = null)
    {
        var capture = new SseCapture(origin);
        await using var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        while (await capture.ReadAsync(stream))
        {
        }

        return capture;
    }

    /// <summary>Reads what is available; false at the end of the stream.</summary>
    public async Task<bool> ReadAsync(Stream stream)
    {
        var buffer = new byte[16384];
        int read = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
        if (read == 0)
        {
            return false;
        }

        var at = Stopwatch.GetElapsedTime(_origin);
        _body.AddRange(buffer.AsSpan(0, read));
        while (true)
        {
            int end = IndexOfBlankLine(_scanned);
            if (end < 0)
            {
                break;
            }

            Events.Add(new TimedEvent(Encoding.UTF8.GetString([.. _body[_scanned..end]]), at));
            _scanned = end + 2;
        }

        return true;
    }

    private int IndexOfBlankLine(int from)
    {
        for (int i = from; i + 1 < _body.Count; i++)
        {
            if (_body[i] == '\n' && _body[i + 1] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
