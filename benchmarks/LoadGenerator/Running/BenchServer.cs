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
public sealed record BenchStats(string Json, int? Active, IReadOnlyDictionary<string, long> Cancellations)
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

            return new BenchStats(json, active, cancellations);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
