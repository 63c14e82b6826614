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
}
