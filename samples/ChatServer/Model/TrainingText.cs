using System.Reflection;
using System.Text;

namespace ChatServer.Model;

/// <summary>
/// The text the tiny model learns from: the repository's README and docs, embedded at build time under
/// <see cref="ResourcePrefix"/> (see the EmbeddedResource items in ChatServer.csproj).
/// </summary>
internal static class TrainingText
{
    /// <summary>The logical-name prefix of the embedded training documents.</summary>
    public const string ResourcePrefix = "TrainingText/";

    // Keeps the sample talking about itself when it was built without any docs (a bare checkout).
    private const string Fallback =
        """
        # OpenAiStreaming

        OpenAiStreaming gives any ASP.NET Core app an OpenAI-compatible streaming endpoint for a self-hosted model.
        Tokens reach the client one by one as Server-Sent Events, through proxies, with a heartbeat while the model thinks.
        A pump between the model and the network never lets a slow or vanished client waste the model's time.
        The sampler turns logits into a token with temperature, top-k, top-p, min-p, penalties and a seed.
        The sample server runs a tiny character-level language model trained at start-up on these words.
        """;

    /// <summary>The names of the embedded training documents, in the order <see cref="Load"/> joins them.</summary>
    public static IReadOnlyList<string> ResourceNames { get; } =
        [.. typeof(TrainingText).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Concatenates the embedded documents, separated by blank lines; when none were embedded, a short built-in
    /// description of the project, so the model always has something to say.
    /// </summary>
    public static string Load()
    {
        Assembly assembly = typeof(TrainingText).Assembly;
        var text = new StringBuilder();
        foreach (string name in ResourceNames)
        {
            using Stream stream = assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"The embedded resource '{name}' could not be opened.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string document = reader.ReadToEnd().Trim();
            if (document.Length == 0)
            {
                continue;
            }

            if (text.Length > 0)
            {
                text.Append("\n\n");
            }

            text.Append(document);
        }

        return text.Length > 0 ? text.Append('\n').ToString() : Fallback;
    }
}
