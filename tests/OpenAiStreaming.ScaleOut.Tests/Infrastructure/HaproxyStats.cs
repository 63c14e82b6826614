using System.Diagnostics;

namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>HAProxy's view of its servers, read from the stats page of <c>samples/deploy/haproxy-replicas.cfg</c>.</summary>
public sealed class HaproxyStats(int port) : IDisposable
{
    private readonly HttpClient _client = new() { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Each server's status (UP, DOWN, ...) in the backend <c>replicas</c>, by server name.</summary>
    public async Task<Dictionary<string, string>> ServersAsync()
    {
        string csv = await _client.GetStringAsync("stats;csv", TestContext.Current.CancellationToken);
        var rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')).ToList();
        var header = rows[0];
        int status = Array.IndexOf(header, "status");
        return rows.Skip(1)
            .Where(r => r[0] == "replicas" && r[1] is not ("FRONTEND" or "BACKEND"))
            .ToDictionary(r => r[1], r => r[status]);
    }

    /// <summary>Waits (bounded) until HAProxy's checks show each named server in <paramref name="status"/>.</summary>
    public async Task WaitForAsync(string status, TimeSpan timeout, params string[] servers)
    {
        var elapsed = Stopwatch.StartNew();
        Dictionary<string, string> seen;
        while (true)
        {
            seen = await ServersAsync();
            if (servers.All(s => seen.GetValueOrDefault(s, "").StartsWith(status, StringComparison.Ordinal)))
            {
                return;
            }

            Assert.True(elapsed.Elapsed < timeout, $"HAProxy did not see {string.Join(", ", servers)} {status} within {timeout}: {string.Join(", ", seen)}");

            // HAProxy checks every second and reports only when asked: polling its stats is how to see a check's result.
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    public void Dispose() => _client.Dispose();
}
