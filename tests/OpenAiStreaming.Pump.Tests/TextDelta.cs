using System.Text;

namespace OpenAiStreaming.Pump.Tests;

/// <summary>A small mutable delta, like a chat chunk: text of one kind that later text of the same kind can join.</summary>
/// <param name="kind">What the text is ("content", "reasoning"); only text of one kind merges.</param>
/// <param name="text">The text; ASCII in these tests, so one byte a char.</param>
internal sealed class TextDelta(string kind, string text)
{
    public string Kind { get; } = kind;

    public StringBuilder Text { get; } = new(text);

    public TextDelta(string text)
        : this("content", text)
    {
    }

    public override string ToString() => $"{Kind}:{Text}";
}
