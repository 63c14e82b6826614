using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore;

/// <summary>Rejects settings that would fail at the first request, when the host starts.</summary>
internal sealed class OpenAiStreamingOptionsValidator : IValidateOptions<OpenAiStreamingOptions>
{
    public ValidateOptionsResult Validate(string? name, OpenAiStreamingOptions options)
    {
        var failures = new List<string>();
        string section = OpenAiStreamingOptions.SectionName;
        if (options.HeartbeatInterval < TimeSpan.Zero)
        {
            failures.Add($"{section}:{nameof(options.HeartbeatInterval)} must be zero (off) or positive; it is {options.HeartbeatInterval}.");
        }

        if (options.MaxRequestBodySize <= 0)
        {
            failures.Add($"{section}:{nameof(options.MaxRequestBodySize)} must be positive; it is {options.MaxRequestBodySize}.");
        }

        if (options.StreamBufferCapacity < 1)
        {
            failures.Add($"{section}:{nameof(options.StreamBufferCapacity)} must be at least 1; it is {options.StreamBufferCapacity}.");
        }

        if (options.DefaultCompletionMaxTokens < 1)
        {
            failures.Add($"{section}:{nameof(options.DefaultCompletionMaxTokens)} must be at least 1; it is {options.DefaultCompletionMaxTokens}.");
        }

        if (options.ApiKeys.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{section}:{nameof(options.ApiKeys)} contains an empty key.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
