using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Protocol;

internal static class ToolCallArguments
{
    /// <summary>Microsoft.Extensions.AI's serialization, unindented, as OpenAI sends arguments.</summary>
    private static readonly JsonTypeInfo s_arguments =
        new JsonSerializerOptions(AIJsonUtilities.DefaultOptions) { WriteIndented = false }.GetTypeInfo(typeof(IDictionary<string, object?>));

    /// <summary>A function call's arguments as the JSON object string OpenAI's <c>arguments</c> field carries.</summary>
    public static string Serialize(FunctionCallContent call) => call.Arguments is null
        ? "{}"
        : JsonSerializer.Serialize(call.Arguments, s_arguments);
}
