using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenAiStreaming.ScaleOut.Tests.Infrastructure;

namespace OpenAiStreaming.ScaleOut.Tests;

/// <summary>The readiness check (<c>AddOpenAiStreamingReadiness</c>): not ready while saturated or draining; 503 with Retry-After while draining.</summary>
public sealed class ReadinessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Readiness_FreeReady_SaturatedNotReady_ReadyAgainWhenASlotFrees()
    {
        await using var replica = await Replica.StartAsync("r1", hold: true);
        using (var ready = await replica.App.Client.GetAsync("health/ready", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var stream = OpenStream.Start(replica.App.Client, Sse.ChatBody());
        await stream.FirstToken.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using (var saturated = await replica.App.Client.GetAsync("health/ready", Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, saturated.StatusCode);
        }

        var report = await replica.App.App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);
        Assert.Equal("saturated: test-model", report.Entries[OpenAiStreamingHealthChecksBuilderExtensions.DefaultName].Description);

        replica.Model.Release();
        Assert.Equal(StreamEnd.Complete, await stream.Ended.WaitAsync(TimeSpan.FromSeconds(10), Ct));

        // The slot is given back as the request's handler returns, just after the client read [DONE].
        var health = replica.App.App.Services.GetRequiredService<HealthCheckService>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await health.CheckHealthAsync(Ct)).Status != HealthStatus.Healthy)
        {
            Assert.True(DateTime.UtcNow < deadline, "not ready again after the stream ended");
            await Task.Delay(10, Ct);
        }
    }

    [Fact]
    public async Task Draining_NotReady_QueuedRequestGets503WithRetryAfter()
    {
        var model = new HeldChatClient("r1", hold: true);
        await using var app = await TestApp.StartAsync(
            builder =>
            {
                builder.Services.AddOpenAiStreaming(o =>
                {
                    o.MaxConcurrentStreams = 1;
                    o.MaxQueuedStreams = 1;
                    o.ShutdownDrainTimeout = TimeSpan.FromSeconds(5);
                }).AddChatModel("test-model", _ => model);
                builder.Services.AddHealthChecks().AddOpenAiStreamingReadiness();
            },
            a =>
            {
                a.MapOpenAiStreaming();
                a.MapHealthChecks("/health/ready");
            });
        var open = OpenStream.Start(app.Client, Sse.ChatBody());
        await open.FirstToken.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var health = app.App.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(Ct)).Status); // one slot taken, the queue has room
        var queued = app.Client.PostAsync("v1/chat/completions", new StringContent(Sse.ChatBody(stream: false), Encoding.UTF8, "application/json"), Ct);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await health.CheckHealthAsync(Ct)).Status == HealthStatus.Healthy) // until the second request holds the queue place
        {
            Assert.True(DateTime.UtcNow < deadline, "the second request never queued");
            await Task.Delay(10, Ct);
        }

        app.App.Lifetime.StopApplication();

        using var refused = await queued.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        var report = await health.CheckHealthAsync(Ct);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.StartsWith("draining", report.Entries[OpenAiStreamingHealthChecksBuilderExtensions.DefaultName].Description, StringComparison.Ordinal);
        model.Release();
        Assert.Equal(StreamEnd.Complete, await open.Ended.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }
}
