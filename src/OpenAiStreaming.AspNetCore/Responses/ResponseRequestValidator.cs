using System.Text.Json;
using Microsoft.Extensions.AI;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// Checks a <c>POST /v1/responses</c> body field by field, as the Chat Completions endpoint does (400 with
/// <c>param</c>), and maps it onto <see cref="ChatOptions"/>.
/// </summary>
internal static class ResponseRequestValidator
{
    public static (ResponseRequest? Request, OpenAiError? Error) Validate(CreateResponseRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return (null, OpenAiError.BadRequest("You must provide a model parameter.", "model", "missing_required_parameter"));
        }

        if (OutOfRange(request.Temperature, 0, 2))
        {
            return (null, OpenAiError.InvalidValue("temperature", "must be between 0 and 2."));
        }

        if (request.TopP is { } topP && (!(topP > 0) || topP > 1))
        {
            return (null, OpenAiError.InvalidValue("top_p", "must be greater than 0 and at most 1."));
        }

        if (request.MaxOutputTokens is < 1)
        {
            return (null, OpenAiError.InvalidValue("max_output_tokens", "must be at least 1."));
        }

        if (request.TopK is < -1)
        {
            return (null, OpenAiError.InvalidValue("top_k", "must be -1 or 0 (off), or at least 1."));
        }

        if (request.Background == true && request.Store == false)
        {
            return (null, OpenAiError.BadRequest("Background responses must be stored: 'store' cannot be false with 'background: true'.", "store", "invalid_value"));
        }

        if (request.PreviousResponseId is { Length: 0 })
        {
            return (null, OpenAiError.InvalidValue("previous_response_id", "must not be empty."));
        }

        var (input, inputError) = ValidateInput(request.Input);
        if (inputError is not null)
        {
            return (null, inputError);
        }

        var options = new ChatOptions
        {
            ModelId = request.Model,
            Temperature = (float?)request.Temperature,
            TopP = (float?)request.TopP,
            TopK = request.TopK is > 0 ? request.TopK : null,
            MaxOutputTokens = request.MaxOutputTokens,
            Seed = request.Seed,
            AllowMultipleToolCalls = request.ParallelToolCalls,
        };

        var tools = new List<ResponseToolDto>();
        if (request.Tools is { } toolDtos)
        {
            for (int i = 0; i < toolDtos.Count; i++)
            {
                var (tool, toolError) = ValidateTool(toolDtos[i], $"tools[{i}]");
                if (toolError is not null)
                {
                    return (null, toolError);
                }

                tools.Add(toolDtos[i]!);
                (options.Tools ??= []).Add(tool!);
            }
        }

        var toolChoiceError = ApplyToolChoice(request.ToolChoice, tools, options);
        if (toolChoiceError is not null)
        {
            return (null, toolChoiceError);
        }

        var formatError = ApplyFormat(request.Text?.Format, options);
        if (formatError is not null)
        {
            return (null, formatError);
        }

        if (request.Metadata is { } metadata && (metadata.Count > 16 || metadata.Any(p => p.Key.Length > 64 || p.Value is null || p.Value.Length > 512)))
        {
            return (null, OpenAiError.InvalidValue("metadata", "at most 16 pairs, keys up to 64 characters, string values up to 512."));
        }

        return (new ResponseRequest
        {
            Model = request.Model,
            Input = input!,
            Options = options,
            Instructions = request.Instructions,
            MaxOutputTokens = request.MaxOutputTokens,
            Temperature = request.Temperature,
            TopP = request.TopP,
            Tools = tools,
            ToolChoice = request.ToolChoice,
            Format = request.Text?.Format,
            Metadata = request.Metadata,
            Store = request.Store ?? true,
            Stream = request.Stream == true,
            Background = request.Background == true,
            PreviousResponseId = request.PreviousResponseId,
            ParallelToolCalls = request.ParallelToolCalls ?? true,
        }, null);
    }

    /// <summary>The serializer's "invalid type" messages for this body's fields, which the shared reader cannot name.</summary>
    public static OpenAiError FixTypeError(OpenAiError error)
    {
        if (error.Code != "invalid_type" || error.Param is not { } param)
        {
            return error;
        }

        string? expected = param switch
        {
            "temperature" or "top_p" => "expected a number",
            "max_output_tokens" or "seed" or "top_k" => "expected an integer",
            "store" or "stream" or "background" or "parallel_tool_calls" => "expected a boolean",
            "tools" => "expected an array of tool objects",
            "text" or "text.format" => "expected an object",
            "metadata" => "expected an object of string values",
            _ when param.StartsWith("metadata", StringComparison.Ordinal) => "expected an object of string values",
            _ when param.EndsWith(".strict", StringComparison.Ordinal) => "expected a boolean",
            _ => null,
        };
        return expected is null ? error : OpenAiError.BadRequest($"Invalid type for '{param}': {expected}.", param, "invalid_type");
    }

    private static (List<ResponseItemDto>? Items, OpenAiError? Error) ValidateInput(JsonElement input)
    {
        switch (input.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return (null, OpenAiError.BadRequest("'input' is required: a string or an array of input items.", "input", "missing_required_parameter"));
            case JsonValueKind.String:
                return ([new ResponseItemDto { Type = ResponseOutputItem.MessageType, Role = "user", Content = input }], null);
            case JsonValueKind.Array:
                break;
            default:
                return (null, OpenAiError.BadRequest("Invalid type for 'input': expected a string or an array of input items.", "input", "invalid_type"));
        }

        if (input.GetArrayLength() == 0)
        {
            return (null, OpenAiError.BadRequest("'input' must not be an empty array.", "input", "empty_array"));
        }

        var items = new List<ResponseItemDto>();
        int index = 0;
        foreach (var element in input.EnumerateArray())
        {
            string param = $"input[{index++}]";
            if (element.ValueKind != JsonValueKind.Object)
            {
                return (null, OpenAiError.BadRequest($"Invalid type for '{param}': expected an input item object.", param, "invalid_type"));
            }

            ResponseItemDto? item;
            try
            {
                item = element.Deserialize(ResponsesJsonContext.Default.ResponseItemDto);
            }
            catch (JsonException ex)
            {
                string field = ex.Path is { Length: > 2 } path ? param + path[1..] : param;
                return (null, OpenAiError.BadRequest($"Invalid type for '{field}': expected a string.", field, "invalid_type"));
            }

            var error = ValidateItem(item!, param);
            if (error is not null)
            {
                return (null, error);
            }

            items.Add(item!);
        }

        return (items, null);
    }

    private static OpenAiError? ValidateItem(ResponseItemDto item, string param)
    {
        item.Type ??= ResponseOutputItem.MessageType;
        switch (item.Type)
        {
            case ResponseOutputItem.MessageType:
                if (item.Role is not ("user" or "system" or "developer" or "assistant"))
                {
                    return item.Role is null
                        ? OpenAiError.BadRequest($"'{param}.role' is required.", $"{param}.role", "missing_required_parameter")
                        : OpenAiError.InvalidValue($"{param}.role", "must be one of user, system, developer, assistant.");
                }

                return ValidateContent(item.Content ?? default, $"{param}.content");
            case ResponseOutputItem.FunctionCallType:
                if (string.IsNullOrEmpty(item.CallId))
                {
                    return OpenAiError.BadRequest($"'{param}.call_id' is required.", $"{param}.call_id", "missing_required_parameter");
                }

                if (string.IsNullOrEmpty(item.Name))
                {
                    return OpenAiError.BadRequest($"'{param}.name' is required.", $"{param}.name", "missing_required_parameter");
                }

                try
                {
                    ResponseConversation.ParseArguments(item.Arguments);
                }
                catch (JsonException)
                {
                    return OpenAiError.InvalidValue($"{param}.arguments", "must be a JSON object.");
                }

                return null;
            case "function_call_output":
                if (string.IsNullOrEmpty(item.CallId))
                {
                    return OpenAiError.BadRequest($"'{param}.call_id' is required.", $"{param}.call_id", "missing_required_parameter");
                }

                return item.Output is not { ValueKind: not JsonValueKind.Null }
                    ? OpenAiError.BadRequest($"'{param}.output' is required.", $"{param}.output", "missing_required_parameter")
                    : null;
            default:
                return OpenAiError.BadRequest(
                    $"Input items of type '{item.Type}' are not supported by this server: use message, function_call, function_call_output.",
                    $"{param}.type", "unsupported_parameter");
        }
    }

    private static OpenAiError? ValidateContent(JsonElement content, string param)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return null;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return content.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
                ? OpenAiError.BadRequest($"'{param}' is required.", param, "missing_required_parameter")
                : OpenAiError.BadRequest($"Invalid type for '{param}': expected a string or an array of content parts.", param, "invalid_type");
        }

        int index = 0;
        foreach (var part in content.EnumerateArray())
        {
            string partParam = $"{param}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return OpenAiError.BadRequest($"Invalid type for '{partParam}': expected a content part object with a type.", partParam, "invalid_type");
            }

            if (type.GetString() is not ("input_text" or "output_text" or "text"))
            {
                return OpenAiError.BadRequest($"Content parts of type '{type.GetString()}' are not supported by this server: send input_text.",
                    $"{partParam}.type", "unsupported_parameter");
            }

            if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            {
                return OpenAiError.BadRequest($"Invalid type for '{partParam}.text': expected a string.", $"{partParam}.text", "invalid_type");
            }
        }

        return null;
    }

    private static (AITool? Tool, OpenAiError? Error) ValidateTool(ResponseToolDto? tool, string param)
    {
        if (tool is null)
        {
            return (null, OpenAiError.BadRequest($"Invalid type for '{param}': expected a tool object.", param, "invalid_type"));
        }

        if (tool.Type != "function")
        {
            return (null, OpenAiError.BadRequest($"Tools of type '{tool.Type}' are not supported by this server: only function tools are.",
                $"{param}.type", tool.Type is null ? "missing_required_parameter" : "unsupported_parameter"));
        }

        if (string.IsNullOrWhiteSpace(tool.Name))
        {
            return (null, OpenAiError.BadRequest($"'{param}.name' is required.", $"{param}.name", "missing_required_parameter"));
        }

        var schema = tool.Parameters;
        if (schema.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            schema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
        }
        else if (schema.ValueKind != JsonValueKind.Object)
        {
            return (null, OpenAiError.BadRequest($"Invalid type for '{param}.parameters': expected a JSON schema object.", $"{param}.parameters", "invalid_type"));
        }

        return (AIFunctionFactory.CreateDeclaration(tool.Name, tool.Description, schema), null);
    }

    private static OpenAiError? ApplyToolChoice(JsonElement choice, List<ResponseToolDto> tools, ChatOptions options)
    {
        switch (choice.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                switch (choice.GetString())
                {
                    case "auto":
                        options.ToolMode = ChatToolMode.Auto;
                        return null;
                    case "none":
                        options.ToolMode = ChatToolMode.None;
                        return null;
                    case "required":
                        options.ToolMode = ChatToolMode.RequireAny;
                        return null;
                    default:
                        return OpenAiError.InvalidValue("tool_choice", "must be auto, none, required, or {\"type\":\"function\",\"name\":...}.");
                }

            case JsonValueKind.Object:
                if (!choice.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function"
                    || !choice.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                {
                    return OpenAiError.InvalidValue("tool_choice", "an object tool choice must be {\"type\":\"function\",\"name\":...}.");
                }

                string functionName = name.GetString()!;
                if (!tools.Any(t => t.Name == functionName))
                {
                    return OpenAiError.InvalidValue("tool_choice", $"no function tool named '{functionName}' was given in 'tools'.");
                }

                options.ToolMode = ChatToolMode.RequireSpecific(functionName);
                return null;
            default:
                return OpenAiError.BadRequest("Invalid type for 'tool_choice': expected a string or an object.", "tool_choice", "invalid_type");
        }
    }

    private static OpenAiError? ApplyFormat(ResponseFormatDto? format, ChatOptions options)
    {
        switch (format?.Type)
        {
            case null when format is null:
            case "text":
                return null;
            case "json_object":
                options.ResponseFormat = ChatResponseFormat.Json;
                return null;
            case "json_schema":
                if (format.Schema.ValueKind != JsonValueKind.Object)
                {
                    return OpenAiError.BadRequest("'text.format.schema' is required for json_schema and must be an object.", "text.format.schema", "missing_required_parameter");
                }

                options.ResponseFormat = ChatResponseFormat.ForJsonSchema(format.Schema, format.Name, format.Description);
                return null;
            default:
                return OpenAiError.InvalidValue("text.format.type", "must be text, json_object or json_schema.");
        }
    }

    private static bool OutOfRange(double? value, double min, double max) =>
        value is { } v && !(v >= min && v <= max);
}
