namespace OpenAiStreaming.Testing.Processes;

/// <summary>One line a client process wrote to stdout, with when it arrived.</summary>
/// <param name="Text">The line, without its line break.</param>
/// <param name="At">When it arrived, from the process's start.</param>
public sealed record TimedLine(string Text, TimeSpan At);
