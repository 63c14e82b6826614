namespace OpenAiStreaming.Pump.Tests;

public class TokenPumpOptionsTests
{
    [Fact]
    public void Capacity_Default_64()
    {
        Assert.Equal(64, new TokenPumpOptions().Capacity);
    }

    [Fact]
    public void MaxBufferedBytes_Default_OneMebibyte()
    {
        Assert.Equal(1024 * 1024, new TokenPumpOptions().MaxBufferedBytes);
    }

    [Fact]
    public void TimeProvider_Default_System()
    {
        Assert.Same(TimeProvider.System, new TokenPumpOptions().TimeProvider);
    }
}
