namespace OpenAiStreaming.Pump.Tests;

public class TokenPumpOptionsTests
{
    [Fact]
    public void Capacity_Default_256()
    {
        Assert.Equal(256, new TokenPumpOptions().Capacity);
    }
}
