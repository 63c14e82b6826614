using AotChatServer;

// The smallest host: the slim builder (no reflection-based configuration binding), one model, the endpoints.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Services.AddOpenAiStreaming()
    .AddChatModel(EchoChatClient.ModelId, _ => new EchoChatClient());

var app = builder.Build();
app.MapOpenAiStreaming();
app.MapGet("/health", () => "ok");
await app.RunAsync();
