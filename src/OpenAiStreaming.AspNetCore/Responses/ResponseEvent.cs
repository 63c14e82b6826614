using System.Buffers;
using System.Text.Json;

namespace OpenAiStreaming.AspNetCore.Responses;

/// <summary>
/// One event of a streamed response: its sequence number (also its SSE <c>id:</c>), its type (its SSE <c>event:</c>),
/// and the event object as UTF-8 JSON, <c>sequence_number</c> and <c>type</c> included.
/// </summary>
/// <param name="SequenceNumber">The event's place in its response, from 0.</param>
/// <param name="Type">The event's type, e.g. <c>response.output_text.delta</c>.</param>
/// <param name="Data">The event object (UTF-8 JSON).</param>
public readonly record struct ResponseEvent(long SequenceNumber, string Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>The type of the event that ends a failed response.</summary>
    public const string FailedType = "response.failed";

    /// <summary>
    /// The <c>response.failed</c> event that ends <paramref name="failed"/>: what a store appends for a response whose
    /// producer it lost (see <see cref="StoredResponse.ToFailed"/>).
    /// </summary>
    /// <param name="failed">The response, marked failed.</param>
    /// <param name="sequenceNumber">The next sequence number of the response's events.</param>
    /// <returns>The event.</returns>
    public static ResponseEvent CreateFailed(StoredResponse failed, long sequenceNumber)
    {
        ArgumentNullException.ThrowIfNull(failed);
        var buffer = new ArrayBufferWriter<byte>(failed.Json.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type"u8, FailedType);
            writer.WriteNumber("sequence_number"u8, sequenceNumber);
            writer.WritePropertyName("response"u8);
            writer.WriteRawValue(failed.Json.Span, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return new ResponseEvent(sequenceNumber, FailedType, buffer.WrittenMemory);
    }
}
