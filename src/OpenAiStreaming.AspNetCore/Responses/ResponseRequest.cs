using System.Text.Json;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>A <c>POST /v1/responses</c> body that passed validation: what the model gets and what the response echoes.</summary>
internal sealed class ResponseRequest
{
    public required string Model { get; init; }

    /// <summary>This request's input items, a string input as one user message.</summary>
    public required List<ResponseItemDto> Input { get; init; }

    public required ChatOptions Options { get; init; }

    public string? Instructions { get; init; }

    public int? MaxOutputTokens { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    /// <summary>The function tools, as echoed in the response.</summary>
    public List<ResponseToolDto> Tools { get; init; } = [];

    /// <summary>The tool choice as sent; undefined when absent (<c>auto</c>).</summary>
    public JsonElement ToolChoice { get; init; }

    /// <summary>The output format; null for plain text.</summary>
    public ResponseFormatDto? Format { get; init; }

    public Dictionary<string, string>? Metadata { get; init; }

    public bool Store { get; init; } = true;

    public bool Stream { get; init; }

    public bool Background { get; init; }

    public string? PreviousResponseId { get; init; }

    public bool ParallelToolCalls { get; init; } = true;
}
