namespace ChatServer;

/// <summary>
/// The sample's web chat page at <c>GET /</c>: one HTML file with its script and styles inline, embedded in the
/// assembly so it is served the same from <c>dotnet run</c>, a publish folder, or a test that hosts the app in-process.
/// </summary>
public static class ChatPage
{
    /// <summary>The page's resource name in this assembly.</summary>
    public const string ResourceName = "ChatServer/Page/index.html";

    private static readonly Lazy<byte[]> Html = new(Load);

    /// <summary>Maps <c>GET /</c> to the chat page.</summary>
    /// <param name="endpoints">The route builder.</param>
    /// <returns>The endpoint's builder.</returns>
    public static IEndpointConventionBuilder MapChatPage(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Bytes(Html.Value, "text/html; charset=utf-8");
        });
    }

    private static byte[] Load()
    {
        using var stream = typeof(ChatPage).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The chat page is missing: no embedded resource '{ResourceName}'.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
