using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.IntegrationTests.Infrastructure;
using OpenAiStreaming.Metrics;

namespace OpenAiStreaming.IntegrationTests;

public sealed class ChatCompletionsStreamingTests
{
    [Fact]
    public async Task Stream_AnyRequest_SendsAntiBufferingHeaders()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["a"], TimeSpan.Zero));

        var (response, _) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", Sse.ContentType(response)!.MediaType);
        Assert.Equal("utf-8", Sse.ContentType(response)!.CharSet);
        Assert.Equal("no-cache", Sse.Header(response, "Cache-Control"));
        Assert.Equal("no", Sse.Header(response, "X-Accel-Buffering"));
        Assert.Equal("identity", Sse.Header(response, "Content-Encoding"));
    }

    [Fact]
    public async Task Stream_SlowFirstToken_HeadersAndRoleChunkArriveBeforeIt()
    {
        var gate = new TaskCompletionSource();
        var backend = new GatedChatClient(gate.Task);
        await using var app = await TestApp.StartAsync(backend);

        using var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        await using var events = SseParser.Create(body).EnumerateAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);

        // Headers and the role chunk are here while the model has produced nothing.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await events.MoveNextAsync());
        Assert.Contains("\"role\":\"assistant\"", events.Current.Data, StringComparison.Ordinal);
        Assert.False(gate.Task.IsCompleted);

        gate.SetResult();
        var rest = new List<string>();
        while (await events.MoveNextAsync())
        {
            rest.Add(events.Current.Data);
        }

        Assert.Contains("\"content\":\"late\"", rest[0], StringComparison.Ordinal);
        Assert.Equal("[DONE]", rest[^1]);
    }

    [Fact]
    public async Task Stream_FirstTokenReadyAtOnce_GoesOutInTheStartsFlush()
    {
        // A model loop that writes its one token and its end before the response first waits: the headers and role
        // chunk go out with the token (then the end: 2 flushes), where the start was flushed alone first (3).
        await using var app = await TestApp.StartAsync(
            builder => builder.Services.AddOpenAiStreaming().AddChatModel("instant", _ => new OneTokenAtOnce()),
            app => app.MapOpenAiStreaming());
        using var flushes = Meters.Collect<double>(app, OpenAiStreamingMetricNames.FlushDuration);
        using var requests = Meters.Collect<double>(app, OpenAiStreamingMetricNames.RequestDuration);

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody(model: "instant")));
        await Meters.WaitUntilAsync(() => requests.GetMeasurementSnapshot().Count == 1, "the request to end", requests);

        Assert.Contains("\"role\":\"assistant\"", events[0].Data, StringComparison.Ordinal);
        Assert.Equal(["a"], Sse.Contents(events));
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.Equal(2, flushes.GetMeasurementSnapshot().Count);
    }

    /// <summary>Writes "a" and ends, inside <see cref="TokenStreamChatClient.StartSequence"/>: before anyone waits.</summary>
    private sealed class OneTokenAtOnce : TokenStreamChatClient
    {
        protected override void StartSequence(ChatSequence sequence)
        {
            sequence.WriteToken("a");
            sequence.Complete(ChatFinishReason.Stop);
        }
    }

    [Fact]
    public async Task Stream_InstantBackend_EveryTokenIsItsOwnChunk()
    {
        // Tokens that are ready together go out in one flush, but still one chunk per token as the backend made them.
        var tokens = ScriptedChatClient.Words(60); // fewer than the pump holds, so none merge whatever the timing
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(tokens, TimeSpan.Zero));

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.Equal(tokens, Sse.Contents(events));
    }

    [Fact]
    public async Task Stream_MaxQueuedDeltasAboveTheTokens_InstantBackendIsNeverMerged()
    {
        // 2,000 tokens produced at once: with the default 64 they merge (the client is slower than the model); with a
        // queue that holds them all, each stays its own chunk.
        var tokens = ScriptedChatClient.Words(2000);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(tokens, TimeSpan.Zero), o => o.MaxQueuedDeltas = 4096);

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.Equal(tokens, Sse.Contents(events));
    }

    [Fact]
    public async Task Stream_WithIncludeUsage_SendsRoleDeltasFinishUsageDoneInOrder()
    {
        var backend = new ScriptedChatClient(["Hel", "lo", " world"], TimeSpan.FromMilliseconds(5))
        {
            Usage = new UsageDetails { InputTokenCount = 7, OutputTokenCount = 3 },
        };
        await using var app = await TestApp.StartAsync(backend);

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody(includeUsage: true)));

        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.SkipLast(1).Select(e => e.Json()).ToList();
        var role = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", role.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("", role.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal("Hello world", string.Concat(Sse.Contents(events)));

        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.Empty(finish.GetProperty("delta").EnumerateObject());

        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(7, usage.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(10, usage.GetProperty("usage").GetProperty("total_tokens").GetInt32());

        // Every chunk carries the same id, an integer created, the model, and the chunk object type.
        Assert.All(chunks, c =>
        {
            Assert.Equal(chunks[0].GetProperty("id").GetString(), c.GetProperty("id").GetString());
            Assert.StartsWith("chatcmpl-", c.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Equal(chunks[0].GetProperty("created").GetInt64(), c.GetProperty("created").GetInt64());
            Assert.Equal("test-model", c.GetProperty("model").GetString());
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
        });
        Assert.All(chunks.SkipLast(2), c => Assert.Equal(System.Text.Json.JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
    }

    [Fact]
    public async Task Stream_WithoutIncludeUsage_HasNoUsageChunk()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["a", "b"], TimeSpan.Zero));

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.Equal("[DONE]", events[^1].Data);
        Assert.DoesNotContain(events, e => e.Data.Contains("\"usage\"", StringComparison.Ordinal));
        Assert.Equal("stop", events[^2].Json().GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Stream_BackendReportsNoUsage_CountsDeltasAndEstimatesPrompt()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["a", "b", "c", "d"], TimeSpan.Zero));

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody(includeUsage: true)));

        var usage = events[^2].Json().GetProperty("usage");
        Assert.Equal(4, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(2, usage.GetProperty("prompt_tokens").GetInt32()); // "Hello": 5 characters, a quarter rounded up.
    }

    [Theory]
    [InlineData("length", "length")]
    [InlineData("content_filter", "content_filter")]
    [InlineData("tool_calls", "tool_calls")]
    [InlineData("something_else", "stop")]
    public async Task Stream_BackendFinishReason_MapsToOpenAiValue(string backendReason, string expected)
    {
        var backend = new ScriptedChatClient(["x"], TimeSpan.Zero) { FinishReason = new ChatFinishReason(backendReason) };
        await using var app = await TestApp.StartAsync(backend);

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.Equal(expected, events[^2].Json().GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Stream_PacedBackend_EachTokenIsItsOwnEventAsItArrives()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(ScriptedChatClient.Words(5), TimeSpan.FromMilliseconds(100)));

        var (_, events) = await Sse.ReadAllAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        var contentEvents = events.Where(e => e.Data.Contains("\"content\":\"w", StringComparison.Ordinal)).ToList();
        Sse.AssertPaced(contentEvents, TimeSpan.FromMilliseconds(100), expectedCount: 5);
    }

    [Fact]
    public async Task Stream_QuietBackend_SendsHeartbeatCommentsThatParsersIgnore()
    {
        var backend = new ScriptedChatClient(["late"], i => TimeSpan.FromMilliseconds(350));
        await using var app = await TestApp.StartAsync(backend, o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(100));

        using var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        string raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        int heartbeats = raw.Split(": keep-alive\n").Length - 1;
        Assert.InRange(heartbeats, 2, 4);
        Assert.True(raw.IndexOf(": keep-alive", StringComparison.Ordinal) < raw.IndexOf("late", StringComparison.Ordinal));
        var parsed = new List<string>();
        await foreach (var item in SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(raw))).EnumerateAsync(TestContext.Current.CancellationToken))
        {
            parsed.Add(item.Data);
        }

        Assert.DoesNotContain(parsed, d => d.Contains("keep-alive", StringComparison.Ordinal));
        Assert.Equal(4, parsed.Count); // role, content, finish, [DONE]
    }

    [Fact]
    public async Task Stream_ClientDisconnects_BackendIsCancelled()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(1000), TimeSpan.FromMilliseconds(20));
        await using var app = await TestApp.StartAsync(backend);

        using (var response = await app.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken))
        {
            await using var body = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
            await using var events = SseParser.Create(body).EnumerateAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
            for (int i = 0; i < 3; i++)
            {
                Assert.True(await events.MoveNextAsync());
            }
        }

        var clock = Stopwatch.StartNew();
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await backend.Finished.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Stream_BackendThrowsMidStream_ErrorEventThenAbortedConnection()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10), TimeSpan.Zero)
        {
            Failure = new InvalidOperationException("GPU fell over"),
            FailAfter = 3,
        };
        await using var app = await TestApp.StartAsync(backend);

        var (received, failure) = await Sse.ReadUntilFailureAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.DoesNotContain("[DONE]", received);
        var error = received.Single(d => d.StartsWith("{\"error\"", StringComparison.Ordinal));
        Assert.Contains("\"type\":\"server_error\"", error, StringComparison.Ordinal);
        Assert.DoesNotContain("GPU fell over", error, StringComparison.Ordinal); // details only with IncludeExceptionDetails
        Assert.Equal("w0 w1 w2 ", string.Concat(Sse.Contents(received)));
    }

    [Fact]
    public async Task Stream_IncludeExceptionDetails_ErrorEventCarriesMessage()
    {
        var backend = new ScriptedChatClient(["a"], TimeSpan.Zero) { Failure = new InvalidOperationException("GPU fell over"), FailAfter = 1 };
        await using var app = await TestApp.StartAsync(backend, o => o.IncludeExceptionDetails = true);

        var (received, failure) = await Sse.ReadUntilFailureAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.Contains(received, d => d.Contains("GPU fell over", StringComparison.Ordinal));
        await backend.Finished.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    /// <summary>Emits one token once the gate opens.</summary>
    private sealed class GatedChatClient(Task gate) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await gate.WaitAsync(cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, "late");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
