using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>A request that passed validation, in Microsoft.Extensions.AI terms: what every wire format asks of a model.</summary>
internal sealed record ValidatedRequest(string Model, List<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage)
{
    /// <summary>How many independent generations (<c>n</c>), each a choice with its own <c>index</c>.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>How many alternatives per token when logprobs are asked for; null when they are not.</summary>
    public int? TopLogprobs { get; init; }

    /// <summary>vLLM's <c>include_stop_str_in_output</c>: a matched stop string stays in the text.</summary>
    public bool IncludeStopString { get; init; }

    /// <summary>vLLM's <c>stream_options.continuous_usage_stats</c>: usage on every chunk.</summary>
    public bool ContinuousUsage { get; init; }

    /// <summary>The stop strings the server applies, or null.</summary>
    public IReadOnlyList<string>? StopSequences => Options.StopSequences is { Count: > 0 } stops ? [.. stops] : null;
}
