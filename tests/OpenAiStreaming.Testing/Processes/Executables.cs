namespace OpenAiStreaming.Testing.Processes;

/// <summary>Finds the binaries the tests run (proxies, curl, node), which CI installs and a developer may not have.</summary>
public static class Executables
{
    /// <summary>The first existing file among <paramref name="candidates"/>, or one found on PATH by <paramref name="name"/>.</summary>
    /// <param name="name">The binary's file name.</param>
    /// <param name="candidates">Full paths to try first.</param>
    /// <returns>The binary's path, or null when it is not installed.</returns>
    public static string? Find(string name, params string[] candidates) =>
        candidates.FirstOrDefault(File.Exists)
        ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Skips the calling test when <paramref name="binary"/> was not found (CI installs it; see .ci/run).</summary>
    /// <param name="binary">What <see cref="Find"/> returned.</param>
    /// <param name="package">The Debian package that installs it.</param>
    public static void SkipIfMissing(string? binary, string package)
    {
        if (binary is null)
        {
            Assert.Skip($"{package} is not installed: apt-get install {package} (.ci/run does).");
        }
    }
}
