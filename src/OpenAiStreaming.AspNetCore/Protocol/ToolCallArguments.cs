using System.Text.Json;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Protocol;

internal static class ToolCallArguments
{
    /// <summary>A function call's arguments as the JSON object string OpenAI's <c>arguments</c> field carries.</summary>
    public static string Serialize(FunctionCallContent call) => call.Arguments is null
        ? "{}"
        : JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));
}
