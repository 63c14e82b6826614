using System.Text;
using System.Text.Json;
using OpenAiStreaming.LoadGenerator.Running;

namespace OpenAiStreaming.LoadGenerator.Tests.Running;

public sealed class LoadOptionsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8000", "http://127.0.0.1:8000/")]
    [InlineData("http://127.0.0.1:8000/", "http://127.0.0.1:8000/")]
    [InlineData("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/")]
    [InlineData("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/")]
    [InlineData("https://gpu-box/api/v1", "https://gpu-box/api/")]
    [InlineData("localhost:9000", "http://localhost:9000/")]
    public void Root_WithOrWithoutV1_ServerRoot(string baseUrl, string root)
    {
        var options = new LoadOptions { BaseUrl = LoadOptions.ParseBaseUrl(baseUrl)! };

        Assert.Equal(new Uri(root), options.Root);
        Assert.Equal(new Uri(new Uri(root).GetLeftPart(UriPartial.Authority) + "/"), options.Origin);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://host/")]
    [InlineData("http://")]
    public void ParseBaseUrl_NotAnHttpAddress_Null(string text)
    {
        Assert.Null(LoadOptions.ParseBaseUrl(text));
    }

    [Fact]
    public void RequestLimit_Defaults_ConcurrencyOrNoneWithDuration()
    {
        Assert.Equal(8, new LoadOptions { Concurrency = 8 }.RequestLimit);
        Assert.Equal(3, new LoadOptions { Concurrency = 8, Requests = 3 }.RequestLimit);
        Assert.Null(new LoadOptions { Concurrency = 8, Duration = TimeSpan.FromSeconds(1) }.RequestLimit);
    }

    [Fact]
    public void Validate_BadValues_OneProblemEach()
    {
        var options = new LoadOptions { Concurrency = 0, Requests = 0, MaxTokens = 0, AbortAfterEvents = 0, ExtraBody = "[1]" };

        var problems = options.Validate();

        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.Contains("--extra-body", StringComparison.Ordinal));
        Assert.Empty(new LoadOptions().Validate());
    }

    [Fact]
    public void BuildRequestBody_ExtraBody_MergedOverTheProtocolBody()
    {
        var options = new LoadOptions { MaxTokens = 7, Prompt = "p", ExtraBody = """{"max_tokens":9,"ignore_eos":true,"stream_options":{"include_usage":false}}""" };

        using var body = JsonDocument.Parse(options.BuildRequestBody("m"));

        var root = body.RootElement;
        Assert.Equal("m", root.GetProperty("model").GetString());
        Assert.Equal(9, root.GetProperty("max_tokens").GetInt32());
        Assert.True(root.GetProperty("ignore_eos").GetBoolean());
        Assert.False(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("p", root.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public void BuildRequestBody_Defaults_ExactlyTheProtocolsBody()
    {
        string body = Encoding.UTF8.GetString(new LoadOptions { MaxTokens = 16, Prompt = "Hi" }.BuildRequestBody("m"));

        Assert.Equal("""{"model":"m","messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}""", body);
    }
}
