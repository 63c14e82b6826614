using System.Buffers;
using Microsoft.AspNetCore.Http;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.AspNetCore.Protocol;

namespace OpenAiStreaming.Fuzz;

/// <summary>
/// One input through what an endpoint does with a body before the model sees it: <see cref="RequestReader.Parse"/>, then
/// <see cref="RequestValidator"/>. The first byte picks the endpoint, the rest is the body. Any exception, or an error
/// that is not a 4xx, is a finding: on the server it would be a 500.
/// </summary>
internal static class RequestTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var body = new ReadOnlySequence<byte>(input[1..].ToArray());
        OpenAiError? error;
        if ((input[0] & 1) == 0)
        {
            var (request, parseError) = RequestReader.Parse(body, OpenAiJsonContext.Default.ChatCompletionRequest);
            error = parseError ?? RequestValidator.Validate(request!).Error;
        }
        else
        {
            var (request, parseError) = RequestReader.Parse(body, OpenAiJsonContext.Default.CompletionRequest);
            error = parseError ?? RequestValidator.Validate(request!, defaultMaxTokens: 16).Error;
        }

        if (error is { Status: < StatusCodes.Status400BadRequest or >= StatusCodes.Status500InternalServerError })
        {
            throw new InvalidOperationException($"Bad input answered {error.Status}: {error.Message}");
        }
    }
}
