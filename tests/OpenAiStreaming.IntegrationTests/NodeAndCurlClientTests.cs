using System.Text.Json;
using ChatServer;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Official and everyday clients other than the .NET SDK (see <see cref="OpenAiSdkTests"/>): the <c>openai</c> package
/// on Node, driven by node/openai-client.cjs, and <c>curl -N</c>. Node tests need <c>node</c> and the package: CI runs
/// <c>npm install openai@7</c> into a temp folder and exports OPENAI_NODE_MODULES (its node_modules); locally
/// /tmp/openai-node/node_modules is tried too.
/// </summary>
public sealed class NodeAndCurlClientTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NodeOpenAi_Streaming_TextIntactWithFinishReasonStop()
    {
        var words = ScriptedChatClient.Words(30);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.FromMilliseconds(2)));
        await using var node = StartNode(app, "stream");

        var lines = await node.ReadAllLinesAsync(s_timeout);
        Assert.Equal(0, await node.WaitForExitAsync(s_timeout));

        var output = lines.Select(l => JsonDocument.Parse(l.Text).RootElement).ToList();
        var done = output[^1];
        Assert.True(done.GetProperty("event").GetString() == "done", $"node did not finish the stream: {lines[^1].Text}\n{node.Stderr}");
        Assert.Equal(string.Concat(words), done.GetProperty("text").GetString());
        Assert.Equal("stop", done.GetProperty("finishReason").GetString());
        Assert.True(output.Count(o => o.GetProperty("event").GetString() == "content") > 2, "the text came in one piece");
    }

    [Fact]
    public async Task NodeOpenAi_AbortControllerMidStream_ServerSeesCancellation()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(400), TimeSpan.FromMilliseconds(50));
        await using var app = await TestApp.StartAsync(backend);
        await using var node = StartNode(app, "abort", "2");

        var aborted = await node.WaitForLineAsync(l => l.Contains("\"event\":\"aborted\"", StringComparison.Ordinal), s_timeout);
        Assert.Contains("w0 w1 ", aborted.Text, StringComparison.Ordinal);

        // The script is still running (it waits for stdin to close): the cancellation comes from the abort itself,
        // not from the process exiting.
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(node.HasExited, $"node exited before the server saw the cancellation: {node.Stderr}");
        Assert.True(backend.Generations.Reader.TryPeek(out var generation));
        Assert.True(generation.Emitted < 100, $"the generation ran on to token {generation.Emitted} before it was cancelled");

        node.CloseStdin();
        Assert.Equal(0, await node.WaitForExitAsync(s_timeout));
    }

    [Fact]
    public async Task NodeOpenAi_BackendFailsMidStream_SdkRaisesApiErrorWithServerMessage()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(20), TimeSpan.Zero)
        {
            Failure = new InvalidOperationException("GPU fell over"),
            FailAfter = 5,
        };
        await using var app = await TestApp.StartAsync(backend, o => o.IncludeExceptionDetails = true);
        await using var node = StartNode(app, "error");

        var lines = await node.ReadAllLinesAsync(s_timeout);
        Assert.Equal(0, await node.WaitForExitAsync(s_timeout));

        // The error event is flushed and given time to arrive before the connection is aborted, so the SDK parses it
        // and raises APIError with the server's message (an abort at once loses it: "TypeError: terminated").
        var error = JsonDocument.Parse(lines[^1].Text).RootElement;
        Assert.True(error.GetProperty("event").GetString() == "error", $"node did not raise: {lines[^1].Text}\n{node.Stderr}");
        Assert.Equal("APIError", error.GetProperty("name").GetString());
        Assert.Contains("GPU fell over", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("w0 w1 w2 w3 w4 ", error.GetProperty("text").GetString());
    }

    [Fact]
    public async Task CurlN_SampleChatServer_TokensArriveOneByOneAndEndWithDone()
    {
        Curl.SkipIfMissing();
        const int tokens = 20;
        var delay = TimeSpan.FromMilliseconds(50);
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
            ["--urls=http://127.0.0.1:0", $"--TinyModel:TokenDelay={delay}", "--Logging:LogLevel:Default=Warning"]));

        var result = await Curl.PostAsync(
            new Uri(app.BaseAddress, "v1/chat/completions"),
            Sse.ChatBody(model: "tiny-char-lm", extra: $",\"max_tokens\":{tokens},\"seed\":7"));

        Assert.StartsWith("HTTP/1.1 200", result.StatusLine, StringComparison.Ordinal);
        var events = result.Events;
        Assert.Equal("[DONE]", events[^1].Data);
        Assert.Equal(tokens, string.Concat(Sse.Contents(events)).Length);

        // One token per event, each printed by curl as it arrived: the first far ahead of the last. (A loaded machine
        // may merge a few tokens into one event; never most of them.)
        var contents = events.Where(e => e.Data.Contains("\"content\":", StringComparison.Ordinal) && !e.Data.Contains("\"role\"", StringComparison.Ordinal)).ToList();
        Assert.True(contents.Count >= tokens * 3 / 4, $"only {contents.Count} events for {tokens} tokens: the stream was batched");
        var spread = contents[^1].At - contents[0].At;
        Assert.True(spread > delay * (tokens - 1) * 0.8, $"the tokens arrived within {spread.TotalMilliseconds:F0} ms: not paced");
    }

    [Fact]
    public async Task NodeOpenAi_SampleLogprobsTopThreeNTwo_StreamedAndWholeAgreeWithValidShapes()
    {
        await using var app = await StartSampleAsync();
        await using var node = StartNode(app, "logprobs", "tiny-char-lm");

        var lines = await node.ReadAllLinesAsync(s_timeout);
        Assert.Equal(0, await node.WaitForExitAsync(s_timeout));
        var output = JsonDocument.Parse(lines[^1].Text).RootElement;
        Assert.True(output.GetProperty("event").GetString() == "logprobs", $"node failed: {lines[^1].Text}\n{node.Stderr}");

        var streamed = output.GetProperty("streamed");
        var whole = output.GetProperty("whole");
        for (int i = 0; i < 2; i++)
        {
            string text = streamed.GetProperty("text")[i].GetString()!;
            Assert.Equal(12, text.Length);
            Assert.Equal("length", streamed.GetProperty("finishReasons")[i].GetString());
            Assert.Equal("length", whole.GetProperty("finishReasons")[i].GetString());
            AssertLogprobs(text, streamed.GetProperty("logprobs")[i], top: 3);

            // Seeded (seed + index per choice): the whole answer is the same generation as the streamed one.
            Assert.Equal(text, whole.GetProperty("text")[i].GetString());
            AssertLogprobs(text, whole.GetProperty("logprobs")[i], top: 3);
        }

        Assert.NotEqual(streamed.GetProperty("text")[0].GetString(), streamed.GetProperty("text")[1].GetString());
        Assert.Equal(24, streamed.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(24, whole.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        var legacy = output.GetProperty("legacy");
        var legacyLogprobs = legacy.GetProperty("logprobs");
        Assert.Equal(legacy.GetProperty("text").GetString(), string.Concat(legacyLogprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
        Assert.Equal([0, 1, 2, 3, 4], legacyLogprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()));
        Assert.All(legacyLogprobs.GetProperty("token_logprobs").EnumerateArray(), l => Assert.True(l.GetDouble() <= 0));
        Assert.All(legacyLogprobs.GetProperty("top_logprobs").EnumerateArray(), t => Assert.InRange(t.EnumerateObject().Count(), 1, 2));
    }

    [Fact]
    public async Task NodeOpenAi_ParallelToolCalls_StreamedInOpenAisShapeAndAssembledBySdk()
    {
        await using var app = await TestApp.StartAsync(new WeatherToolChatClient());
        await using var node = StartNode(app, "tools", "test-model");

        var lines = await node.ReadAllLinesAsync(s_timeout);
        Assert.Equal(0, await node.WaitForExitAsync(s_timeout));
        var output = JsonDocument.Parse(lines[^1].Text).RootElement;
        Assert.True(output.GetProperty("event").GetString() == "tools", $"node failed: {lines[^1].Text}\n{node.Stderr}");

        var calls = output.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal(["call_paris", "call_oslo"], calls.Select(c => c.GetProperty("id").GetString()));
        Assert.All(calls, c =>
        {
            Assert.Equal("function", c.GetProperty("type").GetString());
            Assert.Equal("get_weather", c.GetProperty("name").GetString());
            Assert.True(c.GetProperty("deltas").GetInt32() >= 2, "the arguments did not follow the name in later deltas");
        });
        Assert.Equal("""{"city":"Paris"}""", calls[0].GetProperty("arguments").GetString());
        Assert.Equal("tool_calls", output.GetProperty("finishReason").GetString());
        Assert.Equal(JsonValueKind.Object, output.GetProperty("usage").ValueKind);
        Assert.Equal("tool_calls", output.GetProperty("assembledFinish").GetString());
        Assert.Equal(["Paris", "Oslo"], output.GetProperty("assembled").EnumerateArray()
            .Select(c => JsonDocument.Parse(c.GetProperty("function").GetProperty("arguments").GetString()!).RootElement.GetProperty("city").GetString()));
    }

    [Fact]
    public async Task Curl_SampleLogprobsNTwoStopString_ShapesPerChoiceAndStopNeverSent()
    {
        Curl.SkipIfMissing();
        await using var app = await StartSampleAsync();

        var result = await Curl.PostAsync(
            new Uri(app.BaseAddress, "v1/chat/completions"),
            Sse.ChatBody(model: "tiny-char-lm", includeUsage: true, extra: ",\"max_tokens\":10,\"seed\":3,\"n\":2,\"logprobs\":true,\"top_logprobs\":2"));

        Assert.StartsWith("HTTP/1.1 200", result.StatusLine, StringComparison.Ordinal);
        var events = result.Events;
        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.Where(e => e.Data.StartsWith('{')).Select(e => e.Json()).ToList();
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(20, usage.GetProperty("completion_tokens").GetInt32());
        for (int i = 0; i < 2; i++)
        {
            var choices = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Where(c => c.GetProperty("index").GetInt32() == i).ToList();
            Assert.Equal("assistant", choices[0].GetProperty("delta").GetProperty("role").GetString());
            Assert.Equal("length", Assert.Single(choices, c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String).GetProperty("finish_reason").GetString());
            var content = choices.Where(c => c.GetProperty("delta").TryGetProperty("content", out _) && c.GetProperty("logprobs").ValueKind == JsonValueKind.Object).ToList();
            string text = string.Concat(content.Select(c => c.GetProperty("delta").GetProperty("content").GetString()));
            var entries = content.SelectMany(c => c.GetProperty("logprobs").GetProperty("content").EnumerateArray()).ToList();
            Assert.Equal(10, text.Length);
            AssertLogprobs(text, JsonSerializer.SerializeToElement(entries), top: 2);
        }

        // The same request with a stop string: the stream is cut before it, and it is never sent.
        string firstText = string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Where(c => c.GetProperty("index").GetInt32() == 0 && c.GetProperty("delta").TryGetProperty("content", out _))
            .Select(c => c.GetProperty("delta").GetProperty("content").GetString()));
        string stop = firstText.Substring(4, 2);
        var stopped = await Curl.PostAsync(
            new Uri(app.BaseAddress, "v1/chat/completions"),
            Sse.ChatBody(model: "tiny-char-lm", extra: $",\"max_tokens\":10,\"seed\":3,\"stop\":{JsonSerializer.Serialize(stop)}"));
        var stoppedChoices = stopped.Events.Where(e => e.Data.StartsWith('{')).SelectMany(e => e.Json().GetProperty("choices").EnumerateArray()).ToList();
        string stoppedText = string.Concat(stoppedChoices.Where(c => c.GetProperty("delta").TryGetProperty("content", out _)).Select(c => c.GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal(firstText[..firstText.IndexOf(stop, StringComparison.Ordinal)], stoppedText);
        Assert.Equal("stop", stoppedChoices[^1].GetProperty("finish_reason").GetString());
    }

    /// <summary>Logprob entries as OpenAI defines them: one per token, spelling the text, each at most 0, with its UTF-8
    /// bytes, and <paramref name="top"/> alternatives in descending order.</summary>
    private static void AssertLogprobs(string text, JsonElement entries, int top)
    {
        Assert.Equal(text, string.Concat(entries.EnumerateArray().Select(e => e.GetProperty("token").GetString())));
        foreach (var entry in entries.EnumerateArray())
        {
            Assert.True(entry.GetProperty("logprob").GetDouble() <= 0, entry.ToString());
            Assert.Equal(System.Text.Encoding.UTF8.GetBytes(entry.GetProperty("token").GetString()!), entry.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
            var alternatives = entry.GetProperty("top_logprobs").EnumerateArray().Select(t => t.GetProperty("logprob").GetDouble()).ToList();
            Assert.Equal(top, alternatives.Count);
            Assert.True(alternatives.SequenceEqual(alternatives.OrderDescending()), $"top_logprobs not descending: {entry}");
            Assert.All(alternatives, a => Assert.True(a <= 0));
        }
    }

    private static Task<TestApp> StartSampleAsync() =>
        TestApp.StartAsync(ChatServerApp.Create(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]));

    /// <summary>The node_modules folder holding the <c>openai</c> package, or null.</summary>
    private static string? OpenAiNodeModules() =>
        new[] { Environment.GetEnvironmentVariable("OPENAI_NODE_MODULES"), "/tmp/openai-node/node_modules" }
            .FirstOrDefault(d => !string.IsNullOrEmpty(d) && Directory.Exists(Path.Combine(d, "openai")));

    private static ClientProcess StartNode(TestApp app, params string[] arguments)
    {
        string? node = Executables.Find("node", "/usr/bin/node", "/usr/local/bin/node");
        if (node is null)
        {
            Assert.Skip("node is not installed: apt-get install nodejs npm (.ci/run does).");
        }

        string? modules = OpenAiNodeModules();
        if (modules is null)
        {
            Assert.Skip("the openai package for Node is missing: npm install openai@7 in a temp folder and set OPENAI_NODE_MODULES to its node_modules (.ci/run does).");
        }

        string script = Path.Combine(AppContext.BaseDirectory, "node", "openai-client.cjs");
        return ClientProcess.Start(
            node,
            [script, new Uri(app.BaseAddress, "v1").ToString(), .. arguments],
            new Dictionary<string, string> { ["NODE_PATH"] = modules });
    }
}
