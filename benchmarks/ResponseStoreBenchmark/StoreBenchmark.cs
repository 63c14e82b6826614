using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace OpenAiStreaming.ResponseStoreBenchmark;

/// <summary>
/// The in-memory store and the Redis store, in interleaved rounds on the same machine: background responses generated
/// at a steady pace and read through <c>/v1/responses/{id}?stream=true</c> by a reader from the start and a reader
/// that resumes mid-generation (live phase), then finished responses replayed as fast as readers take them (replay
/// phase). Prints a Markdown table.
/// </summary>
internal static class StoreBenchmark
{
    /// <summary>Commands that the store only runs inside its Lua scripts (so they cost no round trip of their own).</summary>
    private static readonly HashSet<string> s_insideScripts = ["xadd", "publish", "pexpire", "hset", "get", "set", "sadd", "srem", "del", "xrevrange"];

    public static async Task<int> RunAsync(BenchmarkSettings settings)
    {
        RedisProcess? started = null;
        string redis;
        if (settings.Redis is { } given)
        {
            redis = given;
        }
        else
        {
            started = await RedisProcess.StartAsync().ConfigureAwait(false);
            redis = started.Configuration;
        }

        try
        {
            var admin = await ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true").ConfigureAwait(false);
            await using (admin.ConfigureAwait(false))
            {
                var results = new List<RunResult>();
                var total = Stopwatch.StartNew();
                for (int round = 1; round <= settings.Rounds; round++)
                {
                    string[] order = round % 2 == 1 ? ["memory", "redis"] : ["redis", "memory"];
                    foreach (string store in order)
                    {
                        await Console.Error.WriteLineAsync($"response-store bench: round {round}, {store}").ConfigureAwait(false);
                        results.Add(await RunOnceAsync(settings, store, round, store == "redis" ? redis : null, admin).ConfigureAwait(false));
                    }
                }

                Console.WriteLine(Table(settings, results, total.Elapsed));
                return results.All(r => r.Failed == 0) ? 0 : 1;
            }
        }
        finally
        {
            if (started is not null)
            {
                await started.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<RunResult> RunOnceAsync(BenchmarkSettings settings, string store, int round, string? redis, ConnectionMultiplexer admin)
    {
        var interval = TimeSpan.FromMilliseconds(settings.IntervalMs);
        string prefix = $"bench{round}{store}{Guid.NewGuid():N}:";
        var server = await StoreServer.StartAsync(interval, redis, prefix).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
            {
                BaseAddress = server.Address,
                Timeout = TimeSpan.FromMinutes(2),
            };

            // Warm-up (JIT, connections, the store's scripts): not measured.
            var warm = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => CreateAsync(client, 8))).ConfigureAwait(false);
            await Task.WhenAll(warm.Select(id => ResponseStreamReader.ReadAsync(client, id, -1, keepGaps: false))).ConfigureAwait(false);

            var server0 = redis is null ? null : admin.GetServer(admin.GetEndPoints()[0]);
            if (server0 is not null)
            {
                await server0.ConfigResetStatisticsAsync().ConfigureAwait(false);
            }

            // Live phase: every response read from its start, and again by a reader that resumes halfway through it.
            var ids = await Task.WhenAll(Enumerable.Range(0, settings.Responses).Select(_ => CreateAsync(client, settings.Tokens))).ConfigureAwait(false);
            var live = ids.Select(id => ResponseStreamReader.ReadAsync(client, id, -1, keepGaps: true)).ToList();
            await Task.Delay(interval * (settings.Tokens / 2)).ConfigureAwait(false);
            var resumed = ids.Select(id => ResponseStreamReader.ReadAsync(client, id, 10, keepGaps: true)).ToList();
            var liveReads = await Task.WhenAll(live).ConfigureAwait(false);
            var resumedReads = await Task.WhenAll(resumed).ConfigureAwait(false);
            long generated = liveReads.Sum(r => (long)r.Deltas);
            Dictionary<string, long> commands = server0 is null ? [] : await CommandCallsAsync(server0).ConfigureAwait(false);

            // Replay phase: finished responses read whole, as fast as the readers take them.
            int next = 0;
            long replayedEvents = 0;
            int failed = liveReads.Concat(resumedReads).Count(r => !r.Complete);
            var replay = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, settings.ReplayReaders).Select(async _ =>
            {
                while (Interlocked.Increment(ref next) is int n && n <= settings.Replays)
                {
                    var read = await ResponseStreamReader.ReadAsync(client, ids[n % ids.Length], -1, keepGaps: false).ConfigureAwait(false);
                    Interlocked.Add(ref replayedEvents, read.Events);
                    if (!read.Complete)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            })).ConfigureAwait(false);
            var replayTime = replay.Elapsed;

            return new RunResult(
                store, round,
                Percentile(liveReads.SelectMany(r => r.GapsMs), 0.50), Percentile(liveReads.SelectMany(r => r.GapsMs), 0.99),
                Percentile(resumedReads.SelectMany(r => r.GapsMs), 0.50), Percentile(resumedReads.SelectMany(r => r.GapsMs), 0.99),
                replayedEvents / replayTime.TotalSeconds, generated, commands, failed);
        }
    }

    private static async Task<string> CreateAsync(HttpClient client, int tokens)
    {
        string body = $$"""{"model":"{{StoreServer.Model}}","input":"Tell me about streams.","max_output_tokens":{{tokens}},"background":true}""";
        using var created = await client.PostAsync("v1/responses", new StringContent(body, Encoding.UTF8, "application/json")).ConfigureAwait(false);
        string json = await created.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!created.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /v1/responses: {(int)created.StatusCode} {json}");
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<Dictionary<string, long>> CommandCallsAsync(IServer server)
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var pair in (await server.InfoAsync("commandstats").ConfigureAwait(false)).SelectMany(g => g))
        {
            string name = pair.Key.Replace("cmdstat_", "", StringComparison.Ordinal);
            string count = pair.Value.Split(',')[0]["calls=".Length..];
            calls[name] = long.Parse(count, CultureInfo.InvariantCulture);
        }

        return calls;
    }

    private static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    private static string Table(BenchmarkSettings s, List<RunResult> results, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"{s.Responses} background responses of {s.Tokens} tokens at one token per {s.IntervalMs} ms, each read live from its start and by a reader that resumes "
            + $"(`starting_after=10`) halfway through; then {s.Replays} replays of the finished responses by {s.ReplayReaders} concurrent readers. "
            + $"{s.Rounds} interleaved round(s), {elapsed.TotalSeconds:F0} s in all.");
        md.AppendLine();
        md.AppendLine("| store | round | live reader gap p50 / p99 | resumed reader gap p50 / p99 | replay events/s | Redis round trips per generated token (writes + reads) | commands Redis ran per token | streams not complete |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            string trips = "", ran = "";
            if (r.Commands.Count > 0 && r.Generated > 0)
            {
                long scripts = r.Commands.GetValueOrDefault("evalsha") + r.Commands.GetValueOrDefault("eval");
                long reads = r.Commands.Where(p => !s_insideScripts.Contains(p.Key) && p.Key is not ("evalsha" or "eval" or "config|resetstat" or "info")).Sum(p => p.Value);
                long all = r.Commands.Where(p => p.Key is not ("config|resetstat" or "info")).Sum(p => p.Value);
                trips = FormattableString.Invariant($"{(double)(scripts + reads) / r.Generated:F2} ({(double)scripts / r.Generated:F2} + {(double)reads / r.Generated:F2})");
                ran = FormattableString.Invariant($"{(double)all / r.Generated:F1}");
            }

            md.AppendLine(c, $"| {r.Store} | {r.Round} | {r.LiveP50:F1} / {r.LiveP99:F1} ms | {r.ResumedP50:F1} / {r.ResumedP99:F1} ms | {r.ReplayEventsPerSecond:N0} | {trips} | {ran} | {r.Failed} |");
        }

        double Mean(string store, Func<RunResult, double> f) => results.Where(r => r.Store == store).Average(f);
        md.AppendLine();
        md.AppendLine(c, $"Redis against memory (mean of rounds): replay events/s {Mean("redis", r => r.ReplayEventsPerSecond) / Mean("memory", r => r.ReplayEventsPerSecond):F2}×, "
            + $"resumed reader p99 gap {Mean("redis", r => r.ResumedP99) / Mean("memory", r => r.ResumedP99):F2}×, live reader p99 gap {Mean("redis", r => r.LiveP99) / Mean("memory", r => r.LiveP99):F2}×.");
        var last = results.LastOrDefault(r => r.Commands.Count > 0);
        if (last is not null)
        {
            md.AppendLine();
            string list = string.Join(", ", last.Commands.Where(p => p.Key is not ("config|resetstat" or "info")).OrderByDescending(p => p.Value)
                .Select(p => FormattableString.Invariant($"{p.Key} {p.Value}")));
            md.AppendLine(c, $"Commands Redis ran in the last Redis live phase ({last.Generated} generated tokens): {list}.");
        }

        return md.ToString();
    }

    private sealed record RunResult(
        string Store, int Round, double LiveP50, double LiveP99, double ResumedP50, double ResumedP99, double ReplayEventsPerSecond, long Generated,
        Dictionary<string, long> Commands, int Failed);
}
