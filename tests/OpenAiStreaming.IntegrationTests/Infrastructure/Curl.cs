namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>What <c>curl -i -N</c> printed: the status line, the headers, and each body line with when it arrived.</summary>
public sealed record CurlResult(string StatusLine, IReadOnlyList<string> Headers, IReadOnlyList<TimedLine> Body)
{
    /// <summary>The <c>data:</c> payloads of the event stream, timed.</summary>
    public List<ReceivedEvent> Events =>
        [.. Body.Where(l => l.Text.StartsWith("data: ", StringComparison.Ordinal)).Select(l => new ReceivedEvent(l.Text["data: ".Length..], l.At))];

    public bool HasHeader(string name) =>
        Headers.Any(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
}

/// <summary>The real curl (Debian's, built with nghttp2), run as a streaming client.</summary>
public static class Curl
{
    public static string? Binary { get; } = ClientProcess.Find("curl", "/usr/bin/curl", "/usr/local/bin/curl");

    public static void SkipIfMissing()
    {
        if (Binary is null)
        {
            Assert.Skip("curl is not installed: apt-get install curl (.ci/run does).");
        }
    }

    /// <summary>
    /// POSTs <paramref name="json"/> to <paramref name="url"/> with <c>curl -i -N -s --no-buffer</c> plus
    /// <paramref name="options"/>, reading stdout as it comes; curl is killed if it outlives the timeout.
    /// </summary>
    public static async Task<CurlResult> PostAsync(Uri url, string json, params string[] options)
    {
        SkipIfMissing();
        await using var curl = ClientProcess.Start(Binary!, [
            "-i", "-N", "-s", "-S", "--no-buffer", "--max-time", "30", .. options,
            "-H", "Content-Type: application/json", "--data-binary", json, url.ToString()]);
        var lines = await curl.ReadAllLinesAsync(TimeSpan.FromSeconds(40));
        int exitCode = await curl.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.True(exitCode == 0, $"curl exited with {exitCode}: {curl.Stderr}");

        int blank = lines.FindIndex(l => l.Text.Length == 0);
        Assert.True(blank > 0, $"no header block in curl's output:\n{string.Join('\n', lines.Select(l => l.Text))}");
        return new CurlResult(lines[0].Text, [.. lines.Skip(1).Take(blank - 1).Select(l => l.Text)], lines[(blank + 1)..]);
    }
}
