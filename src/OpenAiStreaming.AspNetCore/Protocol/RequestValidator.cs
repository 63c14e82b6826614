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

    public static (ValidatedRequest? Request, OpenAiError? Error) Validate(ChatCompletionRequest request)
    {
        var error = ValidateCommon(request, out var options);
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

        if (request.Logprobs == true)
        {
            return (null, OpenAiError.BadRequest("logprobs are not supported by this server.", "logprobs", "unsupported_parameter"));
        }

        if (request.TopLogprobs is not null and not 0)
        {
            return (null, OpenAiError.BadRequest("top_logprobs are not supported by this server.", "top_logprobs", "unsupported_parameter"));
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

        return (new ValidatedRequest(request.Model!, chatMessages, options, request.Stream == true, request.StreamOptions?.IncludeUsage == true), null);
    }

    public static (ValidatedRequest? Request, OpenAiError? Error) Validate(CompletionRequest request, int defaultMaxTokens)
    {
        var error = ValidateCommon(request, out var options);
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

        if (request.Logprobs is not null)
        {
            return (null, OpenAiError.BadRequest("logprobs are not supported by this server.", "logprobs", "unsupported_parameter"));
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
        return (new ValidatedRequest(request.Model!, messages, options, request.Stream == true, request.StreamOptions?.IncludeUsage == true), null);
    }

    private static OpenAiError? ValidateCommon(CompletionRequestBase request, out ChatOptions options)
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

        if (request.N is not null and not 1)
        {
            return OpenAiError.InvalidValue("n", "only n = 1 is supported.");
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
