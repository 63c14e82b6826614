using System.Diagnostics;

[assembly: AssemblyFixture(typeof(OpenAiStreaming.Pump.Tests.ThrowingTraceListener))]

namespace OpenAiStreaming.Pump.Tests;

/// <summary>
/// Turns a failed <see cref="Debug.Assert(bool)"/> (the pump's invariants, in debug builds) into an exception where it
/// fails, so that the test doing it fails, instead of the default fail-fast that takes the whole test process down.
/// Installed for the assembly, before any test runs.
/// </summary>
public sealed class ThrowingTraceListener : TraceListener
{
    public ThrowingTraceListener()
    {
        Trace.Listeners.Clear();
        Trace.Listeners.Add(this);
    }

    public override void Fail(string? message, string? detailMessage) => throw new DebugAssertException(message);

    public override void Write(string? message)
    {
    }

    public override void WriteLine(string? message)
    {
    }
}
