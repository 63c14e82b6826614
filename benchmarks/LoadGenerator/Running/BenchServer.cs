using System.Text.Json;

namespace OpenAiStreaming.LoadGenerator.Running;

/// <summary>
/// The control endpoints of a benchmark peer (benchmarks/Peers): <c>POST /bench/reset</c> and <c>GET /bench/stats</c>
/// at the server's origin. Real servers have neither; every call then answers false or null.
/// </summary>
internal sealed class BenchServer
{
    private readonly HttpClient _client;
    private readonly Uri _origin;

    /// <summary>Creates the client of one server's control endpoints.</summary>
    /// <param name="client">The run's client.</param>
    /// <param name="origin">Scheme, host and port, ending in a slash.</param>
    public BenchServer(HttpClient client, Uri origin)
    {
        _client = client;
        _origin = origin;
    }

    /// <summary>Clears the server's counters and cancellation list.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the server has the endpoint and did it.</returns>
    public async Task<bool> ResetAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.PostAsync(new Uri(_origin, "bench/reset"), content: null, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>Reads the server's statistics.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The statistics, or null when the server has no such endpoint or answers with something else than a
    /// JSON object.</returns>
    public async Task<BenchStats?> GetStatsAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.GetAsync(new Uri(_origin, "bench/stats"), cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            string json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return BenchStats.Parse(json);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Polls the statistics until the server reports no active generation or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The last statistics read, or null when the server has none.</returns>
    public async Task<BenchStats?> SettleAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        long start = time.GetTimestamp();
        while (true)
        {
            var stats = await GetStatsAsync(cancellationToken).ConfigureAwait(false);
            if (stats is null || stats.Active is null or 0 || time.GetElapsedTime(start) >= timeout)
            {
                return stats;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>What a peer's <c>GET /bench/stats</c> answered (see bench-protocol.md).</summary>
/// <param name="Json">The answer as it came, a JSON object.</param>
/// <param name="Active">Its <c>active</c> count, when present.</param>
/// <param name="Cancellations">Its <c>cancellations</c>: X-Bench-Id to the monotonic ns at which the generation stopped.</param>
/// <param name="CpuMs">Its <c>cpu_ms</c> (the process's CPU time so far), when present.</param>
/// <param name="WorkItems">Its <c>thread_pool_work_items</c> so far, when present.</param>
/// <param name="JitMs">Its <c>jit_ms</c> (time in the JIT so far), when present.</param>
public sealed record BenchStats(string Json, int? Active, IReadOnlyDictionary<string, long> Cancellations, double? CpuMs = null, double? WorkItems = null, double? JitMs = null)
{
    /// <summary>Parses a <c>/bench/stats</c> answer.</summary>
    /// <param name="json">The body.</param>
    /// <returns>The statistics, or null when the body is not a JSON object.</returns>
    public static BenchStats? Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            int? active = root.TryGetProperty("active", out var a) && a.TryGetInt32(out int n) ? n : null;
            var cancellations = new Dictionary<string, long>(StringComparer.Ordinal);
            if (root.TryGetProperty("cancellations", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object
                        && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                        && item.TryGetProperty("stopped_ns", out var stopped) && stopped.TryGetInt64(out long ns))
                    {
                        cancellations[id.GetString()!] = ns;
                    }
                }
            }

            return new BenchStats(json, active, cancellations, Number(root, "cpu_ms"), Number(root, "thread_pool_work_items"), Number(root, "jit_ms"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}

/// <summary>What the server spent during the measured run alone (warm-up excluded): the difference of two
/// <c>/bench/stats</c> answers, one taken as the run started and one after it settled.</summary>
/// <param name="CpuS">CPU seconds, or null when the peer does not report them.</param>
/// <param name="WorkItems">Thread-pool work items, or null.</param>
/// <param name="JitS">Seconds in the JIT, or null.</param>
public sealed record ServerWindow(double? CpuS, double? WorkItems, double? JitS)
{
    /// <summary>The window between two answers, or null when either is missing.</summary>
    /// <param name="start">The answer as the run started.</param>
    /// <param name="end">The answer after it.</param>
    /// <returns>The window.</returns>
    public static ServerWindow? Between(BenchStats? start, BenchStats? end) => start is null || end is null ? null : new(
        end.CpuMs - start.CpuMs is { } cpu ? cpu / 1000 : null,
        end.WorkItems - start.WorkItems,
        end.JitMs - start.JitMs is { } jit ? jit / 1000 : null);
}
