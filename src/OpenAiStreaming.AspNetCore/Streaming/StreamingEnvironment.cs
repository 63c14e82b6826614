using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>What every request's lifecycle shares: the options, the host's lifetime, admission, the clock, the log.</summary>
internal sealed class StreamingEnvironment(
    IOptions<OpenAiStreamingOptions> options,
    StreamLifetime lifetime,
    AdmissionControl admissions,
    TimeProvider timeProvider,
    ILogger<OpenAiEndpoints> logger)
{
    public OpenAiStreamingOptions Options { get; } = options.Value;

    public StreamLifetime Lifetime { get; } = lifetime;

    public AdmissionControl Admissions { get; } = admissions;

    public TimeProvider TimeProvider { get; } = timeProvider;

    /// <summary>The endpoints' logger: the lifecycle logs under the category hosts already filter on.</summary>
    public ILogger Logger { get; } = logger;
}
