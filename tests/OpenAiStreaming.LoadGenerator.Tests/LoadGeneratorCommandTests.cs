using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Running;
using OpenAiStreaming.LoadGenerator.Tests.Infrastructure;

namespace OpenAiStreaming.LoadGenerator.Tests;

public sealed class LoadGeneratorCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunAsync_AgainstAServer_TableOnOutputJsonToFile()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Tokens = 4 });
        var file = new FileInfo(Path.Combine(Path.GetTempPath(), $"loadgen-{Guid.NewGuid():N}.json"));
        using var output = new StringWriter();
        using var error = new StringWriter();
        try
        {
            int exit = await LoadGeneratorCommand.RunAsync(
                new LoadOptions { BaseUrl = new Uri(server.BaseAddress, "v1"), Concurrency = 2, Requests = 4, Label = "scripted" },
                file, progress: false, quiet: false, output, error, Ct);

            Assert.Equal(0, exit);
            Assert.Contains("scripted: scripted-model", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("model: scripted-model", error.ToString(), StringComparison.Ordinal);
            using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(file.FullName, Ct));
            Assert.Equal("scripted", json.RootElement.GetProperty("label").GetString());
            Assert.Equal(16, json.RootElement.GetProperty("events").GetInt32());
        }
        finally
        {
            file.Delete();
        }
    }

    [Fact]
    public async Task RunAsync_FailingRequests_ExitCodeOne()
    {
        await using var server = await ScriptedServer.StartAsync(new Script { Status = 429 });
        using var output = new StringWriter();
        using var error = new StringWriter();

        int exit = await LoadGeneratorCommand.RunAsync(
            new LoadOptions { BaseUrl = server.BaseAddress, Model = "x", Requests = 2 }, null, progress: false, quiet: true, output, error, Ct);

        Assert.Equal(1, exit);
        Assert.Equal(string.Empty, output.ToString());
        Assert.Contains("2 of 2 requests failed; first: HTTP 429", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InvalidOptions_UsageError()
    {
        using var error = new StringWriter();

        int exit = await LoadGeneratorCommand.RunAsync(new LoadOptions { Concurrency = 0 }, null, false, false, TextWriter.Null, error, Ct);

        Assert.Equal(LoadGeneratorCommand.UsageError, exit);
        Assert.Contains("--concurrency", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NoModelListed_UsageErrorNamingTheAddress()
    {
        using var error = new StringWriter();

        int exit = await LoadGeneratorCommand.RunAsync(new LoadOptions { BaseUrl = new Uri("http://127.0.0.1:1/v1") }, null, false, false, TextWriter.Null, error, Ct);

        Assert.Equal(LoadGeneratorCommand.UsageError, exit);
        Assert.Contains("GET http://127.0.0.1:1/v1/models", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--base-url", "ftp://x" }, 1)]
    [InlineData(new[] { "-c", "two" }, 1)]
    [InlineData(new[] { "-c", "16", "-n", "64", "--duration", "5", "--abort-after-events", "3", "--extra-body", "{}", "--no-usage", "--quiet" }, 0)]
    public void Create_Parse_ErrorsOnlyForBadValues(string[] args, int errors)
    {
        Assert.Equal(errors, LoadGeneratorCommand.Create().Parse(args).Errors.Count);
    }
}
