using System.Text;
using System.Text.RegularExpressions;

namespace OpenAiStreaming.Peers.Tests.Infrastructure;

/// <summary>
/// The bytes every peer must send for <see cref="BenchRequest"/>, written out here independently of the peers, with
/// <c>chatcmpl-ID</c> and <c>CREATED</c> standing for the two values that differ per stream.
/// </summary>
public static partial class ExpectedStream
{
    public static readonly string[] Words =
        [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " It", " was", " not", " a", " bad", " day"];

    private const string Head = """data: {"id":"chatcmpl-ID","object":"chat.completion.chunk","created":CREATED,"model":"synthetic","choices":""";

    public static string Body(int tokens, bool includeUsage)
    {
        var body = new StringBuilder();
        body.Append(Head).Append("""[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""").Append("\n\n");
        for (int i = 0; i < tokens; i++)
        {
            body.Append(Head).Append("""[{"index":0,"delta":{"content":"WORD"},"logprobs":null,"finish_reason":null}]}""".Replace("WORD", Words[i % 16], StringComparison.Ordinal)).Append("\n\n");
        }

        body.Append(Head).Append("""[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}""").Append("\n\n");
        if (includeUsage)
        {
            body.Append(Head).Append($$$"""[],"usage":{"prompt_tokens":{{{BenchRequest.PromptTokens}}},"completion_tokens":{{{tokens}}},"total_tokens":{{{BenchRequest.PromptTokens + tokens}}}}}""").Append("\n\n");
        }

        body.Append("data: [DONE]\n\n");
        return body.ToString();
    }

    /// <summary>
    /// Checks that every chunk has the same id (<c>chatcmpl-</c> and 24 lowercase hex digits) and the same integer
    /// <c>created</c> (unix seconds, now), and replaces them with the placeholders of <see cref="Body"/>.
    /// </summary>
    public static string Normalize(string body)
    {
        var ids = IdPattern().Matches(body).Select(m => m.Value).Distinct().ToList();
        var created = CreatedPattern().Matches(body).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Single(ids);
        Assert.Matches("^\"id\":\"chatcmpl-[0-9a-f]{24}\"$", ids[0]);
        Assert.Single(created);
        long seconds = long.Parse(created[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 120, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        return CreatedPattern().Replace(IdPattern().Replace(body, "\"id\":\"chatcmpl-ID\""), "\"created\":CREATED");
    }

    /// <summary>The content of one <c>data:</c> event, or null when it carries none.</summary>
    public static string? Content(string sseEvent)
    {
        var match = ContentPattern().Match(sseEvent);
        return match.Success ? match.Groups[1].Value : null;
    }

    [GeneratedRegex("\"id\":\"[^\"]*\"")]
    private static partial Regex IdPattern();

    [GeneratedRegex("\"created\":(-?[0-9]+)")]
    private static partial Regex CreatedPattern();

    [GeneratedRegex("\"delta\":\\{\"content\":\"([^\"]+)\"\\}")]
    private static partial Regex ContentPattern();
}
