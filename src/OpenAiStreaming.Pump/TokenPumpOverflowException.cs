namespace OpenAiStreaming.Pump;

/// <summary>The consumer fell so far behind that more than <see cref="TokenPumpOptions.MaxBufferedBytes"/> waited for it.</summary>
public sealed class TokenPumpOverflowException : Exception
{
    /// <summary>Creates the exception for a pump whose limit was <paramref name="maxBufferedBytes"/>.</summary>
    /// <param name="maxBufferedBytes">The limit that was exceeded.</param>
    public TokenPumpOverflowException(long maxBufferedBytes)
        : base($"The client read too slowly: more than {maxBufferedBytes} bytes of output waited for it, so the stream was stopped.") =>
        MaxBufferedBytes = maxBufferedBytes;

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public TokenPumpOverflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TokenPumpOverflowException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with the default message.</summary>
    public TokenPumpOverflowException()
        : this(new TokenPumpOptions().MaxBufferedBytes)
    {
    }

    /// <summary>The limit that was exceeded, in bytes.</summary>
    public long MaxBufferedBytes { get; }
}
