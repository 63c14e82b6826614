using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>A tool call, and how much of the pending text came before it: a stream writes that text first.</summary>
internal readonly record struct PendingToolCall(FunctionCallContent Call, int TextPosition);
