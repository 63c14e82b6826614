using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAiStreaming.AspNetCore;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>A real Kestrel on 127.0.0.1 with a free port, started for one test and stopped with it.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Client = CreateClient(baseAddress);
    }

    public WebApplication App { get; }

    /// <summary>
    /// A client that leaves like a browser tab: disposing an unfinished response closes the connection at once.
    /// (By default HttpClient first drains up to 1 MB for 2 seconds to reuse the connection, which hides how fast the
    /// server reacts to a disconnect.)
    /// </summary>
    public static HttpClient CreateClient(Uri baseAddress, int maxConnections = int.MaxValue) =>
        new(new SocketsHttpHandler { MaxResponseDrainSize = 0, MaxConnectionsPerServer = maxConnections })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>Starts an app that serves <paramref name="client"/> as model <c>test-model</c>.</summary>
    public static Task<TestApp> StartAsync(IChatClient client, Action<OpenAiStreamingOptions>? configure = null) =>
        StartAsync(
            builder => builder.Services.AddOpenAiStreaming(configure).AddChatModel("test-model", _ => client),
            app => app.MapOpenAiStreaming());

    public static async Task<TestApp> StartAsync(Action<WebApplicationBuilder> configureBuilder, Action<WebApplication> configureApp)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        configureBuilder(builder);
        var app = builder.Build();
        configureApp(app);
        return await StartAsync(app);
    }

    public static async Task<TestApp> StartAsync(WebApplication app)
    {
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new TestApp(app, new Uri(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal) + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
