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

        if (options.MaxBufferedBytes <= 0)
        {
            failures.Add($"{section}:{nameof(options.MaxBufferedBytes)} must be positive; it is {options.MaxBufferedBytes}.");
        }

        if (options.MaxQueuedDeltas <= 0)
        {
            failures.Add($"{section}:{nameof(options.MaxQueuedDeltas)} must be positive; it is {options.MaxQueuedDeltas}.");
        }

        if (options.MaxStreamDuration <= TimeSpan.Zero)
        {
            failures.Add($"{section}:{nameof(options.MaxStreamDuration)} must be positive when set; it is {options.MaxStreamDuration}.");
        }

        if (options.ShutdownDrainTimeout < TimeSpan.Zero)
        {
            failures.Add($"{section}:{nameof(options.ShutdownDrainTimeout)} must not be negative; it is {options.ShutdownDrainTimeout}.");
        }

        if (options.MaxConcurrentStreams < 1)
        {
            failures.Add($"{section}:{nameof(options.MaxConcurrentStreams)} must be at least 1 when set; it is {options.MaxConcurrentStreams}.");
        }

        if (options.MaxQueuedStreams < 0)
        {
            failures.Add($"{section}:{nameof(options.MaxQueuedStreams)} must not be negative; it is {options.MaxQueuedStreams}.");
        }

        if (options.DefaultCompletionMaxTokens < 1)
        {
            failures.Add($"{section}:{nameof(options.DefaultCompletionMaxTokens)} must be at least 1; it is {options.DefaultCompletionMaxTokens}.");
        }

        if (options.MaxChoices < 1)
        {
            failures.Add($"{section}:{nameof(options.MaxChoices)} must be at least 1; it is {options.MaxChoices}.");
        }

        if (options.ApiKeys.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{section}:{nameof(options.ApiKeys)} contains an empty key.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
