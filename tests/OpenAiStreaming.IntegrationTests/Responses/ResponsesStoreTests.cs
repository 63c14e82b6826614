using System.Net;
using Microsoft.Extensions.AI;
using OpenAiStreaming.IntegrationTests.Infrastructure;

namespace OpenAiStreaming.IntegrationTests.Responses;

/// <summary>Stored responses: <c>GET</c>, <c>DELETE</c>, <c>store: false</c>, and <c>previous_response_id</c>.</summary>
public sealed class ResponsesStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stored_GetReturnsIt_DeleteForgetsIt()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["Hi"], TimeSpan.Zero));
        using var created = await app.Client.SendAsync(ResponseStream.Create(ResponseStream.Body(stream: false)), Ct);
        string id = (await ResponseStream.JsonAsync(created)).GetProperty("id").GetString()!;

        using var got = await app.Client.GetAsync($"v1/responses/{id}", Ct);
        var body = await ResponseStream.JsonAsync(got);
        using var deleted = await app.Client.DeleteAsync($"v1/responses/{id}", Ct);
        var deletedBody = await ResponseStream.JsonAsync(deleted);
        using var gone = await app.Client.GetAsync($"v1/responses/{id}", Ct);
        using var deletedAgain = await app.Client.DeleteAsync($"v1/responses/{id}", Ct);

        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("Hi", body.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("response.deleted", deletedBody.GetProperty("object").GetString());
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("response_not_found", (await ResponseStream.JsonAsync(gone)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
    }

    [Fact]
    public async Task StreamedAndStored_GetAfterStreamReturnsCompletedResponse()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["a", "b"], TimeSpan.Zero));
        var (_, events, _) = await ResponseStream.ReadAllAsync(app.Client, ResponseStream.Create(ResponseStream.Body()));
        string id = events[0].Data.GetProperty("response").GetProperty("id").GetString()!;

        using var got = await app.Client.GetAsync($"v1/responses/{id}", Ct);

        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal("completed", (await ResponseStream.JsonAsync(got)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task StoreFalse_NotRetrievable()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["Hi"], TimeSpan.Zero));
        using var created = await app.Client.SendAsync(ResponseStream.Create(ResponseStream.Body(stream: false, extra: ",\"store\":false")), Ct);
        var body = await ResponseStream.JsonAsync(created);

        using var got = await app.Client.GetAsync($"v1/responses/{body.GetProperty("id").GetString()}", Ct);

        Assert.False(body.GetProperty("store").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, got.StatusCode);
    }

    [Fact]
    public async Task PreviousResponseId_ModelSeesWholeConversationInOrder()
    {
        var backend = new ScriptedChatClient(["answer"], TimeSpan.Zero);
        await using var app = await TestApp.StartAsync(backend);
        using var first = await app.Client.SendAsync(ResponseStream.Create(
            """{"model":"test-model","input":"first question","instructions":"only for the first"}"""), Ct);
        string firstId = (await ResponseStream.JsonAsync(first)).GetProperty("id").GetString()!;
        using var second = await app.Client.SendAsync(ResponseStream.Create(
            $$"""{"model":"test-model","input":"second question","previous_response_id":"{{firstId}}"}"""), Ct);
        string secondId = (await ResponseStream.JsonAsync(second)).GetProperty("id").GetString()!;

        using var third = await app.Client.SendAsync(ResponseStream.Create(
            $$"""{"model":"test-model","input":[{"role":"user","content":"third question"}],"previous_response_id":"{{secondId}}","instructions":"be brief"}"""), Ct);
        var thirdBody = await ResponseStream.JsonAsync(third);

        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(secondId, thirdBody.GetProperty("previous_response_id").GetString());
        var messages = backend.LastMessages!;
        Assert.Equal(
            [(ChatRole.System, "be brief"), (ChatRole.User, "first question"), (ChatRole.Assistant, "answer"), (ChatRole.User, "second question"),
             (ChatRole.Assistant, "answer"), (ChatRole.User, "third question")],
            messages.Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public async Task PreviousResponseId_Unknown_404WithParam()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["x"], TimeSpan.Zero));

        using var response = await app.Client.SendAsync(ResponseStream.Create("""{"model":"test-model","input":"hi","previous_response_id":"resp_missing"}"""), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("previous_response_id", (await ResponseStream.JsonAsync(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task WrongMethod_405InOpenAiShape()
    {
        await using var app = await TestApp.StartAsync(new ScriptedChatClient(["x"], TimeSpan.Zero));

        using var response = await app.Client.PutAsync("v1/responses/resp_x", null, Ct);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("method_not_allowed", (await ResponseStream.JsonAsync(response)).GetProperty("error").GetProperty("code").GetString());
    }
}
