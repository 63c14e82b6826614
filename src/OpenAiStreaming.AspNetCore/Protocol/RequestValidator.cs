using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>
/// Checks every known field's range and shape, naming the field in <c>param</c> when one is wrong, and maps the request
/// onto <see cref="ChatOptions"/>: standard fields to its properties, vLLM's extensions (<c>min_p</c>,
/// <c>repetition_penalty</c>, <c>stop_token_ids</c>) to <see cref="ChatOptions.AdditionalProperties"/>.
/// </summary>
internal static class RequestValidator
{
    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for vLLM's <c>min_p</c> (a double).</summary>
    public const string MinPKey = "min_p";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for vLLM's <c>repetition_penalty</c> (a double).</summary>
    public const string RepetitionPenaltyKey = "repetition_penalty";

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for vLLM's <c>stop_token_ids</c> (an int[]).</summary>
    public const string StopTokenIdsKey = "stop_token_ids";

    /// <summary>The schema of a function that declares no parameters.</summary>
    private static readonly JsonElement s_emptyObjectSchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;

    /// <summary>The <see cref="ChatOptions.AdditionalProperties"/> key for <c>logit_bias</c> (a Dictionary&lt;int, double&gt;).</summary>
    public const string LogitBiasKey = "logit_bias";

    /// <summary>The most <c>top_logprobs</c> a request may ask for, as OpenAI and vLLM's default allow.</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>The most tools one request may declare, as OpenAI allows.</summary>
    public const int MaxTools = 128;

    /// <summary>Validates a chat completion request with the default limit on <c>n</c>.</summary>
    public static (ValidatedRequest? Request, OpenAiError? Error) Validate(ChatCompletionRequest request) => Validate(request, 8);

    public static (ValidatedRequest? Request, OpenAiError? Error) Validate(ChatCompletionRequest request, int maxChoices)
    {
        var error = ValidateCommon(request, maxChoices, out var options);
        if (error is not null)
        {
            return (null, error);
        }

        if (request.MaxCompletionTokens is { } maxCompletion)
        {
            if (maxCompletion < 1)
            {
                return (null, OpenAiError.InvalidValue("max_completion_tokens", "must be at least 1."));
            }

            options.MaxOutputTokens = maxCompletion;
        }

        if (request.TopLogprobs is { } topLogprobs)
        {
            if (topLogprobs is < 0 or > MaxTopLogprobs)
            {
                return (null, OpenAiError.InvalidValue("top_logprobs", $"must be between 0 and {MaxTopLogprobs}."));
            }

            if (request.Logprobs != true)
            {
                return (null, OpenAiError.InvalidValue("top_logprobs", "'logprobs' must be true when 'top_logprobs' is set."));
            }
        }

        int? requestedLogprobs = request.Logprobs == true ? request.TopLogprobs ?? 0 : null;
        var toolError = MapTools(request, options);
        if (toolError is not null)
        {
            return (null, toolError);
        }

        if (request.Messages is not { Count: > 0 } messages)
        {
            return (null, OpenAiError.BadRequest("'messages' must be a non-empty array of messages.", "messages", request.Messages is null ? "missing_required_parameter" : "empty_array"));
        }

        var chatMessages = new List<ChatMessage>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            var (message, messageError) = ToChatMessage(messages[i], $"messages[{i}]");
            if (messageError is not null)
            {
                return (null, messageError);
            }

            chatMessages.Add(message!);
        }

        return (Finish(request, chatMessages, options, requestedLogprobs), null);
    }

    /// <summary>Validates a text completion request with the default limit on <c>n</c>.</summary>
    public static (ValidatedRequest? Request, OpenAiError? Error) Validate(CompletionRequest request, int defaultMaxTokens) =>
        Validate(request, defaultMaxTokens, 8);

    public static (ValidatedRequest? Request, OpenAiError? Error) Validate(CompletionRequest request, int defaultMaxTokens, int maxChoices)
    {
        var error = ValidateCommon(request, maxChoices, out var options);
        if (error is not null)
        {
            return (null, error);
        }

        options.MaxOutputTokens ??= defaultMaxTokens;
        if (request.Echo == true)
        {
            return (null, OpenAiError.BadRequest("echo is not supported by this server.", "echo", "unsupported_parameter"));
        }

        if (request.Suffix is not null)
        {
            return (null, OpenAiError.BadRequest("suffix is not supported by this server.", "suffix", "unsupported_parameter"));
        }

        if (request.Logprobs is < 0 or > MaxTopLogprobs)
        {
            return (null, OpenAiError.InvalidValue("logprobs", $"must be between 0 and {MaxTopLogprobs}."));
        }

        if (request.Prompt is not { } prompt)
        {
            return (null, OpenAiError.BadRequest("'prompt' is required.", "prompt", "missing_required_parameter"));
        }

        if (prompt.Values.Count != 1)
        {
            return (null, OpenAiError.InvalidValue("prompt", "exactly one prompt is supported per request."));
        }

        var messages = new List<ChatMessage> { new(ChatRole.User, prompt.Values[0]) };
        return (Finish(request, messages, options, request.Logprobs), null);
    }

    private static ValidatedRequest Finish(CompletionRequestBase request, List<ChatMessage> messages, ChatOptions options, int? topLogprobs)
    {
        if (topLogprobs is { } top)
        {
            options.AdditionalProperties ??= [];
            options.AdditionalProperties[LogprobContent.LogprobsOptionKey] = true;
            options.AdditionalProperties[LogprobContent.TopLogprobsOptionKey] = top;
        }

        return new ValidatedRequest(request.Model!, messages, options, request.Stream == true, request.StreamOptions?.IncludeUsage == true)
        {
            Choices = request.N ?? 1,
            TopLogprobs = topLogprobs,
            IncludeStopString = request.IncludeStopStrInOutput == true,
            ContinuousUsage = request.StreamOptions?.ContinuousUsageStats == true,
        };
    }

    private static OpenAiError? ValidateCommon(CompletionRequestBase request, int maxChoices, out ChatOptions options)
    {
        options = new ChatOptions();
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return OpenAiError.BadRequest("You must provide a model parameter.", "model", "missing_required_parameter");
        }

        if (request.StreamOptions is not null && request.Stream != true)
        {
            return OpenAiError.BadRequest("stream_options is only allowed when 'stream' is true.", "stream_options");
        }

        if (request.N is { } n && (n < 1 || n > maxChoices))
        {
            return OpenAiError.InvalidValue("n", $"must be between 1 and {maxChoices}.");
        }

        if (request.LogitBias is { } logitBias)
        {
            var bias = new Dictionary<int, double>(logitBias.Count);
            foreach (var (key, value) in logitBias)
            {
                if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int token))
                {
                    return OpenAiError.InvalidValue("logit_bias", $"'{key}' is not a token id: keys must be non-negative integers, as strings.");
                }

                if (!(value >= -100 && value <= 100))
                {
                    return OpenAiError.InvalidValue("logit_bias", $"the bias of token {key} must be between -100 and 100.");
                }

                bias[token] = value;
            }

            options.AdditionalProperties ??= [];
            options.AdditionalProperties[LogitBiasKey] = bias;
        }

        if (OutOfRange(request.Temperature, 0, 2))
        {
            return OpenAiError.InvalidValue("temperature", "must be between 0 and 2.");
        }

        if (request.TopP is { } topP && (!(topP > 0) || topP > 1))
        {
            return OpenAiError.InvalidValue("top_p", "must be greater than 0 and at most 1.");
        }

        if (request.MaxTokens is < 1)
        {
            return OpenAiError.InvalidValue("max_tokens", "must be at least 1.");
        }

        if (OutOfRange(request.FrequencyPenalty, -2, 2))
        {
            return OpenAiError.InvalidValue("frequency_penalty", "must be between -2 and 2.");
        }

        if (OutOfRange(request.PresencePenalty, -2, 2))
        {
            return OpenAiError.InvalidValue("presence_penalty", "must be between -2 and 2.");
        }

        if (request.TopK is < -1)
        {
            return OpenAiError.InvalidValue("top_k", "must be -1 or 0 (off), or at least 1.");
        }

        if (OutOfRange(request.MinP, 0, 1))
        {
            return OpenAiError.InvalidValue("min_p", "must be between 0 and 1.");
        }

        if (request.RepetitionPenalty is { } repetition && !(repetition > 0 && double.IsFinite(repetition)))
        {
            return OpenAiError.InvalidValue("repetition_penalty", "must be greater than 0.");
        }

        if (request.Stop?.Values is { } stop)
        {
            if (stop.Count > 4)
            {
                return OpenAiError.InvalidValue("stop", "at most 4 stop sequences are allowed.");
            }

            if (stop.Any(string.IsNullOrEmpty))
            {
                return OpenAiError.InvalidValue("stop", "stop sequences must not be empty.");
            }

            options.StopSequences = stop.Count > 0 ? stop : null;
        }

        if (request.StopTokenIds is { } stopTokenIds)
        {
            if (stopTokenIds.Any(id => id < 0))
            {
                return OpenAiError.InvalidValue("stop_token_ids", "token ids must not be negative.");
            }

            options.AdditionalProperties ??= [];
            options.AdditionalProperties[StopTokenIdsKey] = stopTokenIds.ToArray();
        }

        options.ModelId = request.Model;
        options.Temperature = (float?)request.Temperature;
        options.TopP = (float?)request.TopP;
        options.TopK = request.TopK is > 0 ? request.TopK : null;
        options.MaxOutputTokens = request.MaxTokens;
        options.Seed = request.Seed;
        options.FrequencyPenalty = (float?)request.FrequencyPenalty;
        options.PresencePenalty = (float?)request.PresencePenalty;
        if (request.MinP is { } minP)
        {
            options.AdditionalProperties ??= [];
            options.AdditionalProperties[MinPKey] = minP;
        }

        if (request.RepetitionPenalty is { } repetitionPenalty)
        {
            options.AdditionalProperties ??= [];
            options.AdditionalProperties[RepetitionPenaltyKey] = repetitionPenalty;
        }

        return null;
    }

    /// <summary>Maps <c>tools</c>, <c>tool_choice</c>, <c>parallel_tool_calls</c> and <c>response_format</c> onto the options.</summary>
    private static OpenAiError? MapTools(ChatCompletionRequest request, ChatOptions options)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (request.Tools is { } tools)
        {
            if (tools.Count > MaxTools)
            {
                return OpenAiError.InvalidValue("tools", $"at most {MaxTools} tools are allowed.");
            }

            options.Tools = [];
            for (int i = 0; i < tools.Count; i++)
            {
                string param = $"tools[{i}]";
                if (tools[i] is not { } tool)
                {
                    return OpenAiError.InvalidValue(param, "expected a tool object.");
                }

                if (tool.Type != "function")
                {
                    return tool.Type is null
                        ? OpenAiError.BadRequest($"'{param}.type' is required.", $"{param}.type", "missing_required_parameter")
                        : OpenAiError.InvalidValue($"{param}.type", $"'{tool.Type}' is not supported; only 'function'.");
                }

                if (tool.Function is not { } function)
                {
                    return OpenAiError.BadRequest($"'{param}.function' is required.", $"{param}.function", "missing_required_parameter");
                }

                var nameError = CheckName(function.Name, $"{param}.function.name");
                if (nameError is not null)
                {
                    return nameError;
                }

                if (!names.Add(function.Name!))
                {
                    return OpenAiError.InvalidValue($"{param}.function.name", $"'{function.Name}' is declared twice.");
                }

                JsonElement schema;
                if (function.Parameters is { } parameters)
                {
                    if (parameters.ValueKind != JsonValueKind.Object)
                    {
                        return OpenAiError.InvalidValue($"{param}.function.parameters", "expected a JSON Schema object.");
                    }

                    schema = parameters;
                }
                else
                {
                    schema = s_emptyObjectSchema;
                }

                options.Tools.Add(AIFunctionFactory.CreateDeclaration(function.Name!, function.Description, schema));
            }
        }

        if (request.ToolChoice is { } choice)
        {
            if (request.Tools is not { Count: > 0 })
            {
                return OpenAiError.InvalidValue("tool_choice", "'tool_choice' is only allowed when 'tools' are specified.");
            }

            switch (choice.Mode)
            {
                case "none":
                    options.ToolMode = ChatToolMode.None;
                    break;
                case "auto":
                    options.ToolMode = ChatToolMode.Auto;
                    break;
                case "required":
                    options.ToolMode = ChatToolMode.RequireAny;
                    break;
                case null when choice.Type == "function" && choice.FunctionName is { } name:
                    if (!names.Contains(name))
                    {
                        return OpenAiError.InvalidValue("tool_choice.function.name", $"no tool named '{name}' is declared in 'tools'.");
                    }

                    options.ToolMode = ChatToolMode.RequireSpecific(name);
                    break;
                case null when choice.Type != "function":
                    return OpenAiError.InvalidValue("tool_choice.type", "must be 'function'.");
                case null:
                    return OpenAiError.BadRequest("'tool_choice.function.name' is required.", "tool_choice.function.name", "missing_required_parameter");
                default:
                    return OpenAiError.InvalidValue("tool_choice", $"'{choice.Mode}' is not one of 'none', 'auto', 'required'.");
            }
        }

        if (request.ParallelToolCalls is { } parallel)
        {
            if (request.Tools is not { Count: > 0 })
            {
                return OpenAiError.InvalidValue("parallel_tool_calls", "'parallel_tool_calls' is only allowed when 'tools' are specified.");
            }

            options.AllowMultipleToolCalls = parallel;
        }

        if (request.ResponseFormat is { } format)
        {
            switch (format.Type)
            {
                case "text":
                    options.ResponseFormat = ChatResponseFormat.Text;
                    break;
                case "json_object":
                    options.ResponseFormat = ChatResponseFormat.Json;
                    break;
                case "json_schema":
                    if (format.JsonSchema is not { } jsonSchema)
                    {
                        return OpenAiError.BadRequest("'response_format.json_schema' is required for type 'json_schema'.", "response_format.json_schema", "missing_required_parameter");
                    }

                    var nameError = CheckName(jsonSchema.Name, "response_format.json_schema.name");
                    if (nameError is not null)
                    {
                        return nameError;
                    }

                    if (jsonSchema.Schema is { ValueKind: not JsonValueKind.Object })
                    {
                        return OpenAiError.InvalidValue("response_format.json_schema.schema", "expected a JSON Schema object.");
                    }

                    options.ResponseFormat = ChatResponseFormat.ForJsonSchema(jsonSchema.Schema ?? s_emptyObjectSchema, jsonSchema.Name, jsonSchema.Description);
                    break;
                case null:
                    return OpenAiError.BadRequest("'response_format.type' is required.", "response_format.type", "missing_required_parameter");
                default:
                    return OpenAiError.InvalidValue("response_format.type", $"'{format.Type}' is not one of 'text', 'json_object', 'json_schema'.");
            }
        }

        return null;
    }

    /// <summary>OpenAI's rule for function and schema names: a-z, A-Z, 0-9, underscores and dashes, at most 64.</summary>
    private static OpenAiError? CheckName(string? name, string param)
    {
        if (string.IsNullOrEmpty(name))
        {
            return OpenAiError.BadRequest($"'{param}' is required.", param, "missing_required_parameter");
        }

        if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            return OpenAiError.InvalidValue(param, $"'{name}' must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes.");
        }

        return null;
    }

    private static bool OutOfRange(double? value, double min, double max) =>
        value is { } v && !(v >= min && v <= max);

    private static (ChatMessage? Message, OpenAiError? Error) ToChatMessage(ChatMessageDto? dto, string param)
    {
        if (dto is null)
        {
            return (null, OpenAiError.InvalidValue(param, "expected a message object."));
        }

        ChatRole role;
        switch (dto.Role)
        {
            case "system":
            case "developer":
                role = ChatRole.System;
                break;
            case "user":
                role = ChatRole.User;
                break;
            case "assistant":
                role = ChatRole.Assistant;
                break;
            case "tool":
            case "function":
                role = ChatRole.Tool;
                break;
            case null:
                return (null, OpenAiError.BadRequest($"'{param}.role' is required.", $"{param}.role", "missing_required_parameter"));
            default:
                return (null, OpenAiError.InvalidValue($"{param}.role", $"'{dto.Role}' is not one of 'system', 'developer', 'user', 'assistant', 'tool', 'function'."));
        }

        var contents = new List<AIContent>();
        var contentError = AddContent(dto.Content, role, $"{param}.content", contents);
        if (contentError is not null)
        {
            return (null, contentError);
        }

        if (role == ChatRole.Assistant && dto.ToolCalls is { Count: > 0 } toolCalls)
        {
            for (int i = 0; i < toolCalls.Count; i++)
            {
                var (call, callError) = ToFunctionCall(toolCalls[i], $"{param}.tool_calls[{i}]");
                if (callError is not null)
                {
                    return (null, callError);
                }

                contents.Add(call!);
            }
        }
        else if (dto.Content is null && role != ChatRole.Assistant)
        {
            return (null, OpenAiError.BadRequest($"'{param}.content' is required for role '{dto.Role}'.", $"{param}.content", "missing_required_parameter"));
        }

        if (role == ChatRole.Tool)
        {
            string? callId = dto.Role == "tool" ? dto.ToolCallId : dto.Name;
            if (string.IsNullOrEmpty(callId))
            {
                string field = dto.Role == "tool" ? "tool_call_id" : "name";
                return (null, OpenAiError.BadRequest($"'{param}.{field}' is required for role '{dto.Role}'.", $"{param}.{field}", "missing_required_parameter"));
            }

            string result = string.Concat(contents.OfType<TextContent>().Select(t => t.Text));
            contents = [new FunctionResultContent(callId, result)];
        }

        return (new ChatMessage(role, contents) { AuthorName = dto.Role == "function" ? null : dto.Name }, null);
    }

    private static OpenAiError? AddContent(MessageContent? content, ChatRole role, string param, List<AIContent> contents)
    {
        if (content is null)
        {
            return null;
        }

        if (content.Text is { } text)
        {
            contents.Add(new TextContent(text));
            return null;
        }

        var parts = content.Parts!;
        for (int i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            string partParam = $"{param}[{i}]";
            switch (part?.Type)
            {
                case "text" when part.Text is not null:
                    contents.Add(new TextContent(part.Text));
                    break;
                case "text":
                    return OpenAiError.BadRequest($"'{partParam}.text' is required for a text part.", $"{partParam}.text", "missing_required_parameter");
                case "refusal" when role == ChatRole.Assistant:
                    break;
                case "image_url" when role == ChatRole.User:
                    var url = part.ImageUrl?.Url;
                    if (string.IsNullOrEmpty(url))
                    {
                        return OpenAiError.BadRequest($"'{partParam}.image_url.url' is required for an image part.", $"{partParam}.image_url.url", "missing_required_parameter");
                    }

                    if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
                    {
                        try
                        {
                            contents.Add(new DataContent(url));
                        }
                        catch (FormatException)
                        {
                            return OpenAiError.InvalidValue($"{partParam}.image_url.url", "not a valid data URI.");
                        }
                    }
                    else if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
                    {
                        contents.Add(new UriContent(uri, "image/*"));
                    }
                    else
                    {
                        return OpenAiError.InvalidValue($"{partParam}.image_url.url", "not an absolute URL or data URI.");
                    }

                    break;
                case "input_audio" when role == ChatRole.User:
                    if (part.InputAudio is not { Data: { Length: > 0 } data, Format: { Length: > 0 } format })
                    {
                        return OpenAiError.BadRequest($"'{partParam}.input_audio' needs 'data' and 'format'.", $"{partParam}.input_audio", "missing_required_parameter");
                    }

                    try
                    {
                        contents.Add(new DataContent(Convert.FromBase64String(data), "audio/" + format));
                    }
                    catch (FormatException)
                    {
                        return OpenAiError.InvalidValue($"{partParam}.input_audio.data", "not valid base64.");
                    }

                    break;
                case null when part is null:
                    return OpenAiError.InvalidValue(partParam, "expected a content part object.");
                case null:
                    return OpenAiError.BadRequest($"'{partParam}.type' is required.", $"{partParam}.type", "missing_required_parameter");
                default:
                    return OpenAiError.InvalidValue($"{partParam}.type", $"'{part.Type}' parts are not supported in a message of role '{role}'.");
            }
        }

        return null;
    }

    private static (FunctionCallContent? Call, OpenAiError? Error) ToFunctionCall(ToolCallDto? call, string param)
    {
        if (call is null)
        {
            return (null, OpenAiError.InvalidValue(param, "expected a tool call object."));
        }

        if (string.IsNullOrEmpty(call.Id))
        {
            return (null, OpenAiError.BadRequest($"'{param}.id' is required.", $"{param}.id", "missing_required_parameter"));
        }

        if (call.Function is not { Name: { Length: > 0 } name } function)
        {
            return (null, OpenAiError.BadRequest($"'{param}.function.name' is required.", $"{param}.function.name", "missing_required_parameter"));
        }

        Dictionary<string, object?>? arguments = null;
        if (!string.IsNullOrWhiteSpace(function.Arguments))
        {
            try
            {
                using var document = JsonDocument.Parse(function.Arguments);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return (null, OpenAiError.InvalidValue($"{param}.function.arguments", "expected a JSON object encoded as a string."));
                }

                arguments = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
            }
            catch (JsonException)
            {
                return (null, OpenAiError.InvalidValue($"{param}.function.arguments", "not valid JSON."));
            }
        }

        return (new FunctionCallContent(call.Id, name, arguments), null);
    }
}
