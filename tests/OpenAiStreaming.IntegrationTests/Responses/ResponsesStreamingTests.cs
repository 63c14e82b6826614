using System.Net;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary><c>POST /v1/responses</c> over a real Kestrel: streamed events, whole answers, function calls, failures.</summary>
public sealed class ResponsesStreamingTests
{
    [Fact]
    public async Task Create_Streamed_EventsInOpenAiOrderWithSequenceNumbersAsSseIds()
    {
        var words = ScriptedChatClient.Words(5);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.Zero));

        var (response, events, failure) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create(ResponseStream.Body()));

        Assert.Null(failure);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        string[] expected =
        [
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            .. Enumerable.Repeat("response.output_text.delta", 5),
            "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
        ];
        Assert.Equal(expected, events.Select(e => e.Type));
        for (int i = 0; i < events.Count; i++)
        {
            Assert.Equal(i, events[i].SequenceNumber);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), events[i].Id);
            Assert.Equal(events[i].Type, events[i].EventType);
        }

        Assert.Equal(string.Concat(words), ResponseStream.Text(events));
        var completed = events[^1].Data.GetProperty("response");
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.StartsWith("resp_", completed.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(string.Concat(words), completed.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(5, completed.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(string.Concat(words), events[^4].Data.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Create_Whole_ReturnsResponseObjectWithOutputAndUsage()
    {
        var backend = new ScriptedChatClient(["Hi", " there"], TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);

        using var response = await app.Client.SendAsync(ResponseStream.Create(
            """{"model":"test-model","input":[{"role":"user","content":[{"type":"input_text","text":"Hello"}]}],"instructions":"Be brief.","max_output_tokens":50,"temperature":0.5,"metadata":{"k":"v"}}"""),
            TestContext.Current.CancellationToken);
        var body = await ResponseStream.JsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("response", body.GetProperty("object").GetString());
        Assert.Equal("completed", body.GetProperty("status").GetString());
        Assert.Equal("Hi there", body.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("Be brief.", body.GetProperty("instructions").GetString());
        Assert.Equal("v", body.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal(2, body.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(50, backend.LastOptions!.MaxOutputTokens);
        Assert.Equal(0.5f, backend.LastOptions.Temperature);
        Assert.Equal(ChatRole.System, backend.LastMessages![0].Role);
        Assert.Equal("Hello", backend.LastMessages[1].Text);
    }

    [Fact]
    public async Task Create_MaxOutputTokensReached_EndsIncompleteWithReason()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["a", "b"], TimeSpan.Zero) { FinishReason = ChatFinishReason.Length });

        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create(ResponseStream.Body()));

        Assert.Null(failure);
        Assert.Equal("response.incomplete", events[^1].Type);
        var response = events[^1].Data.GetProperty("response");
        Assert.Equal("incomplete", response.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", response.GetProperty("incomplete_details").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Create_ModelCallsFunction_FunctionCallItemWithArgumentsEvents()
    {
        var backend = new ToolCallingChatClient();
        await using var app = await TestApp.StartAsync(backend);

        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create(ResponseStream.Body(extra:
            ""","tools":[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],"tool_choice":"auto" """)));

        Assert.Null(failure);
        var types = events.Select(e => e.Type).ToList();
        Assert.Contains("response.function_call_arguments.delta", types);
        var done = events.Single(e => e.Type == "response.function_call_arguments.done").Data;
        Assert.Equal("""{"city":"Paris"}""", done.GetProperty("arguments").GetString());
        Assert.Equal("get_weather", done.GetProperty("name").GetString());
        var item = events.Last(e => e.Type == "response.output_item.done").Data.GetProperty("item");
        Assert.Equal("function_call", item.GetProperty("type").GetString());
        Assert.Equal("call_1", item.GetProperty("call_id").GetString());
        Assert.Equal("Let me check. ", ResponseStream.Text(events));
        Assert.Equal("completed", events[^1].Data.GetProperty("response").GetProperty("status").GetString());
        Assert.Equal("get_weather", Assert.Single(backend.LastOptions!.Tools!).Name);

        // The function's output goes back as an input item, with the call it answers.
        using var second = await app.Client.SendAsync(ResponseStream.Create(
            """{"model":"test-model","input":[{"role":"user","content":"Weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}"""),
            TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var result = Assert.IsType<FunctionResultContent>(Assert.Single(backend.LastMessages![2].Contents));
        Assert.Equal("sunny", result.Result);
        Assert.IsType<FunctionCallContent>(Assert.Single(backend.LastMessages[1].Contents));
    }

    [Fact]
    public async Task Create_ModelFailsMidStream_ResponseFailedEventThenAbortedConnection()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10), TimeSpan.Zero) { Failure = new InvalidOperationException("boom"), FailAfter = 3 };
        await using var app = await TestApp.StartAsync(backend);

        var (_, events, failure) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create(ResponseStream.Body()));

        Assert.NotNull(failure);
        Assert.Equal("response.failed", events[^1].Type);
        var response = events[^1].Data.GetProperty("response");
        Assert.Equal("failed", response.GetProperty("status").GetString());
        Assert.Equal("server_error", response.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("w0 w1 w2 ", ResponseStream.Text(events));
    }

    [Theory]
    [InlineData("""{"input":"hi"}""", "model")]
    [InlineData("""{"model":"test-model"}""", "input")]
    [InlineData("""{"model":"test-model","input":42}""", "input")]
    [InlineData("""{"model":"test-model","input":"hi","temperature":3}""", "temperature")]
    [InlineData("""{"model":"test-model","input":"hi","temperature":"hot"}""", "temperature")]
    [InlineData("""{"model":"test-model","input":"hi","max_output_tokens":0}""", "max_output_tokens")]
    [InlineData("""{"model":"test-model","input":"hi","max_output_tokens":"many"}""", "max_output_tokens")]
    [InlineData("""{"model":"test-model","input":[{"role":"robot","content":"hi"}]}""", "input[0].role")]
    [InlineData("""{"model":"test-model","input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"model":"test-model","input":"hi","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"model":"test-model","input":"hi","tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"model":"test-model","input":"hi","text":{"format":{"type":"yaml"}}}""", "text.format.type")]
    [InlineData("""{"model":"test-model","input":"hi","background":true,"store":false}""", "store")]
    [InlineData("""{"model":"test-model","input":"hi","stream":"yes"}""", "stream")]
    public async Task Create_InvalidField_400WithParam(string body, string param)
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["x"], TimeSpan.Zero));

        using var response = await app.Client.SendAsync(ResponseStream.Create(body), TestContext.Current.CancellationToken);
        var error = (await ResponseStream.JsonAsync(response)).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Create_UnknownModel_404WithParamModel()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["x"], TimeSpan.Zero));

        using var response = await app.Client.SendAsync(ResponseStream.Create("""{"model":"nope","input":"hi"}"""), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model", (await ResponseStream.JsonAsync(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Create_SilentModel_HeartbeatCommentsKeepStreamOpen()
    {
        await using var app = await TestApp.StartAsync(
            new ScriptedChatClient(["late"], TimeSpan.FromMilliseconds(300)), o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(50));

        using var response = await app.Client.SendAsync(ResponseStream.Create(ResponseStream.Body()), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        string raw = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Contains(": keep-alive", raw, StringComparison.Ordinal);
        Assert.Contains("event: response.completed", raw, StringComparison.Ordinal);
    }

    /// <summary>Says a sentence, then calls <c>get_weather</c>.</summary>
    private sealed class ToolCallingChatClient : IChatClient
    {
        public ChatOptions? LastOptions { get; private set; }

        public IList<ChatMessage>? LastMessages { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            LastMessages = [.. messages];
            LastOptions = options;
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "Let me check. ");
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })])
            {
                FinishReason = ChatFinishReason.ToolCalls,
            };
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
