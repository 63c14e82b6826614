namespace OpenAiStreaming.Testing.EventStreams;

/// <summary>One event as the client saw it, with the time it arrived.</summary>
/// <param name="Data">The event's data (its <c>data:</c> lines joined).</param>
/// <param name="At">When the blank line that ends it arrived, from the capture's origin.</param>
public sealed record ReceivedEvent(string Data, TimeSpan At);
