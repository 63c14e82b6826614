using Microsoft.Extensions.Logging;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Pump;

namespace OpenAiStreaming.AspNetCore;

internal static partial class OpenAiStreamingLog
{
    /// <summary>The one line a request's end gets, if any: answers, refusals (429, 503) and 4xx get none.</summary>
    public static void Ended(ILogger logger, string model, CompletionEnd end, TimeSpan? maxStreamDuration)
    {
        switch (end.Kind)
        {
            case CompletionEndKind.ClientGone:
                ClientDisconnected(logger, model);
                break;
            case CompletionEndKind.BackendRejected:
                BackendRejectedRequest(logger, model, end.Exception!);
                break;
            case CompletionEndKind.BackendFailed:
                BackendFailed(logger, model, end.Exception);
                break;
            case CompletionEndKind.ClientTooSlow:
                ClientTooSlow(logger, model, ((TokenPumpOverflowException)end.Exception!).MaxBufferedBytes);
                break;
            case CompletionEndKind.ShutdownCut:
                StreamCutByShutdown(logger, model);
                break;
            case CompletionEndKind.TimedOut:
                StreamTimedOut(logger, model, maxStreamDuration!.Value);
                break;
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Model '{Model}' rejected the request's arguments; the client got 400.")]
    public static partial void BackendRejectedRequest(ILogger logger, string model, Exception exception);

    [LoggerMessage(2, LogLevel.Error, "Model '{Model}' failed; the response ends with an error.")]
    public static partial void BackendFailed(ILogger logger, string model, Exception? exception);

    [LoggerMessage(3, LogLevel.Debug, "The client of a request to model '{Model}' disconnected; generation was cancelled.")]
    public static partial void ClientDisconnected(ILogger logger, string model);

    [LoggerMessage(4, LogLevel.Warning, "A client of model '{Model}' read so slowly that more than {MaxBufferedBytes} bytes waited for it; its stream was stopped.")]
    public static partial void ClientTooSlow(ILogger logger, string model, long maxBufferedBytes);

    [LoggerMessage(5, LogLevel.Information, "A stream from model '{Model}' was still running when the shutdown drain time ran out; it ended with the shutdown error.")]
    public static partial void StreamCutByShutdown(ILogger logger, string model);

    [LoggerMessage(6, LogLevel.Warning, "A request to model '{Model}' exceeded the maximum duration of {MaxStreamDuration}; it was stopped.")]
    public static partial void StreamTimedOut(ILogger logger, string model, TimeSpan maxStreamDuration);
}
