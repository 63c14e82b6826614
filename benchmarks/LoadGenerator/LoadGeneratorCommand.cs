using System.CommandLine;
using OpenAiStreaming.LoadGenerator.Reporting;
using OpenAiStreaming.LoadGenerator.Running;

namespace OpenAiStreaming.LoadGenerator;

/// <summary>The command line: options to <see cref="LoadOptions"/>, a run, the table on stdout, the JSON to a file.</summary>
public static class LoadGeneratorCommand
{
    /// <summary>Exit code of a run whose options are wrong or whose server cannot be used.</summary>
    public const int UsageError = 2;

    /// <summary>Builds the root command.</summary>
    /// <returns>The command.</returns>
    public static RootCommand Create()
    {
        var baseUrl = new Option<string>("--base-url") { Description = "The server, with or without /v1", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        baseUrl.Validators.Add(result =>
        {
            if (LoadOptions.ParseBaseUrl(result.GetValueOrDefault<string>()) is null)
            {
                result.AddError("--base-url must be an http or https address such as http://127.0.0.1:8000 or http://host:8000/v1");
            }
        });
        var model = new Option<string?>("--model") { Description = "Model id (default: the first of GET /v1/models)" };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key (default: $OPENAI_API_KEY)" };
        var concurrency = new Option<int>("--concurrency", "-c") { Description = "Requests in flight at once", DefaultValueFactory = _ => 1 };
        var requests = new Option<int?>("--requests", "-n") { Description = "Requests to send (default: the concurrency, or no limit with --duration)" };
        var duration = new Option<double?>("--duration", "-d") { Description = "Seconds to keep sending requests; those in flight then finish" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "max_tokens of each request", DefaultValueFactory = _ => 128 };
        var prompt = new Option<string>("--prompt") { Description = "The user message", DefaultValueFactory = _ => LoadOptions.DefaultPrompt };
        var label = new Option<string?>("--label") { Description = "The run's name in the report" };
        var json = new Option<FileInfo?>("--json") { Description = "Write the result as JSON to this file" };
        var rampUp = new Option<double>("--ramp-up") { Description = "Spread the workers' starts evenly over this many seconds", DefaultValueFactory = _ => 0 };
        var warmup = new Option<int>("--warmup") { Description = "Requests sent and discarded before measuring", DefaultValueFactory = _ => 0 };
        var abortAfter = new Option<int?>("--abort-after-events") { Description = "Disconnect storm: the client aborts each stream after this many content events" };
        var settle = new Option<double>("--settle-timeout") { Description = "Seconds to wait after the run for a peer's /bench/stats to show no active generation", DefaultValueFactory = _ => 10 };
        var noUsage = new Option<bool>("--no-usage") { Description = "Do not ask for a usage chunk (stream_options)" };
        var extraBody = new Option<string?>("--extra-body") { Description = "JSON object merged into the request body, e.g. '{\"ignore_eos\":true}'" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds one request may take", DefaultValueFactory = _ => 600 };
        var progress = new Option<bool?>("--progress") { Description = "Show progress on stderr (default: when stderr is a terminal, or a line every 5 s in logs)" };
        var noProgress = new Option<bool>("--no-progress") { Description = "Never show progress" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress, notes or table: only errors on stderr (and --json)" };

        var command = new RootCommand("Measures an OpenAI-compatible streaming server: time to first token, inter-token latency, "
            + "time per output token, throughput; with --abort-after-events, how fast a peer stops generating for a client that left.")
        {
            baseUrl, model, apiKey, concurrency, requests, duration, maxTokens, prompt, label, json, rampUp, warmup, abortAfter,
            settle, noUsage, extraBody, timeout, progress, noProgress, quiet,
            ReportCommands.CreateReport(), ReportCommands.CreateMedian(), ReportCommands.CreatePaired(),
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new LoadOptions
            {
                BaseUrl = LoadOptions.ParseBaseUrl(parse.GetValue(baseUrl))!,
                Model = parse.GetValue(model),
                ApiKey = parse.GetValue(apiKey) ?? NullIfEmpty(Environment.GetEnvironmentVariable("OPENAI_API_KEY")),
                Concurrency = parse.GetValue(concurrency),
                Requests = parse.GetValue(requests),
                Duration = parse.GetValue(duration) is { } d ? TimeSpan.FromSeconds(d) : null,
                MaxTokens = parse.GetValue(maxTokens),
                Prompt = parse.GetValue(prompt)!,
                Label = parse.GetValue(label),
                RampUp = TimeSpan.FromSeconds(parse.GetValue(rampUp)),
                Warmup = parse.GetValue(warmup),
                AbortAfterEvents = parse.GetValue(abortAfter),
                SettleTimeout = TimeSpan.FromSeconds(parse.GetValue(settle)),
                IncludeUsage = !parse.GetValue(noUsage),
                ExtraBody = parse.GetValue(extraBody),
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
            };
            bool isQuiet = parse.GetValue(quiet);
            bool? showProgress = parse.GetValue(noProgress) || isQuiet ? false : parse.GetValue(progress);
            return await RunAsync(options, parse.GetValue(json), showProgress, isQuiet, Console.Out, Console.Error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Runs a benchmark and reports it.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="json">Where to write the JSON result, or null.</param>
    /// <param name="progress">Show progress: true always, false never, null when stderr is a terminal (or as log lines
    /// otherwise).</param>
    /// <param name="quiet">Print no table and no notes.</param>
    /// <param name="output">Where the table goes (stdout).</param>
    /// <param name="error">Where progress, notes and errors go (stderr).</param>
    /// <param name="cancellationToken">Stops the run early (Ctrl+C); what was measured is still reported.</param>
    /// <returns>0 when every request succeeded, 1 when some failed, <see cref="UsageError"/> when the run could not start.</returns>
    public static async Task<int> RunAsync(LoadOptions options, FileInfo? json, bool? progress, bool quiet, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            foreach (string problem in problems)
            {
                await error.WriteLineAsync(problem).ConfigureAwait(false);
            }

            return UsageError;
        }

        using var runner = new LoadRunner(options, quiet ? null : error);
        using var stopProgress = new CancellationTokenSource();
        Task display = Task.CompletedTask;
        if (progress != false)
        {
            bool terminal = !Console.IsErrorRedirected;
            var view = new ProgressDisplay(runner.Progress, error, terminal, options.RequestLimit, options.Duration);
            display = view.RunAsync(progress == true ? TimeSpan.Zero : TimeSpan.FromSeconds(terminal ? 2 : 5), stopProgress.Token);
        }

        LoadResult result;
        try
        {
            result = await runner.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            await error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return UsageError;
        }
        finally
        {
            await stopProgress.CancelAsync().ConfigureAwait(false);
            await display.ConfigureAwait(false);
        }

        if (json is not null)
        {
            ResultJson.WriteFile(result, json.FullName);
        }

        if (!quiet)
        {
            ResultTable.Write(result, output);
        }
        else if (result.Errors > 0)
        {
            await error.WriteLineAsync($"{result.Errors} of {result.RequestsSent} requests failed; first: {result.ErrorSamples.FirstOrDefault()}").ConfigureAwait(false);
        }

        return result.Errors > 0 ? 1 : 0;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
