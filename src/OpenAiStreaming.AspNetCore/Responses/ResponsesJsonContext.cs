using System.Text.Json.Serialization;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>Source-generated serialization for the Responses API's request bodies and stored conversations.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowTrailingCommas = false,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(CreateResponseRequest))]
[JsonSerializable(typeof(List<ResponseItemDto>))]
[JsonSerializable(typeof(List<ResponseContentPartDto?>))]
[JsonSerializable(typeof(ResponseItemDto))]
[JsonSerializable(typeof(string))]
internal sealed partial class ResponsesJsonContext : JsonSerializerContext;
