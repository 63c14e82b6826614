using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>Rejects Kestrel limits that Kestrel itself would refuse, when the host starts.</summary>
internal sealed class KestrelLimitOptionsValidator : IValidateOptions<KestrelLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, KestrelLimitOptions options)
    {
        var failures = new List<string>();
        string section = KestrelLimitOptions.SectionName;
        if (options.RequestHeadersTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{section}:{nameof(options.RequestHeadersTimeout)} must be positive; it is {options.RequestHeadersTimeout}.");
        }

        if (!(options.MinRequestBodyDataRate > 0))
        {
            failures.Add($"{section}:{nameof(options.MinRequestBodyDataRate)} must be positive; it is {options.MinRequestBodyDataRate}.");
        }

        if (options.MinRequestBodyDataRateGracePeriod <= TimeSpan.FromSeconds(1))
        {
            failures.Add($"{section}:{nameof(options.MinRequestBodyDataRateGracePeriod)} must be over one second (Kestrel's heartbeat); it is {options.MinRequestBodyDataRateGracePeriod}.");
        }

        if (options.MaxRequestHeadersTotalSize <= 0)
        {
            failures.Add($"{section}:{nameof(options.MaxRequestHeadersTotalSize)} must be positive; it is {options.MaxRequestHeadersTotalSize}.");
        }

        if (options.MaxRequestLineSize <= 0)
        {
            failures.Add($"{section}:{nameof(options.MaxRequestLineSize)} must be positive; it is {options.MaxRequestLineSize}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
