using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.AspNetCore.Streaming;

/// <summary>
/// Turns one completion's output into a wire format's bytes: what differs between Chat Completions chunks, text
/// completions, and later Responses events or WebSocket frames. The lifecycle decides when to write, flush and end;
/// the encoder decides what the bytes are.
/// </summary>
internal interface ICompletionEncoder
{
    /// <summary>True once <see cref="StartStream"/> has run: failures from now on are written as events.</summary>
    bool HasStarted { get; }

    /// <summary>Events written since the last flush.</summary>
    int UnflushedEvents { get; }

    /// <summary>Bytes written since the last flush.</summary>
    long UnflushedBytes { get; }

    /// <summary>Starts a streamed response: its headers and opening events, not yet flushed.</summary>
    void StartStream(HttpResponse response);

    /// <summary>Writes what the delta just folded into <paramref name="state"/> added.</summary>
    /// <param name="state">The completion so far; its pending text is the delta's text.</param>
    /// <param name="toolCalls">How many tool calls the delta carried: the last entries of <see cref="CompletionState.ToolCalls"/>.</param>
    /// <returns>True when content was written: the user sees it when the next flush completes.</returns>
    bool WriteDelta(CompletionState state, int toolCalls);

    /// <summary>Writes a keep-alive that clients ignore and proxies see as traffic.</summary>
    void WriteHeartbeat();

    /// <summary>Writes the events that end a complete stream.</summary>
    void WriteEnd(string finishReason, TokenUsage usage);

    /// <summary>Writes the event that tells a streaming client the answer failed.</summary>
    void WriteError(CompletionEnd end);

    /// <summary>Flushes what was written.</summary>
    ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken);

    /// <summary>Writes a whole (non-streaming) answer.</summary>
    Task WriteWholeAsync(HttpResponse response, CompletionState state, TokenUsage usage, CancellationToken cancellationToken);

    /// <summary>Writes a failure as the whole response, with its status, before anything else was written.</summary>
    Task WriteFailureAsync(HttpResponse response, CompletionEnd end);
}
