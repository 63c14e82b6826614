namespace OpenAiStreaming.Testing.Processes;

/// <summary>
/// The proxy configs under <c>samples/deploy/</c>, read from the repository so the tests run the files the docs show.
/// </summary>
public static class DeploySamples
{
    /// <summary>
    /// The text of <c>samples/deploy/<paramref name="file"/></c> with each (from, to) replaced; each <c>from</c> must
    /// occur in the file exactly once, so a sample that changes cannot silently stop being tested.
    /// </summary>
    public static string Load(string file, params (string From, string To)[] replacements)
    {
        string text = File.ReadAllText(Path.Combine(Repository.Root, "samples", "deploy", file));
        foreach (var (from, to) in replacements)
        {
            int count = text.Split(from).Length - 1;
            Assert.True(count == 1, $"samples/deploy/{file} should contain \"{from}\" exactly once, found {count}");
            text = text.Replace(from, to, StringComparison.Ordinal);
        }

        return text;
    }
}
