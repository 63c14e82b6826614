using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>
/// One API key's limiters, built from one version of <see cref="ApiKeyLimitOptions"/>: token buckets that refill in a
/// minute for requests and tokens, a concurrency limiter for running requests. Unset limits have no limiter.
/// </summary>
internal sealed class KeyLimiters
{
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(1);

    /// <summary>Requests per minute; null when unlimited.</summary>
    private readonly TokenBucketRateLimiter? _requests;

    /// <summary>Tokens per minute; null when unlimited. Charged after the fact, see <see cref="Charge"/>.</summary>
    private readonly TokenBucketRateLimiter? _tokens;

    /// <summary>Requests running at once; null when unlimited.</summary>
    private readonly ConcurrencyLimiter? _streams;

    public KeyLimiters(int? requestsPerMinute, int? tokensPerMinute, int? maxConcurrentStreams)
    {
        RequestsPerMinute = requestsPerMinute;
        TokensPerMinute = tokensPerMinute;
        MaxConcurrentStreams = maxConcurrentStreams;
        _requests = PerMinute(requestsPerMinute);
        _tokens = PerMinute(tokensPerMinute);
        _streams = maxConcurrentStreams is { } streams
            ? new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = streams, QueueLimit = 0 })
            : null;
    }

    public int? RequestsPerMinute { get; }

    public int? TokensPerMinute { get; }

    public int? MaxConcurrentStreams { get; }

    /// <summary>True when these limiters were built from the same limits as <paramref name="options"/>.</summary>
    public bool Matches(ApiKeyLimitOptions options) =>
        options.RequestsPerMinute == RequestsPerMinute && options.TokensPerMinute == TokensPerMinute && options.MaxConcurrentStreams == MaxConcurrentStreams;

    /// <summary>
    /// Admits one request: a concurrency slot, then a check that tokens are left, then one request from the bucket.
    /// Nothing is taken when any of them refuses.
    /// </summary>
    /// <param name="lease">The concurrency slot, held until the request ends; disposed by the caller.</param>
    /// <returns>Null when admitted; otherwise which limit refused.</returns>
    public KeyLimit? TryAdmit(out IDisposable? lease)
    {
        lease = null;
        RateLimitLease? slot = null;
        if (_streams is not null)
        {
            slot = _streams.AttemptAcquire(1);
            if (!slot.IsAcquired)
            {
                slot.Dispose();
                return KeyLimit.ConcurrentStreams;
            }
        }

        if (_tokens is not null && Available(_tokens) < 1)
        {
            slot?.Dispose();
            return KeyLimit.Tokens;
        }

        if (_requests is not null)
        {
            _requests.TryReplenish();
            using var request = _requests.AttemptAcquire(1);
            if (!request.IsAcquired)
            {
                slot?.Dispose();
                return KeyLimit.Requests;
            }
        }

        lease = slot;
        return null;
    }

    /// <summary>
    /// Takes a finished request's tokens from the bucket; what the bucket no longer holds is forgiven, so a key that
    /// overdraws waits for one refill at most.
    /// </summary>
    public void Charge(int tokens)
    {
        if (_tokens is null || tokens <= 0)
        {
            return;
        }

        long available = Available(_tokens);
        int charge = (int)Math.Min(tokens, available);
        if (charge > 0)
        {
            _tokens.AttemptAcquire(charge).Dispose();
        }
    }

    /// <summary>Writes OpenAI's <c>x-ratelimit-*</c> headers for the limits that are set.</summary>
    public void WriteHeaders(IHeaderDictionary headers)
    {
        if (_requests is not null)
        {
            WriteHeaders(headers, "requests", RequestsPerMinute!.Value, Available(_requests));
        }

        if (_tokens is not null)
        {
            WriteHeaders(headers, "tokens", TokensPerMinute!.Value, Available(_tokens));
        }
    }

    /// <summary>Whole seconds until <paramref name="limit"/> admits a request again: what <c>Retry-After</c> says.</summary>
    public int RetryAfterSeconds(KeyLimit limit) => limit switch
    {
        KeyLimit.Requests => (int)Math.Ceiling(s_window.TotalSeconds / RequestsPerMinute!.Value),
        _ => 1,
    };

    /// <summary>The time a bucket of <paramref name="limit"/> per minute takes to refill from <paramref name="remaining"/>.</summary>
    internal static TimeSpan ResetAfter(int limit, long remaining) =>
        TimeSpan.FromTicks(s_window.Ticks * Math.Max(0, limit - remaining) / limit);

    /// <summary>A duration as OpenAI writes it in <c>x-ratelimit-reset-*</c>: <c>0s</c>, <c>250ms</c>, <c>1.5s</c>, <c>1m0s</c>.</summary>
    internal static string FormatDuration(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        if (duration < TimeSpan.FromSeconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, (int)Math.Round(duration.TotalMilliseconds))}ms");
        }

        int minutes = (int)duration.TotalMinutes;
        double seconds = Math.Round(duration.TotalSeconds - (minutes * 60), 3);
        return minutes > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{minutes}m{seconds:0.###}s")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds:0.###}s");
    }

    private static void WriteHeaders(IHeaderDictionary headers, string kind, int limit, long remaining)
    {
        headers[$"x-ratelimit-limit-{kind}"] = limit.ToString(CultureInfo.InvariantCulture);
        headers[$"x-ratelimit-remaining-{kind}"] = remaining.ToString(CultureInfo.InvariantCulture);
        headers[$"x-ratelimit-reset-{kind}"] = FormatDuration(ResetAfter(limit, remaining));
    }

    private static long Available(TokenBucketRateLimiter bucket)
    {
        bucket.TryReplenish();
        return bucket.GetStatistics()?.CurrentAvailablePermits ?? 0;
    }

    private static TokenBucketRateLimiter? PerMinute(int? limit) => limit is { } perMinute
        ? new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = perMinute,
            ReplenishmentPeriod = s_window,

            // Replenished on every look instead of by a timer per key: the bucket refills by the time elapsed since the
            // last look, continuously, and an idle key costs nothing.
            AutoReplenishment = false,
            QueueLimit = 0,
        })
        : null;
}
