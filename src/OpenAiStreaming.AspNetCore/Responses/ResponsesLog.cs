using Microsoft.Extensions.Logging;

namespace OpenAiStreaming.AspNetCore.Responses;

internal static partial class ResponsesLog
{
    [LoggerMessage(100, LogLevel.Warning, "The response store could not be reached while handling response '{ResponseId}'.")]
    public static partial void StoreUnavailable(ILogger logger, string responseId, Exception exception);

    [LoggerMessage(101, LogLevel.Error, "Background response '{ResponseId}' failed outside the model.")]
    public static partial void BackgroundFailed(ILogger logger, string responseId, Exception exception);

    [LoggerMessage(102, LogLevel.Debug, "Background response '{ResponseId}' ended {Status}.")]
    public static partial void BackgroundEnded(ILogger logger, string responseId, ResponseStatus status);
}
