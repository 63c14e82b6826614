using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAiStreaming.AspNetCore;

namespace OpenAiStreaming.Testing.Hosting;

/// <summary>A real Kestrel on 127.0.0.1 with a free port, started for one test and stopped with it.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Client = CreateClient(baseAddress);
    }

    /// <summary>The running app.</summary>
    public WebApplication App { get; }

    /// <summary>Where the app listens, ending in a slash.</summary>
    public Uri BaseAddress { get; }

    /// <summary>A client of <see cref="BaseAddress"/> made by <see cref="CreateClient"/>, disposed with the app.</summary>
    public HttpClient Client { get; }

    /// <summary>
    /// A client that leaves like a browser tab: disposing an unfinished response closes the connection at once.
    /// (By default HttpClient first drains up to 1 MB for 2 seconds to reuse the connection, which hides how fast the
    /// server reacts to a disconnect.)
    /// </summary>
    /// <param name="baseAddress">The client's base address.</param>
    /// <param name="maxConnections">Connections per server the client may open.</param>
    /// <returns>The client; the caller disposes it.</returns>
    public static HttpClient CreateClient(Uri baseAddress, int maxConnections = int.MaxValue) =>
        new(new SocketsHttpHandler { MaxResponseDrainSize = 0, MaxConnectionsPerServer = maxConnections })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>Starts an app that serves <paramref name="client"/> as model <c>test-model</c>.</summary>
    /// <param name="client">The model.</param>
    /// <param name="configure">Options of <c>AddOpenAiStreaming</c>.</param>
    /// <returns>The started app.</returns>
    public static Task<TestApp> StartAsync(IChatClient client, Action<OpenAiStreamingOptions>? configure = null) =>
        StartAsync(
            builder => builder.Services.AddOpenAiStreaming(configure).AddChatModel("test-model", _ => client),
            app => app.MapOpenAiStreaming());

    /// <summary>Builds a slim app on http://127.0.0.1:0 without logging providers, configured by the caller, and starts it.</summary>
    /// <param name="configureBuilder">Services and Kestrel settings.</param>
    /// <param name="configureApp">Middleware and endpoints.</param>
    /// <returns>The started app.</returns>
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

    /// <summary>Starts an app built elsewhere (the sample server, a peer) that listens on a loopback port 0.</summary>
    /// <param name="app">The app; disposed with the returned <see cref="TestApp"/>.</param>
    /// <returns>The started app.</returns>
    public static async Task<TestApp> StartAsync(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new TestApp(app, new Uri(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal) + "/"));
    }

    /// <summary>Stops the app and disposes it and <see cref="Client"/>.</summary>
    /// <returns>A task that completes when the app has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
