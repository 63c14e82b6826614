namespace OpenAiStreaming.LoadGenerator.Sse;

/// <summary>What one event said (<see cref="ChunkClassifier.Parse"/>), or several taken together.</summary>
public struct SseBatch
{
    /// <summary>Data events whose <c>choices[0].delta.content</c> (or <c>choices[0].text</c>) is a non-empty string.</summary>
    public int ContentEvents;

    /// <summary><c>usage.completion_tokens</c> of the last usage chunk, or -1 when none came.</summary>
    public int CompletionTokens;

    /// <summary>Whether <c>data: [DONE]</c> came; the reader stops there.</summary>
    public bool Done;

    /// <summary>The message of an <c>{"error":...}</c> event, or a description of a malformed event; null when none.</summary>
    public string? Error;

    /// <summary>An empty batch.</summary>
    public static SseBatch Empty => new() { CompletionTokens = -1 };
}
