using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenAiStreaming.AspNetCore;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests;

public sealed class HostingTests
{
    [Fact]
    public async Task AddOpenAiStreaming_BindsConfigurationSection()
    {
        await using var app = await TestApp.StartAsync(
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["OpenAiStreaming:HeartbeatInterval"] = "00:00:05",
                    ["OpenAiStreaming:ApiKeys:0"] = "k1",
                    ["OpenAiStreaming:ApiKeys:1"] = "k2",
                    ["OpenAiStreaming:MaxRequestBodySize"] = "1024",
                });
                builder.Services.AddOpenAiStreaming();
            },
            app => app.MapOpenAiStreaming());

        var options = app.App.Services.GetRequiredService<IOptions<OpenAiStreamingOptions>>().Value;

        Assert.Equal(TimeSpan.FromSeconds(5), options.HeartbeatInterval);
        Assert.Equal(["k1", "k2"], options.ApiKeys);
        Assert.Equal(1024, options.MaxRequestBodySize);
    }

    [Fact]
    public async Task AddOpenAiStreaming_InvalidOptions_FailAtStart()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenAiStreaming(o => o.HeartbeatInterval = TimeSpan.FromSeconds(-1));
        await using var app = builder.Build();
        app.MapOpenAiStreaming();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("HeartbeatInterval", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddOpenAiStreaming_NoQueuedDeltas_FailsAtStart()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenAiStreaming(o => o.MaxQueuedDeltas = 0);
        await using var app = builder.Build();
        app.MapOpenAiStreaming();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains("MaxQueuedDeltas must be positive", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapOpenAiStreaming_WithoutAddOpenAiStreaming_Throws()
    {
        await using var app = WebApplication.CreateSlimBuilder().Build();

        var failure = Assert.Throws<InvalidOperationException>(() => app.MapOpenAiStreaming());

        Assert.Contains("AddOpenAiStreaming", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddChatModel_DuplicateId_Throws()
    {
        var builder = new ServiceCollection().AddOpenAiStreaming().AddChatModel("m", _ => null!);

        Assert.Throws<ArgumentException>(() => builder.AddChatModel("m", _ => null!));
    }

    [Fact]
    public async Task MapOpenAiStreaming_CustomPrefixAndConventions_Compose()
    {
        await using var app = await TestApp.StartAsync(
            builder => builder.Services.AddOpenAiStreaming().AddChatModel("m", _ => new ScriptedChatClient([], TimeSpan.Zero)),
            app => app.MapOpenAiStreaming("/api/openai").AddEndpointFilter((context, next) => next(context)).WithMetadata("marker"));

        using var response = await app.Client.GetAsync("api/openai/models", TestContext.Current.CancellationToken);
        using var old = await app.Client.GetAsync("v1/models", TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, old.StatusCode);
    }
}
