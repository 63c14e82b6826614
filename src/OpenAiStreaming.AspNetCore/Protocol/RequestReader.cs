using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace OpenAiStreaming.AspNetCore.Protocol;

/// <summary>Reads a JSON request body under a size limit and turns every way it can be wrong into an OpenAI error.</summary>
internal static class RequestReader
{
    public static async ValueTask<(T? Value, OpenAiError? Error)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, long limit)
        where T : class
    {
        if (!IsJson(request.ContentType))
        {
            return (null, new OpenAiError(StatusCodes.Status415UnsupportedMediaType,
                $"Unsupported content type '{request.ContentType}': send the body as application/json.", OpenAiError.InvalidRequest, null, "unsupported_media_type"));
        }

        if (request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }

        // Kestrel's own limit (30 MB by default) would cut in before or after ours; ours is the one that answers.
        var sizeFeature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        PipeReader reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (buffer.Length > limit)
                {
                    reader.AdvanceTo(buffer.End);
                    return (null, TooLarge(limit));
                }

                if (result.IsCompleted)
                {
                    var parsed = Parse(buffer, typeInfo);
                    reader.AdvanceTo(buffer.End);
                    return parsed;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (BadHttpRequestException ex)
        {
            return (null, ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? TooLarge(limit)
                : new OpenAiError(ex.StatusCode, $"The request body could not be read: {ex.Message}", OpenAiError.InvalidRequest));
        }
    }

    internal static (T? Value, OpenAiError? Error) Parse<T>(ReadOnlySequence<byte> body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        // A first pass with the bare reader tells a syntax error (no field to blame) from a field of the wrong type.
        var syntax = new Utf8JsonReader(body);
        try
        {
            if (!syntax.Read())
            {
                return (null, OpenAiError.BadRequest("The request body is empty: send a JSON object."));
            }

            if (syntax.TokenType != JsonTokenType.StartObject)
            {
                return (null, OpenAiError.BadRequest("The request body must be a JSON object."));
            }

            syntax.Skip();
            if (syntax.Read())
            {
                return (null, OpenAiError.BadRequest("The request body has content after its JSON object."));
            }
        }
        catch (JsonException ex)
        {
            return (null, OpenAiError.BadRequest(
                $"We could not parse the JSON body of your request (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}). Send valid JSON."));
        }

        var reader = new Utf8JsonReader(body);
        try
        {
            return (JsonSerializer.Deserialize(ref reader, typeInfo), null);
        }
        catch (JsonException ex)
        {
            string param = ToParam(ex.Path);
            if (ex.InnerException is JsonException { Path: ['$', .. var innerPath] } inner)
            {
                param += innerPath;
                ex = inner;
            }

            return (null, OpenAiError.BadRequest($"Invalid type for '{param}': {Expected(param, ex)}.", param, "invalid_type"));
        }
    }

    /// <summary>Turns a JSON path (<c>$.messages[0].content</c>) into OpenAI's param (<c>messages[0].content</c>).</summary>
    internal static string ToParam(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    private static string Expected(string param, JsonException ex)
    {
        // Our converters say what they expected; the serializer's own messages name .NET types, so name the JSON type.
        if (ex.Message.StartsWith("expected", StringComparison.Ordinal))
        {
            return ex.Message;
        }

        int dot = param.LastIndexOf('.');
        string field = dot < 0 ? param : param[(dot + 1)..];
        int bracket = field.IndexOf('[', StringComparison.Ordinal);
        if (bracket >= 0)
        {
            field = field[..bracket];
        }

        return field switch
        {
            "temperature" or "top_p" or "frequency_penalty" or "presence_penalty" or "min_p" or "repetition_penalty" => "expected a number",
            "max_tokens" or "max_completion_tokens" or "n" or "top_k" or "seed" or "top_logprobs" or "stop_token_ids" => "expected an integer",
            "stream" or "include_usage" or "echo" or "continuous_usage_stats" or "include_stop_str_in_output" or "parallel_tool_calls" or "strict" => "expected a boolean",
            "messages" => "expected an array of message objects",
            "tools" => "expected an array of tool objects",
            "logit_bias" => "expected an object mapping token ids to numbers",
            "parameters" or "schema" => "expected a JSON Schema object",
            "stream_options" or "image_url" or "input_audio" or "function" or "response_format" or "json_schema" => "expected an object",
            "logprobs" => "expected a boolean (chat completions) or an integer (completions)",
            _ => "expected a string",
        };
    }

    private static OpenAiError TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than the {limit} bytes this server accepts.", OpenAiError.InvalidRequest, null, "request_too_large");

    private static bool IsJson(string? contentType)
    {
        // Clients that send no content type at all (a bare curl -d aside, which says form-urlencoded) mean JSON.
        if (string.IsNullOrEmpty(contentType))
        {
            return true;
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType))
        {
            return false;
        }

        var type = mediaType.MediaType;
        return type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }
}
