using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore.Limits;

namespace OpenAiStreaming.AspNetCore;

/// <summary>
/// Checks <c>Authorization: Bearer KEY</c> against the configured keys, as SHA-256 digests in constant time. The keys
/// reload with the configuration; a reload that fails validation leaves the previous keys in force.
/// </summary>
internal sealed class ApiKeyValidator : IDisposable
{
    private readonly IDisposable? _subscription;
    private volatile byte[][] _digests;

    public ApiKeyValidator(IOptionsMonitor<OpenAiStreamingOptions> options, ILogger<OpenAiEndpoints> logger)
    {
        _digests = Digests(options.CurrentValue);
        _subscription = options.OnChange((_, name) =>
        {
            if (name != Options.DefaultName)
            {
                return;
            }

            try
            {
                _digests = Digests(options.Get(name));
            }
            catch (OptionsValidationException ex)
            {
                ApiKeyLimitLog.InvalidLimitsIgnored(logger, ex.Message);
            }
        });
    }

    public bool IsAuthorized(HttpRequest request) => TryAuthorize(request, out _);

    /// <summary>Checks the request's key.</summary>
    /// <param name="request">The request.</param>
    /// <param name="keyId">The key's SHA-256 digest in hex, which names it to the limiters; null when no key is required.</param>
    /// <returns>True when no key is required or the request's key is one of the configured keys.</returns>
    public bool TryAuthorize(HttpRequest request, out string? keyId)
    {
        keyId = null;
        var digests = _digests;
        if (digests.Length == 0)
        {
            return true;
        }

        string? header = request.Headers.Authorization;
        const string Scheme = "Bearer ";
        if (header is null || !header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(header.AsSpan(Scheme.Length).Trim().ToString()), digest);
        bool match = false;
        foreach (var expected in digests)
        {
            match |= CryptographicOperations.FixedTimeEquals(expected, digest);
        }

        if (match)
        {
            keyId = Convert.ToHexString(digest);
        }

        return match;
    }

    public void Dispose() => _subscription?.Dispose();

    private static byte[][] Digests(OpenAiStreamingOptions options) =>
        [.. options.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
}
