using ChatServer.Model;

namespace ChatServer;

/// <summary>
/// Composes the sample: a tiny character-level model trained at start-up on this repository's docs, served through
/// the OpenAI-compatible endpoints of OpenAiStreaming.
/// </summary>
public static class ChatServerApp
{
    /// <summary>The address used when none is configured: vLLM's port, so the usual curl lines work.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    /// <summary>Builds the app. Settings come from the usual places: <c>--urls</c>, <c>ASPNETCORE_URLS</c>,
    /// <c>Kestrel:Endpoints</c>, and <c>--TinyModel:TokenDelay=00:00:00.050</c> for the model's pace.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>The app, not yet started.</returns>
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        var modelOptions = new TinyModelOptions
        {
            TokenDelay = builder.Configuration.GetValue("TinyModel:TokenDelay", TimeSpan.FromMilliseconds(20)),
            DefaultMaxTokens = builder.Configuration.GetValue("TinyModel:DefaultMaxTokens", 256),
        };

        builder.Services.AddSingleton(_ => CharLanguageModel.Train(TrainingText.Load()));
        builder.Services.AddOpenAiStreaming()
            .AddChatModel(modelOptions.ModelId, sp => new TinyChatClient(sp.GetRequiredService<CharLanguageModel>(), modelOptions));

        var app = builder.Build();
        app.UseSseAntiBuffering();
        app.MapOpenAiStreaming();
        return app;
    }
}
