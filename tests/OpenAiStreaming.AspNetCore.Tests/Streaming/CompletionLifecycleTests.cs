using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;
using OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming;

/// <summary>
/// Every way a request ends, without Kestrel: the bytes the client received, the outcome the metrics recorded, and the
/// log line. Time moves only when a test advances it to a timer something is waiting on.
/// </summary>
public sealed class CompletionLifecycleTests : IDisposable
{
    private const string Role = "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}";

    private readonly LifecycleHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Stream_ModelCompletes_RoleContentFinishUsageDone_CompletedStop()
    {
        var model = Model(Tokens("Hel", "lo"));

        string body = await _h.Start(model, includeUsage: true).EndAsync();

        string head = Head(body);
        Assert.Equal(
            Event(head, "\"choices\":[{\"index\":0," + Role + ",\"logprobs\":null,\"finish_reason\":null}]")
            + Event(head, "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":null,\"finish_reason\":null}]")
            + Event(head, "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"logprobs\":null,\"finish_reason\":null}]")
            + Event(head, "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]")
            + Event(head, "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}")
            + "data: [DONE]\n\n",
            body);
        Assert.Equal("stop", _h.Outcome());
        Assert.Empty(_h.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task Stream_ModelStopsAtLength_FinishReasonLength()
    {
        var model = Model(Then(Tokens("a"), new ChatResponseUpdate { FinishReason = ChatFinishReason.Length }));

        string body = await _h.Start(model).EndAsync();

        Assert.Contains("\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n", body, StringComparison.Ordinal);
        Assert.Equal("length", _h.Outcome());
        Assert.Empty(_h.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task Whole_ModelCompletes_OneJsonAnswer()
    {
        var model = Model(Tokens("Hel", "lo"));

        var request = _h.Start(model, stream: false, kind: CompletionKind.Text);
        string body = await request.EndAsync();

        using var json = JsonDocument.Parse(body);
        var choice = json.RootElement.GetProperty("choices")[0];
        Assert.Equal("text_completion", json.RootElement.GetProperty("object").GetString());
        Assert.Equal("Hello", choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(StatusCodes.Status200OK, request.Context.Response.StatusCode);
        Assert.Equal("stop", _h.Outcome());
    }

    [Fact]
    public async Task Stream_ToolCallAfterText_TextChunkThenToolCallChunk()
    {
        var call = new FunctionCallContent("c1", "weather", new Dictionary<string, object?> { ["city"] = "Paris" });
        var model = Model(Then(Tokens(), new ChatResponseUpdate(ChatRole.Assistant, [new TextContent("checking"), call])));

        string body = await _h.Start(model).EndAsync();

        int text = body.IndexOf("\"content\":\"checking\"", StringComparison.Ordinal);
        int tool = body.IndexOf("\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"weather\",\"arguments\":\"\"}}]", StringComparison.Ordinal);
        int arguments = body.IndexOf("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]", StringComparison.Ordinal);
        Assert.True(text > 0 && tool > text && arguments > tool, body);
        Assert.Equal("tool_calls", _h.Outcome());
    }

    [Fact]
    public async Task ClientLeaves_WhileQueued_ModelNeverCalled_DisconnectWhileWaiting()
    {
        _h.Options.MaxConcurrentStreams = 1;
        _h.Options.MaxQueuedStreams = 1;
        using var holder = new AdmissionLease(_h.Environment.Admissions.For("m"));
        var model = Model(Tokens("never"));

        var request = _h.Start(model);
        await request.Body.WaitForAsync(Role);
        request.Connection.ClientLeaves();
        string body = await request.EndAsync();

        Assert.False(model.Called.IsCompleted);
        Assert.Equal(1, CountEvents(body));
        Assert.Equal("client_disconnected", _h.Outcome());
        Assert.Equal("waiting", _h.DisconnectPhase());
        AssertLog(3, LogLevel.Debug, "The client of a request to model 'm' disconnected; generation was cancelled.");
    }

    [Fact]
    public async Task ClientLeaves_BeforeFirstToken_ModelCancelled_DisconnectBeforeFirstToken()
    {
        var model = Model(Silent());

        var request = _h.Start(model);
        var modelToken = await model.Called.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await request.Body.WaitForAsync(Role);
        request.Connection.ClientLeaves();
        string body = await request.EndAsync();

        Assert.True(modelToken.IsCancellationRequested);
        Assert.Equal(1, CountEvents(body));
        Assert.Equal("client_disconnected", _h.Outcome());
        Assert.Equal("before_first_token", _h.DisconnectPhase());
        AssertLog(3, LogLevel.Debug, "The client of a request to model 'm' disconnected; generation was cancelled.");
    }

    [Fact]
    public async Task ClientLeaves_MidStream_ModelCancelled_DisconnectWhileStreaming()
    {
        var model = Model(Then(Tokens("a"), Silent()));

        var request = _h.Start(model);
        await request.Body.WaitForAsync("\"content\":\"a\"");
        request.Connection.ClientLeaves();
        string body = await request.EndAsync();

        Assert.True((await model.Called).IsCancellationRequested);
        Assert.Equal(2, CountEvents(body));
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        Assert.Equal("client_disconnected", _h.Outcome());
        Assert.Equal("streaming", _h.DisconnectPhase());
        AssertLog(3, LogLevel.Debug, "The client of a request to model 'm' disconnected; generation was cancelled.");
    }

    [Fact]
    public async Task BackendThrows_BeforeFirstToken_ErrorEventFlushedThenAbort()
    {
        var model = Model(Throws(new InvalidOperationException("boom")));

        var request = _h.Start(model);
        Assert.Equal(TimeSpan.FromMilliseconds(100), await _h.Time.AdvanceToNextTimerAsync());
        string body = await request.EndAsync();

        string head = Head(body);
        Assert.Equal(
            Event(head, "\"choices\":[{\"index\":0," + Role + ",\"logprobs\":null,\"finish_reason\":null}]")
            + "data: {\"error\":{\"message\":\"The model failed while generating this response.\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
            body);
        Assert.True(request.Connection.AbortedByServer);
        Assert.Equal("System.InvalidOperationException", _h.Outcome());
        var log = AssertLog(2, LogLevel.Error, "Model 'm' failed; the response ends with an error.");
        Assert.Equal("boom", log.Exception?.Message);
    }

    [Fact]
    public async Task BackendThrows_AfterFirstToken_ContentThenErrorEventThenAbort_DetailsWhenAllowed()
    {
        _h.Options.IncludeExceptionDetails = true;
        var model = Model(Then(Tokens("a"), Throws(new InvalidOperationException("boom"))));

        var request = _h.Start(model);
        await _h.Time.AdvanceToNextTimerAsync();
        string body = await request.EndAsync();

        Assert.EndsWith(
            "\"delta\":{\"content\":\"a\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
            + "data: {\"error\":{\"message\":\"The model failed: InvalidOperationException: boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
            body);
        Assert.True(request.Connection.AbortedByServer);
        Assert.Equal("System.InvalidOperationException", _h.Outcome());
        AssertLog(2, LogLevel.Error, "Model 'm' failed; the response ends with an error.");
    }

    [Fact]
    public async Task BackendRejectsArguments_BeforeAnything_400WithItsMessage()
    {
        var model = new DelegateChatClient(_ => throw new ArgumentException("top_k is too large"));

        var request = _h.Start(model);
        string body = await request.EndAsync();

        Assert.Equal(StatusCodes.Status400BadRequest, request.Context.Response.StatusCode);
        Assert.Equal("{\"error\":{\"message\":\"top_k is too large\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}", body);
        Assert.False(request.Connection.AbortedByServer);
        Assert.Equal("System.ArgumentException", _h.Outcome());
        AssertLog(1, LogLevel.Warning, "Model 'm' rejected the request's arguments; the client got 400.");
    }

    [Fact]
    public async Task ByteCap_PushModelOutrunsTheClient_ClientTooSlowErrorEvent_ModelToldToStop()
    {
        _h.Options.MaxQueuedDeltas = 1;
        _h.Options.MaxBufferedBytes = 64;
        var model = new EagerLoop(tokens: 1000);

        var request = _h.Start(model);
        await _h.Time.AdvanceToNextTimerAsync();
        string body = await request.EndAsync();

        Assert.True(model.Refused > 0, "the loop's writes must fail once the cap is reached");
        Assert.Contains("\"type\":\"server_error\",\"param\":null,\"code\":\"client_too_slow\"}}\n\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        Assert.True(request.Connection.AbortedByServer);
        Assert.Equal("client_too_slow", _h.Outcome());
        AssertLog(4, LogLevel.Warning, "A client of model 'm' read so slowly that more than 64 bytes waited for it; its stream was stopped.");
    }

    [Fact]
    public async Task DurationLimit_Passes_TimeoutErrorEvent_ModelCancelled()
    {
        _h.Options.MaxStreamDuration = TimeSpan.FromSeconds(5);
        var model = Model(Then(Tokens("a"), Silent()));

        var request = _h.Start(model);
        await request.Body.WaitForAsync("\"content\":\"a\"");
        Assert.Equal(TimeSpan.FromSeconds(5), await _h.Time.AdvanceToNextTimerAsync());
        await _h.Time.AdvanceToNextTimerAsync();
        string body = await request.EndAsync();

        Assert.EndsWith(
            "data: {\"error\":{\"message\":\"The request took longer than the server's limit of 5 seconds.\",\"type\":\"server_error\",\"param\":null,\"code\":\"timeout\"}}\n\n",
            body);
        Assert.True((await model.Called).IsCancellationRequested);
        Assert.Equal("timeout", _h.Outcome());
        AssertLog(6, LogLevel.Warning, "A request to model 'm' exceeded the maximum duration of 00:00:05; it was stopped.");
    }

    [Fact]
    public async Task Shutdown_DrainTimeRunsOut_ShutdownErrorEvent()
    {
        _h.Options.ShutdownDrainTimeout = TimeSpan.FromSeconds(2);
        var model = Model(Then(Tokens("a"), Silent()));

        var request = _h.Start(model);
        await request.Body.WaitForAsync("\"content\":\"a\"");
        _h.Host.StopApplication();
        Assert.Equal(TimeSpan.FromSeconds(2), await _h.Time.AdvanceToNextTimerAsync());
        await _h.Time.AdvanceToNextTimerAsync();
        string body = await request.EndAsync();

        Assert.EndsWith(
            "data: {\"error\":{\"message\":\"The server is shutting down; retry the request.\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_shutting_down\"}}\n\n",
            body);
        Assert.True(request.Connection.AbortedByServer);
        Assert.Equal("server_shutting_down", _h.Outcome());
        AssertLog(5, LogLevel.Information, "A stream from model 'm' was still running when the shutdown drain time ran out; it ended with the shutdown error.");
    }

    [Fact]
    public async Task HostStopping_OnArrival_503_ModelNeverCalled()
    {
        _h.Host.StopApplication();
        var model = Model(Tokens("never"));

        var request = _h.Start(model);
        string body = await request.EndAsync();

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, request.Context.Response.StatusCode);
        Assert.Equal("{\"error\":{\"message\":\"The server is shutting down; retry the request.\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_shutting_down\"}}", body);
        Assert.False(model.Called.IsCompleted);
        Assert.Equal("server_shutting_down", _h.Outcome());
        Assert.Empty(_h.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task HostStops_WhileQueued_503_ModelNeverCalled()
    {
        _h.Options.MaxConcurrentStreams = 1;
        _h.Options.MaxQueuedStreams = 1;
        using var holder = new AdmissionLease(_h.Environment.Admissions.For("m"));
        var model = Model(Tokens("never"));

        var request = _h.Start(model, stream: false);
        _h.Host.StopApplication();
        string body = await request.EndAsync();

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, request.Context.Response.StatusCode);
        Assert.Contains("\"code\":\"server_shutting_down\"", body, StringComparison.Ordinal);
        Assert.False(model.Called.IsCompleted);
        Assert.Equal("server_shutting_down", _h.Outcome());
        Assert.Empty(_h.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task SlotsAndQueueFull_429WithRetryAfter_ModelNeverCalled()
    {
        _h.Options.MaxConcurrentStreams = 1;
        _h.Options.MaxQueuedStreams = 0;
        using var holder = new AdmissionLease(_h.Environment.Admissions.For("m"));
        var model = Model(Tokens("never"));

        var request = _h.Start(model);
        string body = await request.EndAsync();

        Assert.Equal(StatusCodes.Status429TooManyRequests, request.Context.Response.StatusCode);
        Assert.Equal("1", request.Context.Response.Headers.RetryAfter.ToString());
        Assert.Equal("{\"error\":{\"message\":\"Model \\u0027m\\u0027 is serving its maximum number of requests; retry shortly.\",\"type\":\"rate_limit_exceeded\",\"param\":null,\"code\":\"too_many_requests\"}}", body);
        Assert.False(model.Called.IsCompleted);
        Assert.Equal("rate_limited", _h.Outcome());
        Assert.Empty(_h.Logger.Collector.GetSnapshot());
    }

    [Fact]
    public async Task Heartbeat_ModelSilentForTheInterval_KeepAliveCommentBetweenRoleAndContent()
    {
        _h.Options.HeartbeatInterval = TimeSpan.FromSeconds(1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var model = Model(Then(Gate(gate.Task), _ => Tokens("a")));

        var request = _h.Start(model);
        await _h.Time.AdvanceToNextTimerAsync();
        await request.Body.WaitForAsync(": keep-alive");
        gate.SetResult();
        string body = await request.EndAsync();

        int role = body.IndexOf(Role, StringComparison.Ordinal);
        int heartbeat = body.IndexOf(": keep-alive\n\n", StringComparison.Ordinal);
        int content = body.IndexOf("\"content\":\"a\"", StringComparison.Ordinal);
        Assert.True(role < heartbeat && heartbeat < content, body);
        Assert.Equal(1, _h.Heartbeats);
        Assert.Equal("stop", _h.Outcome());
    }

    [Fact]
    public async Task PushModel_InsideAPipeline_ServedThroughThePipeline()
    {
        var loop = new EagerLoop(tokens: 3);
        int seen = 0;
        using var pipeline = new ChatClientBuilder(loop)
            .Use(getResponseFunc: null, getStreamingResponseFunc: (messages, options, inner, ct) => Count(inner.GetStreamingResponseAsync(messages, options, ct)))
            .Build();

        string body = await _h.Start(pipeline).EndAsync();

        Assert.Equal(4, seen); // three tokens and the finish
        Assert.Contains("data: [DONE]", body, StringComparison.Ordinal);
        Assert.Equal("stop", _h.Outcome());

        async IAsyncEnumerable<ChatResponseUpdate> Count(IAsyncEnumerable<ChatResponseUpdate> updates)
        {
            await foreach (var update in updates)
            {
                seen++;
                yield return update;
            }
        }
    }

    private FakeLogRecord AssertLog(int id, LogLevel level, string message)
    {
        var line = _h.LogLine();
        Assert.Equal(id, line.Id.Id);
        Assert.Equal(level, line.Level);
        Assert.Equal(message, line.Message);
        return line;
    }

    private static DelegateChatClient Model(IAsyncEnumerable<ChatResponseUpdate> updates) => new(_ => updates);

    private static DelegateChatClient Model(Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> updates) => new(updates);

    private static async IAsyncEnumerable<ChatResponseUpdate> Tokens(params string[] tokens)
    {
        foreach (var token in tokens)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, token);
        }
    }

    private static Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> Then(IAsyncEnumerable<ChatResponseUpdate> first, ChatResponseUpdate last) =>
        Then(first, _ => One(last));

    private static Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> Then(
        IAsyncEnumerable<ChatResponseUpdate> first, Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> rest) =>
        ct => Concat(first, rest(ct));

    private static async IAsyncEnumerable<ChatResponseUpdate> Concat(IAsyncEnumerable<ChatResponseUpdate> first, IAsyncEnumerable<ChatResponseUpdate> second)
    {
        await foreach (var update in first)
        {
            yield return update;
        }

        await foreach (var update in second)
        {
            yield return update;
        }
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> One(ChatResponseUpdate update)
    {
        await Task.Yield();
        yield return update;
    }

    /// <summary>A model in its prefill: nothing until it is cancelled.</summary>
    private static Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> Silent() => SilentAsync;

    private static async IAsyncEnumerable<ChatResponseUpdate> SilentAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Gate(Task gate)
    {
        await gate;
        yield break;
    }

    private static Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> Throws(Exception exception) => _ => ThrowsAsync(exception);

    private static async IAsyncEnumerable<ChatResponseUpdate> ThrowsAsync(Exception exception)
    {
        await Task.Yield();
        throw exception;
#pragma warning disable CS0162 // An iterator needs a yield.
        yield break;
#pragma warning restore CS0162
    }

    /// <summary>The fields every chunk of the stream starts with: <c>{"id":...,"model":"m",</c>.</summary>
    private static string Head(string body)
    {
        int start = body.IndexOf('{', StringComparison.Ordinal);
        int end = body.IndexOf("\"model\":\"m\",", StringComparison.Ordinal) + "\"model\":\"m\",".Length;
        return body[start..end];
    }

    private static string Event(string head, string rest) => "data: " + head + rest + "}\n\n";

    private static int CountEvents(string body) => body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>A host's model loop that writes all its tokens the moment a sequence starts, faster than any client.</summary>
    private sealed class EagerLoop(int tokens) : TokenStreamChatClient
    {
        public int Refused { get; private set; }

        protected override void StartSequence(ChatSequence sequence)
        {
            for (int i = 0; i < tokens; i++)
            {
                if (!sequence.WriteToken("tok "))
                {
                    Refused++;
                }
            }

            sequence.Complete(ChatFinishReason.Stop);
        }
    }
}
