using ChatServer.Model;
using OpenAiStreaming.Metrics;
using OpenTelemetry.Metrics;

namespace ChatServer;

/// <summary>
/// Composes the sample: a tiny character-level model trained at start-up on this repository's docs, served through
/// the OpenAI-compatible endpoints of OpenAiStreaming, with a web chat page at <c>GET /</c>. Its meters are served at
/// <c>GET /metrics</c> for Prometheus (OpenTelemetry's exporter), its liveness and readiness at <c>GET /health/live</c> and
/// <c>GET /health/ready</c>, its responses kept in Redis when <c>ConnectionStrings:Redis</c> is set, and exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class ChatServerApp
{
    /// <summary>The address used when none is configured: vLLM's port, so the usual curl lines work.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>Builds the app. Settings come from the usual places: <c>--urls</c>, <c>ASPNETCORE_URLS</c>,
    /// <c>Kestrel:Endpoints</c>, <c>--TinyModel:TokenDelay=00:00:00.050</c> for the model's pace, <c>--TinyModel:Sampler=auto|cpu|gpu</c>
    /// (auto: the GPU sampler when a CUDA device is present), and the standard
    /// <c>OTEL_EXPORTER_OTLP_*</c> and <c>OTEL_METRIC_EXPORT_INTERVAL</c> settings for the OTLP exporter.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>The app, not yet started.</returns>
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var modelOptions = new TinyModelOptions
        {
            TokenDelay = builder.Configuration.GetValue("TinyModel:TokenDelay", TimeSpan.FromMilliseconds(20)),
            DefaultMaxTokens = builder.Configuration.GetValue("TinyModel:DefaultMaxTokens", 256),
            GpuSampler = GpuSamplerHost.Select(builder.Configuration["TinyModel:Sampler"], out string? cpuReason),
        };

        if (modelOptions.GpuSampler is { } gpuSampler)
        {
            // A factory, so that the container owns it and disposes the accelerator with the app.
            builder.Services.AddSingleton(_ => gpuSampler);
        }

        builder.Services.AddSingleton(_ => CharLanguageModel.Train(TrainingText.Load()));
        var openAi = builder.Services.AddOpenAiStreaming()
            .AddChatModel(modelOptions.ModelId, sp => new TinyChatClient(sp.GetRequiredService<CharLanguageModel>(), modelOptions));
        if (builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
        {
            // Replicas share background responses through Redis: any of them can replay and follow one (docs/scale-out.md).
            openAi.AddRedisResponseStore(redis);
        }

        // GET /health/ready: 503 while draining or saturated, so a load balancer sends new work elsewhere (docs/scale-out.md).
        builder.Services.AddHealthChecks().AddOpenAiStreamingReadiness();

        bool exportOtlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(OpenAiStreamingMetricNames.MeterName).AddPrometheusExporter();
            if (exportOtlp)
            {
                // Reads its OTEL_* settings from the app's configuration: environment variables, command line, appsettings.
                metrics.AddOtlpExporter();
            }
        });

        var app = builder.Build();
        if (app.Services.GetService<GpuSamplerHost>() is { } gpu)
        {
            app.Logger.LogInformation("The tiny model samples on the GPU ({Device}).", gpu.DeviceName);
        }
        else
        {
            app.Logger.LogInformation("The tiny model samples on the CPU (CpuSampler). {Reason}", cpuReason);
        }

        app.UseSseAntiBuffering();
        app.MapOpenAiStreaming();
        app.MapChatPage();
        app.MapPrometheusScrapingEndpoint();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains(OpenAiStreamingHealthChecksBuilderExtensions.ReadyTag) });
        return app;
    }
}
