using Microsoft.AspNetCore.Http;

namespace OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

/// <summary>One request being served: its context, the body the client receives, its connection, its completion.</summary>
public sealed class RunningRequest(HttpContext context, PipeResponseBodyFeature body, AbortableLifetimeFeature connection, Task completion)
{
    public HttpContext Context { get; } = context;

    public PipeResponseBodyFeature Body { get; } = body;

    public AbortableLifetimeFeature Connection { get; } = connection;

    /// <summary>Waits for the lifecycle to return, then for everything it wrote.</summary>
    public async Task<string> EndAsync()
    {
        await completion.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return await Body.CompleteAndReadAllAsync();
    }
}
