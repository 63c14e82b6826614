using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>
/// Everything a <see cref="CompletionLifecycle"/> needs, without Kestrel: a <see cref="DefaultHttpContext"/> whose body is
/// a pipe and whose connection a test can drop, a clock that moves when told, a fake logger, the real meter.
/// </summary>
internal sealed class LifecycleHarness : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly OpenAiStreamingMetrics _metrics;
    private readonly MetricCollector<long> _requests;
    private readonly MetricCollector<long> _disconnects;
    private readonly MetricCollector<long> _heartbeats;
    private StreamingEnvironment? _environment;
    private StreamLifetime? _lifetime;

    public LifecycleHarness()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        _requests = new(factory, OpenAiStreamingMetricNames.MeterName, OpenAiStreamingMetricNames.Requests);
        _disconnects = new(factory, OpenAiStreamingMetricNames.MeterName, OpenAiStreamingMetricNames.ClientDisconnects);
        _heartbeats = new(factory, OpenAiStreamingMetricNames.MeterName, OpenAiStreamingMetricNames.Heartbeats);
        _metrics = new OpenAiStreamingMetrics(factory);
    }

    /// <summary>Heartbeats off unless a test turns them on, so that the only timers are the ones a test is about.</summary>
    public OpenAiStreamingOptions Options { get; } = new() { HeartbeatInterval = TimeSpan.Zero };

    public TimerSignalingTimeProvider Time { get; } = new();

    public TestHostLifetime Host { get; } = new();

    public FakeLogger<OpenAiEndpoints> Logger { get; } = new();

    /// <summary>Made on first use, from <see cref="Options"/> as the test left them.</summary>
    internal StreamingEnvironment Environment => _environment ??= new StreamingEnvironment(
        Microsoft.Extensions.Options.Options.Create(Options),
        _lifetime = new StreamLifetime(Host, Microsoft.Extensions.Options.Options.Create(Options), Time),
        new AdmissionControl(Microsoft.Extensions.Options.Options.Create(Options)),
        Time,
        Logger);

    /// <summary>Starts serving one request for model <c>m</c>.</summary>
    public RunningRequest Start(IChatClient model, bool stream = true, bool includeUsage = false, CompletionKind kind = CompletionKind.Chat) =>
        Start(model, new ValidatedRequest("m", [new ChatMessage(ChatRole.User, "Hello there")], new ChatOptions(), stream, includeUsage), kind);

    /// <summary>Starts serving <paramref name="request"/> (its model must be <c>m</c>).</summary>
    public RunningRequest Start(IChatClient model, ValidatedRequest request, CompletionKind kind = CompletionKind.Chat)
    {
        var body = new PipeResponseBodyFeature();
        var connection = new AbortableLifetimeFeature();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseBodyFeature>(body);
        context.Features.Set<IHttpRequestLifetimeFeature>(connection);
        var metrics = _metrics.StartRequest("m", "chat", Time.GetTimestamp(), Time);
        var encoder = new ChatCompletionEncoder(kind, request, Options, Time);
        var lifecycle = new CompletionLifecycle(context, request, model, encoder, metrics, Environment);
        return new RunningRequest(context, body, connection, lifecycle.RunAsync());
    }

    /// <summary>The one request's <c>finish_reason</c> or <c>error.type</c>, as the requests counter recorded it.</summary>
    public string Outcome()
    {
        var tags = Assert.Single(_requests.GetMeasurementSnapshot()).Tags;
        return (string)(tags.GetValueOrDefault(OpenAiStreamingMetricNames.ErrorTypeTag) ?? tags[OpenAiStreamingMetricNames.FinishReasonTag])!;
    }

    /// <summary>The phase of the one disconnect counted, or null when none was.</summary>
    public string? DisconnectPhase()
    {
        var disconnects = _disconnects.GetMeasurementSnapshot();
        return disconnects.Count == 0 ? null : (string?)Assert.Single(disconnects).Tags[OpenAiStreamingMetricNames.PhaseTag];
    }

    public long Heartbeats => _heartbeats.GetMeasurementSnapshot().Sum(m => m.Value);

    /// <summary>The one log line written, as (event id, level, message).</summary>
    public FakeLogRecord LogLine() => Assert.Single(Logger.Collector.GetSnapshot());

    public void Dispose()
    {
        _requests.Dispose();
        _disconnects.Dispose();
        _heartbeats.Dispose();
        _lifetime?.Dispose();
        Host.Dispose();
        _services.Dispose();
    }
}
