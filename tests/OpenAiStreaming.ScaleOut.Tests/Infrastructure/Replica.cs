using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace OpenAiStreaming.ScaleOut.Tests.Infrastructure;

/// <summary>
/// One in-process replica on a loopback port: model <c>test-model</c> is a <see cref="HeldChatClient"/> that answers with
/// the replica's name, one stream at a time (<c>MaxConcurrentStreams</c> 1, no queue), readiness at <c>/health/ready</c>.
/// </summary>
public sealed class Replica : IAsyncDisposable
{
    private Replica(TestApp app, HeldChatClient model)
    {
        App = app;
        Model = model;
    }

    public TestApp App { get; }

    public HeldChatClient Model { get; }

    public int Port => App.BaseAddress.Port;

    public static async Task<Replica> StartAsync(string name, bool hold)
    {
        var model = new HeldChatClient(name, hold);
        var app = await TestApp.StartAsync(
            builder =>
            {
                builder.Services.AddOpenAiStreaming(o =>
                {
                    o.MaxConcurrentStreams = 1;
                    o.MaxQueuedStreams = 0;
                }).AddChatModel("test-model", _ => model);
                builder.Services.AddHealthChecks().AddOpenAiStreamingReadiness();
            },
            app =>
            {
                app.MapOpenAiStreaming();
                app.MapHealthChecks("/health/ready");
            });
        return new Replica(app, model);
    }

    /// <summary>Starts three replicas, r1..r3; <paramref name="hold"/> says which of them hold their streams open.</summary>
    public static async Task<Replica[]> StartThreeAsync(params bool[] hold) =>
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => StartAsync($"r{i + 1}", hold[i])));

    /// <summary>Opens a stream straight to this replica (not through a proxy) and waits for its first token.</summary>
    /// <returns>The open response; dispose it to leave.</returns>
    public async Task<HttpResponseMessage> FillAsync()
    {
        var response = await App.Client.SendAsync(Sse.ChatRequest(Sse.ChatBody()), HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        await Sse.ReadUntilAsync(response, $"\"content\":\"{Model.Name}");
        return response;
    }

    public async ValueTask DisposeAsync()
    {
        Model.Release();
        await App.DisposeAsync();
    }
}
