using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>
/// Applies <see cref="KestrelLimitOptions"/> after every <c>ConfigureKestrel</c>, to each limit the host left at
/// Kestrel's default: a host's own setting always wins.
/// </summary>
internal sealed class KestrelLimitsSetup(IOptions<KestrelLimitOptions> options) : IPostConfigureOptions<KestrelServerOptions>
{
    public void PostConfigure(string? name, KestrelServerOptions kestrel)
    {
        var limits = options.Value;
        if (!limits.Enabled)
        {
            return;
        }

        var defaults = new KestrelServerLimits();
        var current = kestrel.Limits;
        if (current.RequestHeadersTimeout == defaults.RequestHeadersTimeout)
        {
            current.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        }

        if (current.MinRequestBodyDataRate is { } rate && defaults.MinRequestBodyDataRate is { } defaultRate
            && rate.BytesPerSecond == defaultRate.BytesPerSecond && rate.GracePeriod == defaultRate.GracePeriod)
        {
            current.MinRequestBodyDataRate = new MinDataRate(limits.MinRequestBodyDataRate, limits.MinRequestBodyDataRateGracePeriod);
        }

        if (current.MaxRequestHeadersTotalSize == defaults.MaxRequestHeadersTotalSize)
        {
            current.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize;
        }

        if (current.MaxRequestLineSize == defaults.MaxRequestLineSize)
        {
            current.MaxRequestLineSize = limits.MaxRequestLineSize;
        }
    }
}
