using System.Text;
using System.Text.Json;

namespace OpenAiStreaming.LoadGenerator.Sse;

/// <summary>
/// Reads one OpenAI streaming event's JSON with <see cref="Utf8JsonReader"/>, looking only at what the benchmark needs:
/// whether <c>choices[0].delta.content</c> (or a completion's <c>choices[0].text</c>) is non-empty,
/// <c>usage.completion_tokens</c>, and an <c>error</c> object. Allocates nothing unless the event is an error.
/// </summary>
public static class ChunkClassifier
{
    /// <summary>What one event says, as an item parser of <see cref="System.Net.ServerSentEvents.SseParser"/>.</summary>
    /// <param name="eventType">The event's type (OpenAI servers send none, so <c>message</c>); not looked at.</param>
    /// <param name="data">The event's data.</param>
    /// <returns>The event's batch of one.</returns>
    public static SseBatch Parse(string eventType, ReadOnlySpan<byte> data)
    {
        var batch = SseBatch.Empty;
        Classify(data, ref batch);
        return batch;
    }

    /// <summary>Adds what the data payload of one event says to <paramref name="batch"/>.</summary>
    /// <param name="data">The event's data: a JSON object or <c>[DONE]</c>.</param>
    /// <param name="batch">The batch to update.</param>
    public static void Classify(ReadOnlySpan<byte> data, ref SseBatch batch)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            batch.Done = true;
            return;
        }

        try
        {
            ClassifyJson(data, ref batch);
        }
        catch (JsonException e)
        {
            batch.Error ??= $"malformed event ({e.Message}): {Preview(data)}";
        }
    }

    private static void ClassifyJson(ReadOnlySpan<byte> data, ref SseBatch batch)
    {
        var reader = new Utf8JsonReader(data, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            batch.Error ??= "event data is not a JSON object: " + Preview(data);
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                if (ReadFirstChoiceHasContent(ref reader))
                {
                    batch.ContentEvents++;
                }
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                int tokens = ReadCompletionTokens(ref reader);
                if (tokens >= 0)
                {
                    batch.CompletionTokens = tokens;
                }
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                batch.Error ??= ReadErrorMessage(ref reader, data);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>Reads the <c>choices</c> value (the reader is on its first token) to its end.</summary>
    private static bool ReadFirstChoiceHasContent(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return false;
        }

        bool content = false;
        bool first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (first && reader.TokenType == JsonTokenType.StartObject)
            {
                content = ReadChoiceHasContent(ref reader);
            }
            else
            {
                reader.Skip();
            }

            first = false;
        }

        return content;
    }

    /// <summary>Reads one choice object (the reader is on its start) to its end.</summary>
    private static bool ReadChoiceHasContent(ref Utf8JsonReader reader)
    {
        bool content = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isContent = reader.ValueTextEquals("content"u8);
                    reader.Read();
                    if (isContent && reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0)
                    {
                        content = true;
                    }

                    reader.Skip();
                }
            }
            else
            {
                bool isText = reader.ValueTextEquals("text"u8);
                reader.Read();
                if (isText && reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0)
                {
                    content = true;
                }

                reader.Skip();
            }
        }

        return content;
    }

    private static int ReadCompletionTokens(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return -1;
        }

        int tokens = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isCompletion = reader.ValueTextEquals("completion_tokens"u8);
            reader.Read();
            if (isCompletion && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value))
            {
                tokens = value;
            }

            reader.Skip();
        }

        return tokens;
    }

    private static string ReadErrorMessage(ref Utf8JsonReader reader, ReadOnlySpan<byte> data)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() ?? "error event";
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return "error event: " + Preview(data);
        }

        string? message = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isMessage = reader.ValueTextEquals("message"u8);
            reader.Read();
            if (isMessage && reader.TokenType == JsonTokenType.String)
            {
                message = reader.GetString();
            }

            reader.Skip();
        }

        return "error event: " + (message ?? Preview(data));
    }

    private static string Preview(ReadOnlySpan<byte> data) =>
        Encoding.UTF8.GetString(data.Length > 200 ? data[..200] : data);
}
