using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Peers;

namespace OpenAiStreaming.Peers.Tests.Infrastructure;

/// <summary>
/// One running peer for one test: the .NET peers in this process (<see cref="PeerApp.Create"/> on a port Kestrel
/// picks), the FastAPI peer as a /usr/bin/python3 process on a free port, killed on dispose.
/// </summary>
public abstract class PeerServer : IAsyncDisposable
{
    /// <summary>Every peer; tests run once per implementation.</summary>
    public static TheoryData<string> Impls => ["builtin", "handwritten", "ours", "fastapi"];

    /// <summary>A client whose abandoned responses close their connection at once instead of being drained.</summary>
    public static HttpClient Client { get; } = new(new SocketsHttpHandler { MaxResponseDrainSize = 0, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    public required string Impl { get; init; }

    public required Uri BaseAddress { get; init; }

    /// <summary>Starts <paramref name="impl"/>; a test of the FastAPI peer is skipped where FastAPI is not installed.</summary>
    public static async Task<PeerServer> StartAsync(string impl, double intervalMs, params string[] args)
    {
        if (impl == "fastapi")
        {
            return await FastApiPeer.StartAsync(intervalMs);
        }

        var app = await TestApp.StartAsync(
            PeerApp.Create(["--impl", impl, "--interval-ms", intervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--urls", "http://127.0.0.1:0", .. args]));
        return new InProcessPeer(app) { Impl = impl, BaseAddress = app.BaseAddress };
    }

    public async Task<JsonElement> StatsAsync()
    {
        using var stats = await Client.GetAsync(new Uri(BaseAddress, "/bench/stats"), TestContext.Current.CancellationToken);
        stats.EnsureSuccessStatusCode();
        return await stats.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    /// <summary>Polls <c>/bench/stats</c> until <paramref name="condition"/> holds, up to 10 s; returns the last stats.</summary>
    public async Task<JsonElement> WaitForStatsAsync(Func<JsonElement, bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var stats = await StatsAsync();
            if (condition(stats) || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                return stats;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Sends the benchmark request and returns the response as soon as its headers arrive.</summary>
    public Task<HttpResponseMessage> PostStreamAsync(int? maxTokens, string? benchId = null, bool includeUsage = true)
    {
        var body = new Dictionary<string, object>
        {
            ["model"] = BenchRequest.Model,
            ["messages"] = new object[]
            {
                new { role = "system", content = BenchRequest.System },
                new { role = "user", content = BenchRequest.Prompt },
            },
            ["stream"] = true,
        };
        if (maxTokens is { } max)
        {
            body["max_tokens"] = max;
        }

        if (includeUsage)
        {
            body["stream_options"] = new { include_usage = true };
        }

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "/v1/chat/completions"))
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        if (benchId is not null)
        {
            request.Headers.Add("X-Bench-Id", benchId);
        }

        return Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
    }

    public abstract ValueTask DisposeAsync();

    private sealed class InProcessPeer(TestApp app) : PeerServer
    {
        public override ValueTask DisposeAsync() => app.DisposeAsync();
    }
}

/// <summary>The request every test sends: a system and a user message, so that usage counts both.</summary>
public static class BenchRequest
{
    public const string Model = "synthetic";

    /// <summary>14 characters.</summary>
    public const string System = "You are terse.";

    /// <summary>35 characters: with the system message 49, so 13 prompt tokens (a quarter, rounded up).</summary>
    public const string Prompt = "Tell me about the quick brown fox!!";

    public const int PromptTokens = 13;
}
