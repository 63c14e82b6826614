using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// The Responses API's own instruments on the <c>OpenAiStreaming</c> meter: resumed streams, the events they replayed,
/// and background responses by status. Every response also gets the lifecycle's instruments
/// (<c>gen_ai.operation.name</c> = <c>responses</c>).
/// </summary>
internal sealed class ResponsesMetrics
{
    public const string Resumes = "openai_streaming.responses.resumes";
    public const string ReplayedEvents = "openai_streaming.responses.replayed_events";
    public const string BackgroundResponses = "openai_streaming.responses.background";
    public const string ActiveBackgroundResponses = "openai_streaming.responses.background.active";
    public const string StatusTag = "openai_streaming.response.status";

    private readonly Counter<long> _resumes;
    private readonly Counter<long> _replayedEvents;
    private readonly Counter<long> _background;
    private readonly UpDownCounter<long> _activeBackground;

    public ResponsesMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(OpenAiStreamingMetricNames.MeterName);
        _resumes = meter.CreateCounter<long>(Resumes, "{stream}",
            "Streams of a background response read from the store: GET with stream=true, starting_after or Last-Event-ID.");
        _replayedEvents = meter.CreateCounter<long>(ReplayedEvents, "{event}", "Events those streams read from the store.");
        _background = meter.CreateCounter<long>(BackgroundResponses, "{response}", "Background responses that ended, by status.");
        _activeBackground = meter.CreateUpDownCounter<long>(ActiveBackgroundResponses, "{response}",
            "Background responses queued or generating on this server now.");
    }

    public void Resumed(string model) => _resumes.Add(1, new KeyValuePair<string, object?>(OpenAiStreamingMetricNames.ModelTag, model));

    public void Replayed(string model, long events)
    {
        if (events > 0 && _replayedEvents.Enabled)
        {
            _replayedEvents.Add(events, new KeyValuePair<string, object?>(OpenAiStreamingMetricNames.ModelTag, model));
        }
    }

    public void BackgroundStarted(string model) =>
        _activeBackground.Add(1, new KeyValuePair<string, object?>(OpenAiStreamingMetricNames.ModelTag, model));

    public void BackgroundEnded(string model, ResponseStatus status)
    {
        _activeBackground.Add(-1, new KeyValuePair<string, object?>(OpenAiStreamingMetricNames.ModelTag, model));
        if (_background.Enabled)
        {
            var tags = new TagList
            {
                { OpenAiStreamingMetricNames.ModelTag, model },
                { StatusTag, ResponseObject.StatusName(status) },
            };
            _background.Add(1, tags);
        }
    }
}
