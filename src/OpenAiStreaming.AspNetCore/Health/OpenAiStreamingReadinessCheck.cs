using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Health;

/// <summary>
/// Readiness for a load balancer: unhealthy while the host drains after SIGTERM (every new request would get 503) and
/// while any model is saturated (every new request for it would get 429), healthy otherwise. A proxy that polls it stops
/// sending new work to this replica before requests are turned away, and sends it again once a slot frees.
/// </summary>
internal sealed class OpenAiStreamingReadinessCheck(StreamLifetime lifetime, AdmissionControl admissions) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.Stopping.IsCancellationRequested)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "draining: the host is stopping"));
        }

        List<string>? full = null;
        foreach (var (model, admission) in admissions.Models)
        {
            if (admission.IsSaturated)
            {
                (full ??= []).Add(model);
            }
        }

        return Task.FromResult(full is null
            ? HealthCheckResult.Healthy("accepting requests")
            : new HealthCheckResult(context.Registration.FailureStatus, "saturated: " + string.Join(", ", full)));
    }
}
