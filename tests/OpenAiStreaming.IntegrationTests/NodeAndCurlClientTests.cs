using System.Text.Json;
using ChatServer;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// Official and everyday clients other than the .NET SDK (see <see cref="OpenAiSdkTests"/>): the <c>openai</c> package
/// on Node, driven by node/openai-client.cjs, and <c>curl -N</c>. Node tests need <c>node</c> and the package: CI runs
/// <c>npm install openai@6</c> into a temp folder and exports OPENAI_NODE_MODULES (its node_modules); locally
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
            Assert.Skip("the openai package for Node is missing: npm install openai@6 in a temp folder and set OPENAI_NODE_MODULES to its node_modules (.ci/run does).");
        }

        string script = Path.Combine(AppContext.BaseDirectory, "node", "openai-client.cjs");
        return ClientProcess.Start(
            node,
            [script, new Uri(app.BaseAddress, "v1").ToString(), .. arguments],
            new Dictionary<string, string> { ["NODE_PATH"] = modules });
    }
}
