using Microsoft.Extensions.Logging;

namespace OpenAiStreaming.AspNetCore;

internal static partial class OpenAiStreamingLog
{
    [LoggerMessage(1, LogLevel.Error, "Model '{Model}' failed before its response started.")]
    public static partial void BackendFailedBeforeStart(ILogger logger, string model, Exception exception);

    [LoggerMessage(2, LogLevel.Error, "Model '{Model}' failed mid-stream; the stream ends with an error event and an aborted connection.")]
    public static partial void BackendFailedMidStream(ILogger logger, string model, Exception exception);

    [LoggerMessage(3, LogLevel.Debug, "The client of a stream from model '{Model}' disconnected; generation was cancelled.")]
    public static partial void ClientDisconnected(ILogger logger, string model);
}
