namespace Peers;

/// <summary>
/// Builds a peer: the same synthetic model behind one of three serving stacks, plus the <c>/bench</c> control
/// endpoints. <c>--impl builtin|handwritten|ours</c>, <c>--interval-ms I</c>, <c>--model ID</c> (the ours peer's
/// model id, default <c>synthetic</c>), <c>--alloc-sample true</c> (allocations by type at <c>GET /bench/allocs</c>),
/// <c>--gc-log true</c> (every collection's pause at <c>GET /bench/gc</c>),
/// and the usual <c>--urls</c> (default http://127.0.0.1:8000).
/// </summary>
public static class PeerApp
{
    /// <summary>The address a peer listens on when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8000";

    /// <summary>Builds the peer that <paramref name="args"/> describe; start it with <c>StartAsync</c> or <c>Run</c>.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The application, not started.</returns>
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var options = PeerOptions.From(builder.Configuration);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var stats = new BenchStats(options.Impl);
        var schedule = new TokenSchedule(options.IntervalMs);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(stats);
        builder.Services.AddSingleton(schedule);
        if (options.Impl == "ours")
        {
            OursPeer.AddServices(builder.Services, options.Model);
        }
        else
        {
            builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, PeerJsonContext.Default));
        }

        var app = builder.Build();
        app.MapGet("/bench/stats", () => TypedResults.Json(stats.Snapshot(), PeerJsonContext.Default.BenchStatsResponse));
        var sampler = options.AllocSample ? new AllocationSampler() : null;
        if (sampler is not null)
        {
            app.Lifetime.ApplicationStopped.Register(sampler.Dispose);
        }

        app.MapGet("/bench/allocs", () => sampler?.Report() ?? "off: start the peer with --alloc-sample true\n");
        var gcLog = options.GcLog ? new GcLog() : null;
        if (gcLog is not null)
        {
            app.Lifetime.ApplicationStopped.Register(gcLog.Dispose);
        }

        app.MapGet("/bench/gc", () => gcLog?.Report() ?? "off: start the peer with --gc-log true\n");
        app.MapPost("/bench/reset", () =>
        {
            sampler?.Reset();
            gcLog?.Reset();
            stats.Reset();
            return TypedResults.NoContent();
        });
        switch (options.Impl)
        {
            case "builtin":
                BuiltinPeer.Map(app);
                break;
            case "handwritten":
                HandwrittenPeer.Map(app);
                break;
            default:
                app.MapOpenAiStreaming();
                break;
        }

        return app;
    }
}
