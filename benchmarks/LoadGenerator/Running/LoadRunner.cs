using System.Net;
using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Reporting;
using OpenAiStreaming.LoadGenerator.Statistics;

namespace OpenAiStreaming.LoadGenerator.Running;

/// <summary>
/// Runs one benchmark: finds the model, resets a peer's counters, warms up, runs the measured requests with
/// <see cref="LoadOptions.Concurrency"/> workers, waits for the server to settle, and merges what the workers measured.
/// </summary>
public sealed class LoadRunner : IDisposable
{
    private readonly LoadOptions _options;
    private readonly TimeProvider _time;
    private readonly TextWriter _log;
    private readonly HttpClient _client;

    /// <summary>The measured run's workers, once it has started.</summary>
    private volatile Worker[] _workers = [];

    /// <summary>Requests handed out so far (the X-Bench-Id sequence), warm-up included.</summary>
    private long _sequence;

    /// <summary>Timestamp at which the measured run started; 0 before.</summary>
    private long _measureStart;

    /// <summary>Creates a runner.</summary>
    /// <param name="options">The run's settings; they must be valid (<see cref="LoadOptions.Validate"/>).</param>
    /// <param name="log">Where one-line notes go (model found, peer found); null: nowhere.</param>
    /// <param name="time">The clock; null: the system's.</param>
    public LoadRunner(LoadOptions options, TextWriter? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(options));
        }

        _options = options;
        _time = time ?? TimeProvider.System;
        _log = log ?? TextWriter.Null;
        _client = new HttpClient(CreateHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        RunId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()).AsSpan(0, 4));
    }

    /// <summary>Prefix of this run's X-Bench-Id values: <c>{RunId}-{n}</c>.</summary>
    public string RunId { get; }

    /// <summary>The handler the runner's client uses: one connection per stream (HTTP/1.1), no proxy, no limit on
    /// connections, no cookies or decompression, and an abandoned response closes its connection at once.</summary>
    /// <returns>A new handler.</returns>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        MaxConnectionsPerServer = int.MaxValue,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(60),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        MaxResponseDrainSize = 0,
    };

    /// <summary>What the measured run has done so far, for a progress display; zero before it starts.</summary>
    /// <returns>A snapshot (read without synchronization: good enough for display).</returns>
    public RunProgress Progress()
    {
        var workers = _workers;
        int sent = 0, ok = 0, errors = 0;
        long events = 0;
        foreach (var w in workers)
        {
            sent += w.Sent;
            ok += w.Ok;
            errors += w.Errors;
            events += w.Events;
        }

        long start = _measureStart;
        return new RunProgress(sent, ok, errors, events, start == 0 ? TimeSpan.Zero : _time.GetElapsedTime(start));
    }

    /// <summary>Runs the benchmark.</summary>
    /// <param name="stop">Stops the run early: no new requests; those in flight are abandoned and not measured.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidOperationException">No model was given and the server lists none.</exception>
    public async Task<LoadResult> RunAsync(CancellationToken stop)
    {
        string model = _options.Model ?? await DiscoverModelAsync(stop).ConfigureAwait(false);
        var root = _options.Root;
        var sender = new RequestSender(
            _client,
            new Uri(root, "v1/chat/completions"),
            _options.BuildRequestBody(model),
            _options.ApiKey,
            RunId,
            _time,
            _options.RequestTimeout,
            _options.AbortAfterEvents ?? 0);
        var bench = new BenchServer(_client, _options.Origin);

        if (_options.Warmup > 0)
        {
            var warm = new Worker[Math.Min(_options.Concurrency, _options.Warmup)];
            int remaining = _options.Warmup;
            await Task.WhenAll(warm.Select((_, i) => WarmupWorkerAsync(warm[i] = new Worker()))).ConfigureAwait(false);
            int failed = warm.Sum(w => w.Errors);
            double jitMs = await SettleJitAsync(stop).ConfigureAwait(false);
            _log.WriteLine($"warm-up: {_options.Warmup} requests, {failed} failed; then {jitMs:0} ms of the client's own JIT");

            async Task WarmupWorkerAsync(Worker worker)
            {
                while (!stop.IsCancellationRequested && Interlocked.Decrement(ref remaining) >= 0)
                {
                    await sender.SendAsync(worker, Interlocked.Increment(ref _sequence), stop).ConfigureAwait(false);
                }
            }
        }

        bool peer = await bench.ResetAsync(stop).ConfigureAwait(false);
        BenchStats? before = null;
        if (peer)
        {
            _log.WriteLine($"{_options.Origin}bench/stats found: server statistics will be included");
            before = await bench.GetStatsAsync(stop).ConfigureAwait(false);
        }

        var workers = new Worker[_options.Concurrency];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Worker();
        }

        long start = _time.GetTimestamp();
        _measureStart = start;
        _workers = workers;
        int? limit = _options.RequestLimit;
        long issued = 0;
        long deadline = _options.Duration is { } duration ? start + (long)(duration.TotalSeconds * _time.TimestampFrequency) : long.MaxValue;
        await Task.WhenAll(workers.Select((w, i) => RunWorkerAsync(w, i))).ConfigureAwait(false);
        long end = _time.GetTimestamp();

        BenchStats? stats = null;
        if (peer)
        {
            using var settle = CancellationTokenSource.CreateLinkedTokenSource(stop);
            settle.CancelAfter(_options.SettleTimeout + TimeSpan.FromSeconds(10));
            try
            {
                stats = await bench.SettleAsync(_options.SettleTimeout, _time, settle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                stats = null;
            }
        }

        return Merge(workers, model, sender.Ms(start, end), stats, ServerWindow.Between(before, stats));

        async Task RunWorkerAsync(Worker worker, int index)
        {
            if (_options.RampUp > TimeSpan.Zero && index > 0)
            {
                try
                {
                    await Task.Delay(_options.RampUp * index / _options.Concurrency, _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            while (!stop.IsCancellationRequested && _time.GetTimestamp() < deadline)
            {
                if (limit is { } n && Interlocked.Increment(ref issued) > n)
                {
                    return;
                }

                await sender.SendAsync(worker, Interlocked.Increment(ref _sequence), stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until the JIT has stopped compiling this process's methods (up to 10 s): after a warm-up, the
    /// tier-1 compilations it queued run in the background for a while, and on a client pinned to one core they would
    /// take that core from the measured requests (at saturation, a fifth of the client's samples were in the JIT).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>Milliseconds the JIT spent while waiting.</returns>
    private async Task<double> SettleJitAsync(CancellationToken cancellationToken)
    {
        var first = System.Runtime.JitInfo.GetCompilationTime();
        var last = first;
        for (int i = 0; i < 100 && !cancellationToken.IsCancellationRequested; i++)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var now = System.Runtime.JitInfo.GetCompilationTime();
            if (now == last)
            {
                break;
            }

            last = now;
        }

        return (last - first).TotalMilliseconds;
    }

    private LoadResult Merge(Worker[] workers, string model, double durationMs, BenchStats? stats, ServerWindow? window)
    {
        var itl = new double[workers.Sum(w => w.GapsMs.Count)];
        var histogram = new LogHistogram();
        int n = 0;
        foreach (var w in workers)
        {
            foreach (float gap in w.GapsMs)
            {
                histogram.Add(gap);
                itl[n++] = gap;
            }
        }

        Summary? cancel = null;
        int? unmatched = null;
        if (_options.AbortAfterEvents is not null && stats is not null)
        {
            var latencies = new List<double>();
            unmatched = 0;
            foreach (var (id, abortNs) in workers.SelectMany(w => w.Aborts))
            {
                if (stats.Cancellations.TryGetValue(id, out long stoppedNs))
                {
                    latencies.Add((stoppedNs - abortNs) / 1e6);
                }
                else
                {
                    unmatched++;
                }
            }

            cancel = Summary.Of(latencies.ToArray());
        }

        var errorSamples = new List<string>();
        foreach (string message in workers.SelectMany(w => w.ErrorSamples))
        {
            if (errorSamples.Count < 10 && !errorSamples.Contains(message))
            {
                errorSamples.Add(message);
            }
        }

        return new LoadResult
        {
            Label = _options.Label ?? $"{_options.Root.Authority} c{_options.Concurrency}",
            BaseUrl = _options.BaseUrl.ToString(),
            Model = model,
            Concurrency = _options.Concurrency,
            MaxTokens = _options.MaxTokens,
            AbortAfterEvents = _options.AbortAfterEvents,
            RequestsSent = workers.Sum(w => w.Sent - w.Interrupted),
            RequestsOk = workers.Sum(w => w.Ok),
            RequestsAborted = workers.Sum(w => w.Aborted),
            Errors = workers.Sum(w => w.Errors),
            ErrorSamples = errorSamples,
            Interrupted = workers.Sum(w => w.Interrupted),
            DurationS = durationMs / 1000,
            Events = workers.Sum(w => w.Events),
            Tokens = workers.Sum(w => w.Tokens),
            TtftMs = Summary.Of(workers.SelectMany(w => w.TtftMs).ToArray()),
            ItlMs = Summary.Of(itl),
            TpotMs = Summary.Of(workers.SelectMany(w => w.TpotMs).ToArray()),
            E2eMs = Summary.Of(workers.SelectMany(w => w.E2eMs).ToArray()),
            CancelMs = cancel,
            CancelUnmatched = unmatched,
            ServerJson = stats?.Json,
            Server = window,
            LeftRunning = stats?.Active,
            ItlHistogram = histogram.Buckets(),
        };
    }

    private async Task<string> DiscoverModelAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri(_options.Root, "v1/models");
        string detail;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (_options.ApiKey is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + _options.ApiKey);
            }

            using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
                    && data.GetArrayLength() > 0 && data[0].TryGetProperty("id", out var id) && id.GetString() is { Length: > 0 } model)
                {
                    _log.WriteLine($"model: {model} (the first of GET {uri})");
                    return model;
                }

                detail = "it lists no model";
            }
            else
            {
                detail = $"HTTP {(int)response.StatusCode}" + (RequestSender.OpenAiErrorMessage(body) is { } m ? ": " + m : string.Empty);
            }
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException)
        {
            detail = e.Message;
        }

        throw new InvalidOperationException($"could not find a model at GET {uri} ({detail}); pass --model");
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();
}

/// <summary>A running benchmark's counters, for progress displays.</summary>
/// <param name="Sent">Requests sent so far (finished or not).</param>
/// <param name="Ok">Requests completed or aborted on purpose.</param>
/// <param name="Errors">Requests failed.</param>
/// <param name="Events">Content events received.</param>
/// <param name="Elapsed">Time since the measured run started.</param>
public readonly record struct RunProgress(int Sent, int Ok, int Errors, long Events, TimeSpan Elapsed);
