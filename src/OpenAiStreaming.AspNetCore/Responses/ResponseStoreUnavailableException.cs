namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// An <see cref="IResponseStore"/> could not be reached. New background responses get 503 with <c>Retry-After</c>;
/// streams that read from the store end with an error event.
/// </summary>
public sealed class ResponseStoreUnavailableException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ResponseStoreUnavailableException()
        : base("The response store cannot be reached.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public ResponseStoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the store client's exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The store client's exception.</param>
    public ResponseStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
