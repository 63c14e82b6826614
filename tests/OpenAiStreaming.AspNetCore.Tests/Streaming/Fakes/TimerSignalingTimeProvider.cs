using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that says when code arms a timer (creates or changes one with a finite due time),
/// so a test advances time exactly when something waits on it instead of guessing when that is.
/// </summary>
public sealed class TimerSignalingTimeProvider : TimeProvider
{
    private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

    public FakeTimeProvider Fake { get; } = new(DateTimeOffset.UnixEpoch.AddDays(20000));

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SignalingTimer(Fake.CreateTimer(callback, state, dueTime, period), _armed.Writer);
        SignalingTimer.Signal(_armed.Writer, dueTime);
        return timer;
    }

    /// <summary>Waits until a timer is armed, then moves time to its due time.</summary>
    /// <returns>The due time it advanced by.</returns>
    public async Task<TimeSpan> AdvanceToNextTimerAsync()
    {
        var due = await _armed.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Fake.Advance(due);
        return due;
    }

    private sealed class SignalingTimer(ITimer inner, ChannelWriter<TimeSpan> armed) : ITimer
    {
        public static void Signal(ChannelWriter<TimeSpan> armed, TimeSpan dueTime)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                armed.TryWrite(dueTime);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            bool changed = inner.Change(dueTime, period);
            Signal(armed, dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
