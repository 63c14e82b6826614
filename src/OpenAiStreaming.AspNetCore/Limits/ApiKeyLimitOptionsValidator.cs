using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Limits;

/// <summary>Rejects per-key limits that could never admit a request, when the host starts and on every reload.</summary>
internal sealed class ApiKeyLimitOptionsValidator : IValidateOptions<ApiKeyLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyLimitOptions options)
    {
        var failures = new List<string>();
        Check(options.RequestsPerMinute, nameof(options.RequestsPerMinute), failures);
        Check(options.TokensPerMinute, nameof(options.TokensPerMinute), failures);
        Check(options.MaxConcurrentStreams, nameof(options.MaxConcurrentStreams), failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(int? value, string setting, List<string> failures)
    {
        if (value < 1)
        {
            failures.Add($"{ApiKeyLimitOptions.SectionName}:{setting} must be at least 1 when set; it is {value}.");
        }
    }
}
