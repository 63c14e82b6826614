using OpenAiStreaming.Testing.EventStreams;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>What <c>curl -i -N</c> printed: the status line, the headers, and each body line with when it arrived.</summary>
/// <param name="StatusLine">The first line, <c>HTTP/1.1 200 OK</c>.</param>
/// <param name="Headers">The header lines.</param>
/// <param name="Body">The body's lines, timed.</param>
public sealed record CurlResult(string StatusLine, IReadOnlyList<string> Headers, IReadOnlyList<TimedLine> Body)
{
    /// <summary>The body's events, each timed by the line that completed it.</summary>
    public List<ReceivedEvent> Events => SseCapture.Parse(Body);

    /// <summary>Whether curl printed a header named <paramref name="name"/>.</summary>
    /// <param name="name">The header's name, any case.</param>
    /// <returns>Whether it is there.</returns>
    public bool HasHeader(string name) =>
        Headers.Any(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));
}
