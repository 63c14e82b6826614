using ChatServer;

var app = ChatServerApp.Create(args);

// Train before the first request, so the first answer does not pay for it.
app.Services.GetRequiredService<ChatServer.Model.CharLanguageModel>();
await app.RunAsync();
