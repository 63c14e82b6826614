using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// A response as an <see cref="IResponseStore"/> keeps it: its id, status and kind, which the store reads, and two
/// opaque UTF-8 JSON documents, which only the endpoints read.
/// </summary>
public sealed class StoredResponse
{
    /// <summary>The response's id (<c>resp_...</c>).</summary>
    public required string Id { get; init; }

    /// <summary>The response's status; equal to the <c>status</c> inside <see cref="Json"/>.</summary>
    public required ResponseStatus Status { get; init; }

    /// <summary>True for a background response, whose events the store keeps.</summary>
    public bool Background { get; init; }

    /// <summary>The response object as <c>GET /v1/responses/{id}</c> returns it (UTF-8 JSON).</summary>
    public required ReadOnlyMemory<byte> Json { get; init; }

    /// <summary>
    /// The conversation a later response continues with <c>previous_response_id</c>: this response's input items, its
    /// predecessors' included, and its output items (UTF-8 JSON array). Empty while the response is not finished.
    /// </summary>
    public ReadOnlyMemory<byte> Conversation { get; init; }

    /// <summary>True once the status is final: completed, incomplete, failed or cancelled.</summary>
    public bool IsFinished => Status is not (ResponseStatus.Queued or ResponseStatus.InProgress);

    /// <summary>The bytes this response holds, as stores count them against their bounds.</summary>
    public long Size => Json.Length + Conversation.Length + (2 * Id.Length);

    /// <summary>
    /// This response marked <c>failed</c> with an <c>error</c>: what a store saves for a response whose producer it
    /// lost (a lease that expired, a writer disposed without completing).
    /// </summary>
    /// <param name="code">The error's <c>code</c>, e.g. <c>server_error</c>.</param>
    /// <param name="message">The error's <c>message</c>.</param>
    /// <returns>A new <see cref="StoredResponse"/>.</returns>
    public StoredResponse ToFailed(string code, string message)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(message);
        var node = JsonNode.Parse(Json.Span) as JsonObject ?? [];
        node["status"] = "failed";
        node["error"] = new JsonObject { ["code"] = code, ["message"] = message };
        var buffer = new ArrayBufferWriter<byte>(Json.Length + 128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            node.WriteTo(writer);
        }

        return new StoredResponse
        {
            Id = Id,
            Status = ResponseStatus.Failed,
            Background = Background,
            Json = buffer.WrittenMemory,
            Conversation = Conversation,
        };
    }
}
