using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore.Responses;
using OpenAiStreaming.Redis;

namespace OpenAiStreaming.Redis.Tests.Infrastructure;

/// <summary>
/// What one replica has of the store: its own container and its own Redis connection, registered as an app registers it
/// (<c>AddOpenAiStreaming().AddRedisResponseStore(...)</c>).
/// </summary>
public sealed class StoreReplica : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public StoreReplica(string configuration, Action<RedisResponseStoreOptions>? configure = null)
    {
        // As in an app: configuration (empty here) to bind options from, and logging.
        var services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddOpenAiStreaming().AddRedisResponseStore(configuration, o =>
        {
            o.KeyPrefix = "test:";
            configure?.Invoke(o);
        });
        _services = services.BuildServiceProvider();
        Store = _services.GetRequiredService<IResponseStore>();
    }

    public IResponseStore Store { get; }

    /// <summary>Stops this replica's store without ending anything it produces: its leases stop being renewed, as after SIGKILL.</summary>
    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
