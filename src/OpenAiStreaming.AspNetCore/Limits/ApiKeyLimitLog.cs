using Microsoft.Extensions.Logging;

namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>
/// The per-key limits' log lines. A key is named by its fingerprint (the first 8 hex digits of its SHA-256), never by
/// the key itself.
/// </summary>
internal static partial class ApiKeyLimitLog
{
    [LoggerMessage(20, LogLevel.Debug, "The API key with fingerprint {KeyFingerprint} is over its {Limit} limit; the request got 429.")]
    public static partial void Refused(ILogger logger, string keyFingerprint, KeyLimit limit);

    [LoggerMessage(21, LogLevel.Warning, "Reloaded API key settings are invalid and were ignored; the previous ones stay in force: {Reason}")]
    public static partial void InvalidLimitsIgnored(ILogger logger, string reason);
}
