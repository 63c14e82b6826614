namespace OpenAiStreaming.Testing.Processes;

/// <summary>The real curl (Debian's, built with nghttp2), run as a streaming client.</summary>
public static class Curl
{
    /// <summary>The curl binary, or null when it is not installed.</summary>
    public static string? Binary { get; } = Executables.Find("curl", "/usr/bin/curl", "/usr/local/bin/curl");

    /// <summary>Skips the calling test when curl is missing (CI installs it; see .ci/run).</summary>
    public static void SkipIfMissing() => Executables.SkipIfMissing(Binary, "curl");

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
