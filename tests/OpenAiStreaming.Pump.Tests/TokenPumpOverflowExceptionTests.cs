namespace OpenAiStreaming.Pump.Tests;

public class TokenPumpOverflowExceptionTests
{
    [Fact]
    public void Constructor_Limit_KeepsLimitAndNamesItInMessage()
    {
        var ex = new TokenPumpOverflowException(4096L);

        Assert.Equal(4096, ex.MaxBufferedBytes);
        Assert.Contains("4096", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoArguments_UsesDefaultLimit()
    {
        var ex = new TokenPumpOverflowException();

        Assert.Equal(new TokenPumpOptions().MaxBufferedBytes, ex.MaxBufferedBytes);
        Assert.Contains("1048576", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_MessageAndInner_KeepsBoth()
    {
        var inner = new InvalidOperationException("inner");

        var ex = new TokenPumpOverflowException("outer", inner);

        Assert.Equal("outer", ex.Message);
        Assert.Same(inner, ex.InnerException);
    }
}
