using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ChatServer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>
/// Background responses: generated apart from the connection, replayed from the store after a sequence number
/// (<c>starting_after</c> or <c>Last-Event-ID</c>), followed live by any number of readers, cancelled within 100 ms.
/// </summary>
public sealed class BackgroundResponsesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Background_CreateReturnsQueued_StreamAgainFromZeroGivesEveryEventAndPollingShowsCompleted()
    {
        var words = ScriptedChatClient.Words(10);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.FromMilliseconds(1)));

        using var created = await app.Client.SendAsync(ResponseStream.Create(ResponseStream.Body(stream: false, background: true)), Ct);
        var queued = await ResponseStream.JsonAsync(created);
        string id = queued.GetProperty("id").GetString()!;
        var (response, events, failure) = await ResponseStream.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true"));

        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("queued", queued.GetProperty("status").GetString());
        Assert.True(queued.GetProperty("background").GetBoolean());
        Assert.Null(failure);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["response.created", "response.queued", "response.in_progress"], events.Take(3).Select(e => e.Type));
        Assert.Equal("queued", events[0].Data.GetProperty("response").GetProperty("status").GetString());
        Assert.Equal("response.completed", events[^1].Type);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.SequenceNumber));
        Assert.Equal(string.Concat(words), ResponseStream.Text(events));
        using var poll = await app.Client.GetAsync($"v1/responses/{id}", Ct);
        var stored = await ResponseStream.JsonAsync(poll);
        Assert.Equal("completed", stored.GetProperty("status").GetString());
        Assert.Equal(string.Concat(words), stored.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Resume_CutAfter20Of200Events_EveryEventFrom20ExactlyOnceAndTextEqualsUninterruptedRunWithSameSeed()
    {
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
            ["--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00.002", "--Logging:LogLevel:Default=Warning"]));
        string body = """{"model":"tiny-char-lm","input":"Tell me about streams.","max_output_tokens":200,"temperature":0.8,"seed":4242,"stream":true""";

        // The uninterrupted run, in the foreground.
        var (_, whole, wholeFailure) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create(body + "}"));

        // The same request in the background: read 20 events, drop the connection, resume after the last one read.
        var cut = new List<ResponseStreamEvent>();
        using (var client = TestApp.CreateClient(app.BaseAddress))
        using (var first = await client.SendAsync(ResponseStream.Create(body + ""","background":true}"""), HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            await ResponseStream.ReadAsync(first, cut, 20);
        }

        string id = cut[0].Data.GetProperty("response").GetProperty("id").GetString()!;
        var start = Stopwatch.GetTimestamp();
        var (_, rest, failure) = await ResponseStream.ReadAllAsync(app.Client,
            new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true&starting_after={cut[^1].SequenceNumber}"));

        Assert.Null(wholeFailure);
        Assert.Null(failure);
        Assert.Equal(20, cut.Count);
        Assert.Equal(Enumerable.Range(0, cut.Count + rest.Count).Select(i => (long)i), cut.Concat(rest).Select(e => e.SequenceNumber));
        Assert.Equal(20, rest[0].SequenceNumber);
        Assert.Equal("response.incomplete", rest[^1].Type); // max_output_tokens reached
        string resumedText = ResponseStream.Text(cut.Concat(rest));
        Assert.Equal(200, resumedText.Length);
        Assert.Equal(ResponseStream.Text(whole), resumedText);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"cut after {cut.Count} events, resumed {rest.Count} events from {rest[0].SequenceNumber} to {rest[^1].SequenceNumber}; text identical ({resumedText.Length} chars); resume request to end {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F1} ms");
    }

    [Fact]
    public async Task Resume_WithLastEventIdHeader_ContinuesAfterThatEvent()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(5), TimeSpan.Zero));
        string id = await CreateBackgroundAsync(app);
        await WaitForStatusAsync(app, id, "completed");

        var request = new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}");
        request.Headers.Add("Last-Event-ID", "6");
        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, request);

        Assert.Null(failure);
        Assert.Equal(7, events[0].SequenceNumber);
        Assert.Equal("7", events[0].Id);
        Assert.Equal("response.completed", events[^1].Type);
    }

    [Fact]
    public async Task Follow_ThreeReadersWhileGenerating_EachGetsIdenticalCompleteSequence()
    {
        var words = ScriptedChatClient.Words(40);
        var backend = new ScriptedChatClient(words, TimeSpan.FromMilliseconds(5));
        await using var app = await TestApp.StartAsync(backend);
        string id = await CreateBackgroundAsync(app);
        await backend.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        var readers = Enumerable.Range(0, 3).Select(i => ResponseStream.ReadAllAsync(app.Client,
            new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true&starting_after={i * 3 - 1}"))).ToList();
        var results = await Task.WhenAll(readers);

        for (int i = 0; i < 3; i++)
        {
            var (_, events, failure) = results[i];
            Assert.Null(failure);
            Assert.Equal(i * 3, events[0].SequenceNumber);
            Assert.Equal(Enumerable.Range(i * 3, events.Count).Select(n => (long)n), events.Select(e => e.SequenceNumber));
            Assert.Equal("response.completed", events[^1].Type);
            Assert.Equal(results[0].Events[^1].Data.GetRawText(), events[^1].Data.GetRawText());
        }

        Assert.Equal(string.Concat(words), ResponseStream.Text(results[0].Events));
    }

    [Fact]
    public async Task ReaderDisconnects_BackgroundResponseRunsOnToCompletion()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(30), TimeSpan.FromMilliseconds(5));
        await using var app = await TestApp.StartAsync(backend);

        using (var client = TestApp.CreateClient(app.BaseAddress))
        using (var streamed = await client.SendAsync(ResponseStream.Create(ResponseStream.Body(background: true)), HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            await ResponseStream.ReadAsync(streamed, [], 5);
        }

        await backend.Finished.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(backend.Cancelled.Task.IsCompleted);
        var generation = await backend.Generations.Reader.ReadAsync(Ct);
        Assert.Equal(29, generation.Emitted);
    }

    [Fact]
    public async Task Cancel_InProgress_ModelStopsWithin100msP99_StatusCancelled_Idempotent()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(2));
        await using var app = await TestApp.StartAsync(backend);
        var latencies = new Latencies();
        string? lastId = null;
        for (int i = 0; i < 30; i++)
        {
            string id = await CreateBackgroundAsync(app);
            var generation = await backend.Generations.Reader.ReadAsync(Ct);
            long sent = Stopwatch.GetTimestamp();
            using var cancel = await app.Client.PostAsync($"v1/responses/{id}/cancel", null, Ct);
            await generation.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
            latencies.Add(sent, generation.CancelledAt);
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            Assert.Equal("cancelled", (await ResponseStream.JsonAsync(cancel)).GetProperty("status").GetString());
            lastId = id;
        }

        using var again = await app.Client.PostAsync($"v1/responses/{lastId}/cancel", null, Ct);
        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{lastId}?stream=true"));

        latencies.Report("cancel request sent -> model's token fired");
        Assert.True(latencies.Percentile(99) < 100, $"p99 {latencies.Percentile(99):F1} ms");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("cancelled", (await ResponseStream.JsonAsync(again)).GetProperty("status").GetString());
        Assert.Null(failure);
        Assert.Equal("response.cancelled", events[^1].Type);
    }

    [Fact]
    public async Task Cancel_ForegroundOrUnknown_400Or404()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["x"], TimeSpan.Zero));
        using var whole = await app.Client.SendAsync(ResponseStream.Create(ResponseStream.Body(stream: false)), Ct);
        string id = (await ResponseStream.JsonAsync(whole)).GetProperty("id").GetString()!;

        using var foreground = await app.Client.PostAsync($"v1/responses/{id}/cancel", null, Ct);
        using var unknown = await app.Client.PostAsync("v1/responses/resp_nope/cancel", null, Ct);
        using var streamAgain = await app.Client.GetAsync($"v1/responses/{id}?stream=true", Ct);
        using var badAfter = await app.Client.GetAsync($"v1/responses/{id}?stream=true&starting_after=abc", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, foreground.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, streamAgain.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badAfter.StatusCode);
        Assert.Equal("starting_after", (await ResponseStream.JsonAsync(badAfter)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Background_ModelFails_StoredEventsEndWithResponseFailedAndStatusFailed()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(10), TimeSpan.Zero)
        {
            Failure = new InvalidOperationException("boom"),
            FailAfter = 4,
        });
        string id = await CreateBackgroundAsync(app);

        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true"));
        var polled = await WaitForStatusAsync(app, id, "failed");

        Assert.Null(failure);
        Assert.Equal("response.failed", events[^1].Type);
        Assert.Equal("server_error", polled.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("w0 w1 w2 w3 ", ResponseStream.Text(events));
    }

    [Fact]
    public async Task Background_WorkerFull_429WithRetryAfterBeforeAnythingIsStored()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(5));
        await using var app = await TestApp.StartAsync(
            b => b.Services.AddOpenAiStreaming().AddChatModel("test-model", _ => backend).Services
                .Configure<OpenAiStreaming.AspNetCore.Responses.ResponsesOptions>(o => o.MaxBackgroundResponses = 1),
            a => a.MapOpenAiStreaming());
        string first = await CreateBackgroundAsync(app);

        using var second = await app.Client.SendAsync(ResponseStream.Create(ResponseStream.Body(stream: false, background: true)), Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("1", second.Headers.RetryAfter?.ToString());
        using var cancel = await app.Client.PostAsync($"v1/responses/{first}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
    }

    [Fact]
    public async Task Delete_WhileReaderFollows_ReaderGetsErrorEventAndAbortNotACleanEnd()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(5));
        await using var app = await TestApp.StartAsync(backend);
        string id = await CreateBackgroundAsync(app);
        using var reader = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"v1/responses/{id}?stream=true"), HttpCompletionOption.ResponseHeadersRead, Ct);
        var events = new List<ResponseStreamEvent>();
        await ResponseStream.ReadAsync(reader, events, 5);

        using var deleted = await app.Client.DeleteAsync($"v1/responses/{id}", Ct);
        var failure = await Record.ExceptionAsync(() => ResponseStream.ReadAsync(reader, events, int.MaxValue));

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True((await ResponseStream.JsonAsync(deleted)).GetProperty("deleted").GetBoolean());
        Assert.NotNull(failure);
        Assert.Equal("error", events[^1].Type);
        Assert.Equal("response_not_found", events[^1].Data.GetProperty("code").GetString());
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        using var gone = await app.Client.GetAsync($"v1/responses/{id}", Ct);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    internal static async Task<string> CreateBackgroundAsync(TestApp app, string? body = null)
    {
        using var created = await app.Client.SendAsync(ResponseStream.Create(body ?? ResponseStream.Body(stream: false, background: true)), Ct);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (await ResponseStream.JsonAsync(created)).GetProperty("id").GetString()!;
    }

    /// <summary>Polls <c>GET /v1/responses/{id}</c> (as clients of background responses do) until the status shows.</summary>
    internal static async Task<JsonElement> WaitForStatusAsync(TestApp app, string id, string status)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            using var poll = await app.Client.GetAsync($"v1/responses/{id}", timeout.Token);
            var body = await ResponseStream.JsonAsync(poll);
            if (body.GetProperty("status").GetString() == status)
            {
                return body;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(2), timeout.Token);
        }
    }
}
