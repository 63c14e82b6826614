using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>
/// Every API key's limiters, keyed by the key's SHA-256 digest (never the key), made on a key's first request and
/// remade when the configured limits change.
/// </summary>
internal sealed class ApiKeyLimiter : IDisposable
{
    private readonly ConcurrentDictionary<string, KeyLimiters> _keys = new(StringComparer.Ordinal);
    private readonly IDisposable? _subscription;
    private volatile ApiKeyLimitOptions _options;

    public ApiKeyLimiter(IOptionsMonitor<ApiKeyLimitOptions> options, ILogger<OpenAiEndpoints> logger)
    {
        _options = options.CurrentValue;
        _subscription = options.OnChange((_, name) =>
        {
            if (name != Options.DefaultName)
            {
                return;
            }

            try
            {
                _options = options.Get(name);
            }
            catch (OptionsValidationException ex)
            {
                ApiKeyLimitLog.InvalidLimitsIgnored(logger, ex.Message);
            }
        });
    }

    /// <summary>The limiters of the key with digest <paramref name="keyId"/>; null when no limit is set.</summary>
    public KeyLimiters? For(string keyId)
    {
        var options = _options;
        if (options is { RequestsPerMinute: null, TokensPerMinute: null, MaxConcurrentStreams: null })
        {
            return null;
        }

        var limiters = _keys.GetOrAdd(keyId, static (_, o) => Create(o), options);
        if (!limiters.Matches(options))
        {
            // The limits were reloaded: a fresh budget under the new limits. Requests running keep their old slots.
            var fresh = Create(options);
            limiters = _keys.TryUpdate(keyId, fresh, limiters) ? fresh : _keys[keyId];
        }

        return limiters;
    }

    public void Dispose() => _subscription?.Dispose();

    private static KeyLimiters Create(ApiKeyLimitOptions options) =>
        new(options.RequestsPerMinute, options.TokensPerMinute, options.MaxConcurrentStreams);
}
