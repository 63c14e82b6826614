namespace OpenAiStreaming.Pump.Tests;

/// <summary>A <see cref="System.Diagnostics.Debug.Assert(bool)"/> failed: see <see cref="ThrowingTraceListener"/>.</summary>
internal sealed class DebugAssertException(string? message) : Exception(message);
