namespace OpenAiStreaming.Testing;

/// <summary>The repository the tests run from, for the files they read from the source tree.</summary>
public static class Repository
{
    /// <summary>The repository root: the first folder above the test binaries that holds Middleware.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Middleware.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Middleware.sln not found above {AppContext.BaseDirectory}");
    }
}
