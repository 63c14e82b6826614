using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>Graceful shutdown: open streams get the drain time, then end visibly; waiting requests get 503.</summary>
[Collection(TimingSensitive.Name)]
public sealed partial class ShutdownTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StopApplication_QueuedRequestGets503AndOpenStreamEndsWithShutdownError()
    {
        var backend = new ScriptedChatClient(ScriptedChatClient.Words(10_000), TimeSpan.FromMilliseconds(20));
        await using var app = await TestApp.StartAsync(backend, o =>
        {
            o.MaxConcurrentStreams = 1;
            o.MaxQueuedStreams = 1;
            o.ShutdownDrainTimeout = TimeSpan.FromMilliseconds(300);
        });
        var open = Sse.ReadUntilFailureAsync(app.Client, Sse.ChatRequest(Sse.ChatBody()));
        await backend.Started.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var queued = app.Client.PostAsync("v1/chat/completions", new StringContent(Sse.ChatBody(stream: false), Encoding.UTF8, "application/json"), Ct);

        app.App.Lifetime.StopApplication();

        using var refused = await queued.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("server_shutting_down", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var (events, failure) = await open.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.IsAssignableFrom<IOException>(failure);
        Assert.Contains("\"code\":\"server_shutting_down\"", events[^1], StringComparison.Ordinal);
        await backend.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(1, backend.StartedCount);
    }

    [Fact]
    public async Task Sigterm_With200OpenStreams_EachEndsCompleteOrWithShutdownErrorAndProcessExitsZero()
    {
        string serverDll = Path.Combine(AppContext.BaseDirectory, "ChatServer.dll");
        await using var server = await ServerProcess.StartAsync(
            "chatserver",
            (_, port) => new ProcessStartInfo("dotnet",
            [
                serverDll, $"--urls=http://127.0.0.1:{port}", "--OpenAiStreaming:ShutdownDrainTimeout=00:00:05",
                "--TinyModel:TokenDelay=00:00:00.020", "--Logging:LogLevel:Default=Warning",
            ])
            {
                WorkingDirectory = AppContext.BaseDirectory,
            },
            startTimeout: TimeSpan.FromSeconds(30));
        using var client = TestApp.CreateClient(server.BaseAddress);

        // Half the streams can finish well inside the 5 s drain (30 tokens, 0.6 s); half cannot (5,000 tokens, 100 s).
        var firstTokens = new CountdownEvent(200);
        var streams = Enumerable.Range(0, 200)
            .Select(i => ReadStreamAsync(client, maxTokens: i % 2 == 0 ? 30 : 5000, firstTokens))
            .ToList();
        Assert.True(await Task.Run(() => firstTokens.Wait(TimeSpan.FromSeconds(30), Ct), Ct), "not every stream got its first token");

        Assert.Equal(0, Posix.Kill(server.Id, Posix.SigTerm));

        int exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var outcomes = await Task.WhenAll(streams).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {server.Output}");
        Assert.All(outcomes, o => Assert.True(o is StreamOutcome.Complete or StreamOutcome.ShutdownError, o.ToString()));
        Assert.All(outcomes.Where((_, i) => i % 2 == 0), o => Assert.Equal(StreamOutcome.Complete, o));
        Assert.All(outcomes.Where((_, i) => i % 2 == 1), o => Assert.Equal(StreamOutcome.ShutdownError, o));
    }

    private enum StreamOutcome
    {
        Complete,
        ShutdownError,
        Other,
    }

    private static async Task<StreamOutcome> ReadStreamAsync(HttpClient client, int maxTokens, CountdownEvent firstTokens)
    {
        string body = Sse.ChatBody(model: "tiny-char-lm", extra: $",\"max_tokens\":{maxTokens}");
        using var response = await client.SendAsync(Sse.ChatRequest(body), HttpCompletionOption.ResponseHeadersRead, Ct);
        await using var stream = await response.Content.ReadAsStreamAsync(Ct);
        string? last = null;
        bool counted = false;
        try
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(Ct))
            {
                last = item.Data;
                if (!counted && last.Contains("\"content\":\"", StringComparison.Ordinal) && !last.Contains("\"role\"", StringComparison.Ordinal))
                {
                    counted = true;
                    firstTokens.Signal();
                }
            }
        }
        catch (IOException) when (last?.Contains("\"code\":\"server_shutting_down\"", StringComparison.Ordinal) == true)
        {
            return StreamOutcome.ShutdownError;
        }

        return last == "[DONE]" ? StreamOutcome.Complete : StreamOutcome.Other;
    }

    /// <summary>SIGTERM, as a container runtime or systemd sends it (Process.Kill sends SIGKILL).</summary>
    private static partial class Posix
    {
        public const int SigTerm = 15;

        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
        public static partial int Kill(int pid, int signal);
    }
}
