using System.Diagnostics;
using System.Text.Json;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>
/// The <c>openai</c> package on Node (node/openai-responses.cjs) and <c>curl</c> with <c>Last-Event-ID</c> against
/// <c>/v1/responses</c>. The Node package is found as in <see cref="NodeAndCurlClientTests"/>.
/// </summary>
public sealed class ResponsesNodeAndCurlTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NodeOpenAi_ResponsesCreateStream_TextAndSequenceIntact()
    {
        var words = ScriptedChatClient.Words(25);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.FromMilliseconds(1)));

        var done = await RunNodeAsync(app, "stream");

        Assert.Equal(string.Concat(words), done.GetProperty("text").GetString());
        Assert.Equal("completed", done.GetProperty("status").GetString());
        var sequence = done.GetProperty("sequence").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal("response.created", done.GetProperty("types")[0].GetString());
    }

    [Fact]
    public async Task NodeOpenAi_BackgroundThenRetrieveStreamStartingAfter_EveryLaterEventOnce()
    {
        var words = ScriptedChatClient.Words(25);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.FromMilliseconds(1)));

        var done = await RunNodeAsync(app, "resume", "7");

        Assert.Equal("queued", done.GetProperty("createdStatus").GetString());
        var sequence = done.GetProperty("sequence").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(8, sequence.Count), sequence);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.EndsWith(string.Concat(words.Skip(5)), done.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeOpenAi_Cancel_StatusCancelledAndIdempotent()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(100_000), TimeSpan.FromMilliseconds(2));
        await using var app = await TestApp.StartAsync(backend);

        var done = await RunNodeAsync(app, "cancel");

        Assert.Equal("cancelled", done.GetProperty("status").GetString());
        Assert.Equal("cancelled", done.GetProperty("again").GetString());
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    [Fact]
    public async Task Curl_LastEventIdHeader_ResumesAfterThatEvent()
    {
        Curl.SkipIfMissing();
        var words = ScriptedChatClient.Words(10);
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(words, TimeSpan.Zero));
        string id = await BackgroundResponsesTests.CreateBackgroundAsync(app);
        await BackgroundResponsesTests.WaitForStatusAsync(app, id, "completed");

        var curl = Process.Start(new ProcessStartInfo(Curl.Binary!, ["-sN", "-H", "Last-Event-ID: 9", new Uri(app.BaseAddress, $"v1/responses/{id}").ToString()])
        {
            RedirectStandardOutput = true,
        })!;
        string output = await curl.StandardOutput.ReadToEndAsync(Ct);
        await curl.WaitForExitAsync(Ct).WaitAsync(s_timeout, Ct);

        Assert.Equal(0, curl.ExitCode);
        var ids = output.Split('\n').Where(l => l.StartsWith("id: ", StringComparison.Ordinal)).Select(l => int.Parse(l[4..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(10, ids.Count), ids);
        Assert.Contains("event: response.completed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\"sequence_number\":9,", output, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> RunNodeAsync(TestApp app, params string[] arguments)
    {
        string? node = Executables.Find("node", "/usr/bin/node", "/usr/local/bin/node");
        if (node is null)
        {
            Assert.Skip("node is not installed: apt-get install nodejs npm (.ci/run does).");
        }

        string? modules = new[] { Environment.GetEnvironmentVariable("OPENAI_NODE_MODULES"), "/tmp/openai-node/node_modules" }
            .FirstOrDefault(d => d is not null && Directory.Exists(Path.Combine(d, "openai")));
        if (modules is null)
        {
            Assert.Skip("the openai package for Node is missing: npm install openai in a temp folder and set OPENAI_NODE_MODULES to its node_modules (.ci/run does).");
        }

        string script = Path.Combine(AppContext.BaseDirectory, "node", "openai-responses.cjs");
        await using var process = ClientProcess.Start(node, [script, new Uri(app.BaseAddress, "v1").ToString(), .. arguments],
            new Dictionary<string, string> { ["NODE_PATH"] = modules });
        var lines = await process.ReadAllLinesAsync(s_timeout);
        Assert.Equal(0, await process.WaitForExitAsync(s_timeout));
        Assert.True(lines.Count > 0, $"node printed nothing: {process.Stderr}");
        var last = JsonDocument.Parse(lines[^1].Text).RootElement.Clone();
        Assert.True(last.GetProperty("event").GetString() != "error", $"node failed: {lines[^1].Text}\n{process.Stderr}");
        return last;
    }
}
