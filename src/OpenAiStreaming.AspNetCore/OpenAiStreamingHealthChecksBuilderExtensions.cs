using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenAiStreaming.AspNetCore.Health;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the streaming endpoints' readiness to ASP.NET Core health checks.</summary>
public static class OpenAiStreamingHealthChecksBuilderExtensions
{
    /// <summary>The default name of the check: <c>openai_streaming</c>.</summary>
    public const string DefaultName = "openai_streaming";

    /// <summary>The tag the check carries by default, to map it alone: <c>ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>
    /// Adds a readiness check that is unhealthy while the host drains (after SIGTERM) and while any model is saturated
    /// (every slot of <c>MaxConcurrentStreams</c> taken and the <c>MaxQueuedStreams</c> queue full), so a load balancer
    /// stops sending new work here. Map it with
    /// <c>app.MapHealthChecks("/health/ready", new() { Predicate = c =&gt; c.Tags.Contains("ready") })</c>;
    /// unhealthy is answered with 503 by default. Needs <c>AddOpenAiStreaming()</c>.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name; <see cref="DefaultName"/> by default.</param>
    /// <param name="tags">The check's tags; <see cref="ReadyTag"/> alone by default.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddOpenAiStreamingReadiness(this IHealthChecksBuilder builder, string name = DefaultName, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.AddCheck<OpenAiStreamingReadinessCheck>(name, HealthStatus.Unhealthy, tags ?? [ReadyTag]);
    }
}
