using OpenAiStreaming.IntegrationTests.Infrastructure;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>The lifecycle's instruments for every response, and the Responses API's own: resumes, replayed events, background by status.</summary>
public sealed class ResponsesMetricsTests
{
    [Fact]
    public async Task BackgroundResponseResumed_CountsResumeReplayedEventsStatusAndLifecycleRequest()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(5), TimeSpan.Zero));
        using var requests = Meters.Collect<long>(app, Requests);
        using var resumes = Meters.Collect<long>(app, "openai_streaming.responses.resumes");
        using var replayed = Meters.Collect<long>(app, "openai_streaming.responses.replayed_events");
        using var background = Meters.Collect<long>(app, "openai_streaming.responses.background");
        string id = await BackgroundResponsesTests.CreateBackgroundAsync(app);
        await BackgroundResponsesTests.WaitForStatusAsync(app, id, "completed");

        var (_, events, _) = await ResponseStream.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true&starting_after=2"));
        await Meters.WaitUntilAsync(() => replayed.GetMeasurementSnapshot().Count > 0, "replayed events recorded", replayed);

        Assert.Equal(1, resumes.ForModel("test-model").Sum(m => m.Value));
        Assert.Equal(events.Count, replayed.ForModel("test-model").Sum(m => m.Value));
        var ended = Assert.Single(background.ForModel("test-model"));
        Assert.Equal("completed", ended.Tags["openai_streaming.response.status"]);
        var request = Assert.Single(requests.ForModel("test-model"));
        Assert.Equal("responses", request.Tags[OperationTag]);
    }
}
