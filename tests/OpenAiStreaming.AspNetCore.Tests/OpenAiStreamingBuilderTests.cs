using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAiStreaming.AspNetCore.Tests.Streaming.Fakes;

namespace OpenAiStreaming.AspNetCore.Tests;

public sealed class OpenAiStreamingBuilderTests
{
    [Fact]
    public void AddChatModel_Factory_KeyedServiceIsTheClient_RegistryServesIt()
    {
        var model = new DelegateChatClient(_ => throw new NotSupportedException());
        var services = new ServiceCollection();
        services.AddOpenAiStreaming().AddChatModel("alpha", _ => model).AddChatModel("beta", _ => new DelegateChatClient(_ => throw new NotSupportedException()));
        using var provider = services.BuildServiceProvider();

        Assert.Same(model, provider.GetRequiredKeyedService<IChatClient>("alpha"));
        var registry = provider.GetRequiredService<ChatModelRegistry>();
        Assert.Equal(["alpha", "beta"], registry.Ids);
        Assert.True(registry.TryGet("alpha", out var served));
        Assert.Same(model, served);
        Assert.False(registry.TryGet("gamma", out _));
    }

    [Fact]
    public void AddChatModel_Pipeline_EndpointsGetTheOutermostClient_InnerStillFound()
    {
        var model = new DelegateChatClient(_ => throw new NotSupportedException());
        IChatClient? wrapper = null;
        var services = new ServiceCollection();
        services.AddOpenAiStreaming().AddChatModel("alpha", _ => model, pipeline => pipeline.Use(inner => wrapper = new ConfigureOptionsChatClient(inner, _ => { })));
        using var provider = services.BuildServiceProvider();

        Assert.True(provider.GetRequiredService<ChatModelRegistry>().TryGet("alpha", out var served));
        Assert.NotNull(wrapper);
        Assert.Same(wrapper, served);
        Assert.Same(wrapper, provider.GetRequiredKeyedService<IChatClient>("alpha"));
        Assert.IsType<ConfigureOptionsChatClient>(served);
    }

    [Fact]
    public void AddChatModel_OpenTelemetryAndLogging_ComposedInOrderAroundTheModel()
    {
        var model = new DelegateChatClient(_ => throw new NotSupportedException());
        var services = new ServiceCollection().AddLogging();
        services.AddOpenAiStreaming().AddChatModel("alpha", _ => model, pipeline => pipeline.UseOpenTelemetry(sourceName: "Tests").UseLogging());
        using var provider = services.BuildServiceProvider();

        Assert.True(provider.GetRequiredService<ChatModelRegistry>().TryGet("alpha", out var served));
        Assert.IsType<OpenTelemetryChatClient>(served);
        Assert.NotNull(served.GetService<LoggingChatClient>());
        Assert.Same(model, served.GetService<DelegateChatClient>());
    }

    [Fact]
    public void AddChatModel_DuplicateId_Throws()
    {
        var builder = new ServiceCollection().AddOpenAiStreaming().AddChatModel("m", _ => null!);

        Assert.Throws<ArgumentException>(() => builder.AddChatModel("m", _ => null!, _ => { }));
    }
}
