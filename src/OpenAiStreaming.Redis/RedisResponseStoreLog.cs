using Microsoft.Extensions.Logging;

namespace OpenAiStreaming.Redis;

/// <summary>The Redis response store's log messages.</summary>
internal static partial class RedisResponseStoreLog
{
    [LoggerMessage(1, LogLevel.Warning, "Response {ResponseId} ended failed: {Reason}.")]
    public static partial void EndedFailed(ILogger logger, string responseId, string reason);

    [LoggerMessage(2, LogLevel.Warning, "This replica lost its lease on response {ResponseId}; its generation is cancelled.")]
    public static partial void LeaseLost(ILogger logger, string responseId);

    [LoggerMessage(3, LogLevel.Warning, "Renewing the lease on response {ResponseId} failed; the next renewal tries again.")]
    public static partial void RenewalFailed(ILogger logger, string responseId, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Response {ResponseId} stopped without an end while Redis was away; it ends failed once its lease expires.")]
    public static partial void EndLeftToLease(ILogger logger, string responseId, Exception exception);

    [LoggerMessage(5, LogLevel.Warning, "The lease sweep failed; it runs again.")]
    public static partial void SweepFailed(ILogger logger, Exception exception);
}
