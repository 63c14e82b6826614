namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>A completion's token counts, as its usage reports them.</summary>
internal readonly record struct TokenUsage(int Prompt, int Completion);
