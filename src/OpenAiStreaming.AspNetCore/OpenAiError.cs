using Microsoft.AspNetCore.Http;
using OpenAiStreaming.AspNetCore.Protocol;

namespace OpenAiStreaming.AspNetCore;

/// <summary>An error as OpenAI reports it: an HTTP status and <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal sealed record OpenAiError(int Status, string Message, string Type, string? Param = null, string? Code = null)
{
    public const string InvalidRequest = "invalid_request_error";
    public const string ServerError = "server_error";

    public static OpenAiError BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, InvalidRequest, param, code);

    public static OpenAiError InvalidValue(string param, string message) =>
        BadRequest($"Invalid value for '{param}': {message}", param, "invalid_value");

    public static OpenAiError ModelNotFound(string model) =>
        new(StatusCodes.Status404NotFound, $"The model '{model}' does not exist.", InvalidRequest, "model", "model_not_found");

    public static OpenAiError Server(string message) =>
        new(StatusCodes.Status500InternalServerError, message, ServerError);

    public ErrorResponse ToResponse() => new() { Error = new() { Message = Message, Type = Type, Param = Param, Code = Code } };

    /// <summary>Writes the error as the whole response, with its status.</summary>
    public Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = Status;
        return response.WriteAsJsonAsync(ToResponse(), OpenAiJsonContext.Default.ErrorResponse, contentType: "application/json", response.HttpContext.RequestAborted);
    }
}
