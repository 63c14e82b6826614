using System.Text.Json.Serialization;

namespace OpenAiStreaming.AspNetCore.Protocol;

// Response bodies that are serialized whole (non-streaming answers, model lists, errors). Streaming chunks are written
// field by field by ChunkWriter instead, straight into the response pipe.

internal sealed class ErrorResponse
{
    public required ErrorBody Error { get; init; }
}

internal sealed class ErrorBody
{
    public required string Message { get; init; }

    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}

internal sealed class UsageDto
{
    public int PromptTokens { get; init; }

    public int CompletionTokens { get; init; }

    public int TotalTokens { get; init; }
}

internal sealed class ChatCompletionResponse
{
    public required string Id { get; init; }

    public string Object => "chat.completion";

    public long Created { get; init; }

    public required string Model { get; init; }

    public required List<ChatChoiceDto> Choices { get; init; }

    public UsageDto? Usage { get; init; }
}

internal sealed class ChatChoiceDto
{
    public int Index { get; init; }

    public required ResponseMessageDto Message { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ChatLogprobsDto? Logprobs { get; init; }

    public required string FinishReason { get; init; }
}

/// <summary>A chat choice's <c>logprobs</c>: one entry per token.</summary>
internal sealed class ChatLogprobsDto
{
    public required List<TokenLogprobDto> Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Refusal => null;
}

internal sealed class TokenLogprobDto
{
    public required string Token { get; init; }

    public double Logprob { get; init; }

    public required List<int> Bytes { get; init; }

    public List<TokenLogprobDto>? TopLogprobs { get; init; }
}

/// <summary>A text completion choice's legacy <c>logprobs</c>.</summary>
internal sealed class TextLogprobsDto
{
    public required List<string> Tokens { get; init; }

    public required List<double> TokenLogprobs { get; init; }

    public required List<Dictionary<string, double>> TopLogprobs { get; init; }

    public required List<int> TextOffset { get; init; }
}

internal sealed class ResponseMessageDto
{
    public string Role => "assistant";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Content { get; init; }

    public List<ToolCallDto>? ToolCalls { get; init; }
}

internal sealed class TextCompletionResponse
{
    public required string Id { get; init; }

    public string Object => "text_completion";

    public long Created { get; init; }

    public required string Model { get; init; }

    public required List<TextChoiceDto> Choices { get; init; }

    public UsageDto? Usage { get; init; }
}

internal sealed class TextChoiceDto
{
    public int Index { get; init; }

    public required string Text { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public TextLogprobsDto? Logprobs { get; init; }

    public required string FinishReason { get; init; }
}

internal sealed class ModelDto
{
    public required string Id { get; init; }

    public string Object => "model";

    public long Created { get; init; }

    public required string OwnedBy { get; init; }
}

internal sealed class ModelListResponse
{
    public string Object => "list";

    public required List<ModelDto> Data { get; init; }
}
