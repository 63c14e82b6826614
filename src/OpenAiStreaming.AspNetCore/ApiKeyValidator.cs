using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore;

/// <summary>Checks <c>Authorization: Bearer KEY</c> against the configured keys, as SHA-256 digests in constant time.</summary>
internal sealed class ApiKeyValidator(IOptions<OpenAiStreamingOptions> options)
{
    private readonly byte[][] _digests = [.. options.Value.ApiKeys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    public bool IsAuthorized(HttpRequest request)
    {
        if (_digests.Length == 0)
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
        foreach (var expected in _digests)
        {
            match |= CryptographicOperations.FixedTimeEquals(expected, digest);
        }

        return match;
    }
}
