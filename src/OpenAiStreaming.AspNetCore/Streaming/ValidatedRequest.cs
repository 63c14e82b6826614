using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>A request that passed validation, in Microsoft.Extensions.AI terms: what every wire format asks of a model.</summary>
internal sealed record ValidatedRequest(string Model, List<ChatMessage> Messages, ChatOptions Options, bool Stream, bool IncludeUsage);
