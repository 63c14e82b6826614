using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace OpenAiStreaming.ResponseStoreBenchmark;

/// <summary>The endpoints on Kestrel (loopback, a free port) with the synthetic model and one of the two stores.</summary>
internal sealed class StoreServer : IAsyncDisposable
{
    public const string Model = "synthetic";

    private readonly WebApplication _app;

    private StoreServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Starts a server; <paramref name="redis"/> null means the in-memory store.</summary>
    public static async Task<StoreServer> StartAsync(TimeSpan interval, string? redis, string keyPrefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var streaming = builder.Services.AddOpenAiStreaming().AddChatModel(Model, _ => new PacedChatClient(interval));
        if (redis is not null)
        {
            streaming.AddRedisResponseStore(redis, o => o.KeyPrefix = keyPrefix);
        }

        var app = builder.Build();
        app.MapOpenAiStreaming();
        await app.StartAsync().ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StoreServer(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
