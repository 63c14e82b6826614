using Microsoft.Extensions.Hosting;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>A host whose stopping a test triggers.</summary>
public sealed class TestHostLifetime : IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();
}
