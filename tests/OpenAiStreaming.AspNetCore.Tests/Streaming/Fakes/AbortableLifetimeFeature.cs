using Microsoft.AspNetCore.Http.Features;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>The connection as Kestrel's: <see cref="RequestAborted"/> fires when the client leaves or the server aborts.</summary>
public sealed class AbortableLifetimeFeature : IHttpRequestLifetimeFeature, IDisposable
{
    private readonly CancellationTokenSource _aborted = new();

    public CancellationToken RequestAborted
    {
        get => _aborted.Token;
        set => throw new NotSupportedException();
    }

    /// <summary>True once the server aborted the connection (rather than the client leaving).</summary>
    public bool AbortedByServer { get; private set; }

    public void Abort()
    {
        AbortedByServer = true;
        _aborted.Cancel();
    }

    /// <summary>The client closes the connection.</summary>
    public void ClientLeaves() => _aborted.Cancel();

    public void Dispose() => _aborted.Dispose();
}
