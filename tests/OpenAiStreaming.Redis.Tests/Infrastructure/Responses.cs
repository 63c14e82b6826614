using System.Text;
using OpenAiStreaming.AspNetCore.Responses;

namespace OpenAiStreaming.Redis.Tests.Infrastructure;

/// <summary>Responses and events as the endpoints would store them, small enough to read in a test.</summary>
public static class Responses
{
    public static string NewId() => "resp_" + Guid.NewGuid().ToString("N");

    public static StoredResponse Response(string id, ResponseStatus status) => new()
    {
        Id = id,
        Status = status,
        Background = true,
        Json = Encoding.UTF8.GetBytes($$"""{"id":"{{id}}","object":"response","status":"{{Status(status)}}"}"""),
    };

    public static ResponseEvent Delta(long sequence) =>
        new(sequence, "response.output_text.delta", Encoding.UTF8.GetBytes($$"""{"type":"response.output_text.delta","sequence_number":{{sequence}},"delta":"w{{sequence}} "}"""));

    public static ResponseEvent Completed(string id, long sequence) =>
        new(sequence, "response.completed", Encoding.UTF8.GetBytes($$$"""{"type":"response.completed","sequence_number":{{{sequence}}},"response":{"id":"{{{id}}}","status":"completed"}}"""));

    private static string Status(ResponseStatus status) => status switch
    {
        ResponseStatus.Queued => "queued",
        ResponseStatus.InProgress => "in_progress",
        ResponseStatus.Completed => "completed",
        ResponseStatus.Failed => "failed",
        _ => status.ToString().ToLowerInvariant(),
    };
}
