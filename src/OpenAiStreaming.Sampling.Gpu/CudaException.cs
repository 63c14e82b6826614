namespace OpenAiStreaming.Sampling.Gpu;

/// <summary>A CUDA driver call failed; the message names the call and the error.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public CudaException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public CudaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a message and the driver's error code.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="errorCode">The <c>CUresult</c>.</param>
    public CudaException(string message, int errorCode)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    /// <summary>The <c>CUresult</c>, 0 when none applies.</summary>
    public int ErrorCode { get; }
}
