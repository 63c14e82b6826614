namespace OpenAiStreaming.Metrics.Tests;

/// <summary>
/// A clock that moves only when told (Microsoft.Extensions.TimeProvider.Testing does not restore here). Timestamps are
/// <see cref="TimeSpan"/> ticks, so every elapsed time is exact; they start well above zero, as real ones do.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks = TimeSpan.FromHours(1).Ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks(_ticks);

    public void Advance(TimeSpan by)
    {
        Assert.True(by >= TimeSpan.Zero, "time does not go back");
        _ticks += by.Ticks;
    }

    public void AdvanceMilliseconds(int milliseconds) => Advance(TimeSpan.FromMilliseconds(milliseconds));
}
