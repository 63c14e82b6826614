using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OpenAiStreaming.LoadGenerator.Running;

/// <summary>One run's settings; the command line fills them (see Program.cs for each option's default).</summary>
public sealed record LoadOptions
{
    /// <summary>The default prompt: a short sentence.</summary>
    public const string DefaultPrompt = "Tell me a short story about a fox who learns to read.";

    /// <summary>The server, with or without a trailing <c>/v1</c>. Default <c>http://127.0.0.1:8000</c>.</summary>
    public Uri BaseUrl { get; init; } = new("http://127.0.0.1:8000");

    /// <summary>The model id; null: the first id that <c>GET /v1/models</c> lists.</summary>
    public string? Model { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer</c> when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Requests in flight at once (workers). Default 1.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Requests to send in all; null: <see cref="Concurrency"/>, or unlimited when <see cref="Duration"/> is set.</summary>
    public int? Requests { get; init; }

    /// <summary>When set, workers send requests until this much time has passed since the run started; requests in
    /// flight then finish and are measured.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary><c>max_tokens</c> of each request. Default 128.</summary>
    public int MaxTokens { get; init; } = 128;

    /// <summary>The user message. Default <see cref="DefaultPrompt"/>.</summary>
    public string Prompt { get; init; } = DefaultPrompt;

    /// <summary>The run's name in the report; null: derived from the address.</summary>
    public string? Label { get; init; }

    /// <summary>The workers' starts are spread evenly over this time. Default zero.</summary>
    public TimeSpan RampUp { get; init; }

    /// <summary>Requests sent (with the same concurrency) and discarded before measuring. Default 0.</summary>
    public int Warmup { get; init; }

    /// <summary>Disconnect-storm mode: each stream is aborted by the client after this many content events.</summary>
    public int? AbortAfterEvents { get; init; }

    /// <summary>After the run, how long to wait for the server's <c>active</c> count to reach 0. Default 10 s.</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether to ask for a usage chunk (<c>stream_options.include_usage</c>). Default true.</summary>
    public bool IncludeUsage { get; init; } = true;

    /// <summary>A JSON object whose properties are merged into (and override those of) the request body.</summary>
    public string? ExtraBody { get; init; }

    /// <summary>The longest one request may take, headers to <c>[DONE]</c>. Default 10 minutes.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The measured requests when counted: <see cref="Requests"/>, else <see cref="Concurrency"/>; null in
    /// duration mode without a request limit.</summary>
    public int? RequestLimit => Requests ?? (Duration is null ? Concurrency : null);

    /// <summary>The server's root, without <c>/v1</c>, ending in a slash: <c>http://host:8000/</c>.</summary>
    public Uri Root
    {
        get
        {
            string path = BaseUrl.AbsolutePath.TrimEnd('/');
            if (path.EndsWith("/v1", StringComparison.OrdinalIgnoreCase))
            {
                path = path[..^3];
            }

            return new UriBuilder(BaseUrl) { Path = path + "/", Query = string.Empty, Fragment = string.Empty }.Uri;
        }
    }

    /// <summary>Where the control endpoints of a benchmark peer live: the scheme, host and port of the base URL.</summary>
    public Uri Origin => new(BaseUrl.GetLeftPart(UriPartial.Authority) + "/");

    /// <summary>Reads a <c>--base-url</c>: an absolute http or https address (<c>http://</c> is assumed when no
    /// scheme is given), with or without <c>/v1</c>.</summary>
    /// <param name="text">The address as typed.</param>
    /// <returns>The address, or null when it is not one.</returns>
    public static Uri? ParseBaseUrl(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri : null;
    }

    /// <summary>The problems with these settings, one line each; empty when they are usable.</summary>
    /// <returns>The problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (BaseUrl.Scheme is not ("http" or "https"))
        {
            problems.Add($"--base-url must be an http or https address, not {BaseUrl}");
        }

        if (Concurrency < 1)
        {
            problems.Add("--concurrency must be at least 1");
        }

        if (Requests is < 1)
        {
            problems.Add("--requests must be at least 1");
        }

        if (Duration is { } d && d <= TimeSpan.Zero)
        {
            problems.Add("--duration must be positive");
        }

        if (MaxTokens < 1)
        {
            problems.Add("--max-tokens must be at least 1");
        }

        if (RampUp < TimeSpan.Zero || Warmup < 0 || SettleTimeout < TimeSpan.Zero)
        {
            problems.Add("--ramp-up, --warmup and --settle-timeout cannot be negative");
        }

        if (AbortAfterEvents is < 1)
        {
            problems.Add("--abort-after-events must be at least 1");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            problems.Add("--timeout must be positive");
        }

        if (ExtraBody is not null)
        {
            try
            {
                if (JsonNode.Parse(ExtraBody) is not JsonObject)
                {
                    problems.Add("--extra-body must be a JSON object");
                }
            }
            catch (JsonException e)
            {
                problems.Add($"--extra-body is not valid JSON: {e.Message}");
            }
        }

        return problems;
    }

    /// <summary>The UTF-8 body every request sends: the protocol's body with <see cref="ExtraBody"/> merged in.</summary>
    /// <param name="model">The model id.</param>
    /// <returns>The body.</returns>
    public byte[] BuildRequestBody(string model)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Prompt }),
            ["max_tokens"] = MaxTokens,
            ["stream"] = true,
        };
        if (IncludeUsage)
        {
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        if (ExtraBody is not null && JsonNode.Parse(ExtraBody) is JsonObject extra)
        {
            foreach (var (name, value) in extra.ToList())
            {
                extra.Remove(name);
                body[name] = value;
            }
        }

        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }
}
