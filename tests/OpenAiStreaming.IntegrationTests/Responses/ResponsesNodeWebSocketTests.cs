using System.Text.Json;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>
/// WebSocket mode on <c>/v1/responses</c> from Node: the <c>openai</c> package's <c>ResponsesWS</c> (which runs on the
/// <c>ws</c> package) in node/openai-responses-ws.cjs. Both packages are found through <c>OPENAI_NODE_MODULES</c>.
/// </summary>
public sealed class ResponsesNodeWebSocketTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task NodeResponsesWs_TwoResponsesBadMessageAndPingPong_SameEventsAsSseAndSocketStaysUsable()
    {
        string[] words = ["Hi", " there", " friend"];
        var backend = new ScriptedChatClient(words, TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend, o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(200));

        var done = await RunNodeAsync(app);

        var first = done.GetProperty("first");
        var second = done.GetProperty("second");
        foreach (var response in new[] { first, second, done.GetProperty("after") })
        {
            var sequence = response.GetProperty("sequence").EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
            var types = response.GetProperty("types").EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Equal("response.created", types[0]);
            Assert.Equal("response.completed", types[^1]);
            Assert.Equal(string.Concat(words), response.GetProperty("text").GetString());
            Assert.Equal("completed", response.GetProperty("status").GetString());
        }

        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("previous").GetString());
        Assert.NotEqual(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(["first", "Hi there friend", "second", "Hi there friend", "after"], backend.LastMessages!.Select(m => m.Text));
        Assert.Equal("error", done.GetProperty("bad").GetProperty("type").GetString());
        Assert.Contains(done.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains("JSON", StringComparison.Ordinal));
        Assert.True(done.GetProperty("pong").GetBoolean());
        // The server's keep-alive reached the idle socket (.NET sends unsolicited pongs every HeartbeatInterval).
        Assert.Contains(done.GetProperty("serverKeepAlive").GetString(), new[] { "ping", "pong" });

        // The same events, in the same order, as the SSE stream of the same request gives.
        var (_, sse, failure) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create("""{"model":"test-model","input":"first","stream":true}"""));
        Assert.Null(failure);
        Assert.Equal(sse.Select(e => e.Type), first.GetProperty("types").EnumerateArray().Select(e => e.GetString()));
    }

    private static async Task<JsonElement> RunNodeAsync(TestApp app)
    {
        string? node = Executables.Find("node", "/usr/bin/node", "/usr/local/bin/node");
        if (node is null)
        {
            Assert.Skip("node is not installed: apt-get install nodejs npm (.ci/run does).");
        }

        string? modules = new[] { Environment.GetEnvironmentVariable("OPENAI_NODE_MODULES"), "/tmp/openai-node/node_modules" }
            .FirstOrDefault(d => d is not null && Directory.Exists(Path.Combine(d, "openai")) && Directory.Exists(Path.Combine(d, "ws")));
        if (modules is null)
        {
            Assert.Skip("the openai and ws packages for Node are missing: npm install openai@7 ws in a temp folder and set OPENAI_NODE_MODULES to its node_modules (.ci/run does).");
        }

        string script = Path.Combine(AppContext.BaseDirectory, "node", "openai-responses-ws.cjs");
        await using var process = ClientProcess.Start(node, [script, new Uri(app.BaseAddress, "v1").ToString()],
            new Dictionary<string, string> { ["NODE_PATH"] = modules });
        var lines = await process.ReadAllLinesAsync(s_timeout);
        Assert.Equal(0, await process.WaitForExitAsync(s_timeout));
        Assert.True(lines.Count > 0, $"node printed nothing: {process.Stderr}");
        var last = JsonDocument.Parse(lines[^1].Text).RootElement.Clone();
        Assert.True(last.GetProperty("event").GetString() != "error", $"node failed: {lines[^1].Text}\n{process.Stderr}");
        return last;
    }
}
