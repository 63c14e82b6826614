using Peers;

await using var app = PeerApp.Create(args);
await app.StartAsync();
Console.WriteLine($"Peer '{app.Services.GetRequiredService<PeerOptions>().Impl}' listening on {string.Join(", ", app.Urls)}");
await app.WaitForShutdownAsync();
