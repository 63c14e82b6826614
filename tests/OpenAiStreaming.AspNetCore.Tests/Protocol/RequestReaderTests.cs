using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using OpenAiStreaming.AspNetCore.Protocol;

namespace OpenAiStreaming.AspNetCore.Tests.Protocol;

public class RequestReaderTests
{
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("{\"model\":}")]
    [InlineData("{\"model\":\"m\",}")]
    [InlineData("{/* comment */}")]
    [InlineData("{\"model\":\"m\"} {}")]
    [InlineData("{\"model\":\"m\"} x")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    [InlineData("42")]
    [InlineData("{'model':'m'}")]
    public void Parse_SyntaxError_BadRequestWithoutParam(string body)
    {
        var (value, error) = ParseChat(body);

        Assert.Null(value);
        Assert.NotNull(error);
        Assert.Equal(StatusCodes.Status400BadRequest, error.Status);
        Assert.Equal(OpenAiError.InvalidRequest, error.Type);
        Assert.Null(error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Parse_InvalidJson_MessageNamesLine()
    {
        var (_, error) = ParseChat("{\n\"model\": \"m\",\n\"stream\": tru\n}");

        Assert.NotNull(error);
        Assert.Contains("line 3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"model\":5}", "model", "expected a string")]
    [InlineData("{\"temperature\":\"hot\"}", "temperature", "expected a number")]
    [InlineData("{\"top_p\":true}", "top_p", "expected a number")]
    [InlineData("{\"max_tokens\":1.5}", "max_tokens", "expected an integer")]
    [InlineData("{\"max_completion_tokens\":\"10\"}", "max_completion_tokens", "expected an integer")]
    [InlineData("{\"stream\":\"yes\"}", "stream", "expected a boolean")]
    [InlineData("{\"stream\":true,\"stream_options\":{\"include_usage\":1}}", "stream_options.include_usage", "expected a boolean")]
    [InlineData("{\"stream_options\":true}", "stream_options", "expected an object")]
    [InlineData("{\"messages\":{}}", "messages", "expected an array of message objects")]
    [InlineData("{\"messages\":[{\"role\":1}]}", "messages[0].role", "expected a string")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":5}]}", "messages[1].content", "expected a string or an array of content parts")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":{}}]}", "messages[0].content", "expected a string or an array of content parts")]
    [InlineData("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":1}]}]}", "messages[0].tool_calls[0].id", "expected a string")]
    [InlineData("{\"stop\":5}", "stop", "expected a string or an array of strings")]
    [InlineData("{\"stop\":[\"a\",1]}", "stop", "expected a string or an array of strings")]
    [InlineData("{\"stop_token_ids\":[1,\"2\"]}", "stop_token_ids[1]", "expected an integer")]
    [InlineData("{\"seed\":\"1\"}", "seed", "expected an integer")]
    [InlineData("{\"top_k\":2.5}", "top_k", "expected an integer")]
    [InlineData("{\"min_p\":\"0.1\"}", "min_p", "expected a number")]
    [InlineData("{\"logprobs\":1}", "logprobs", "expected a boolean (chat completions) or an integer (completions)")]
    public void Parse_WrongType_BadRequestNamingField(string body, string param, string expected)
    {
        var (value, error) = ParseChat(body);

        Assert.Null(value);
        Assert.NotNull(error);
        Assert.Equal(StatusCodes.Status400BadRequest, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Equal("invalid_type", error.Code);
        Assert.Equal($"Invalid type for '{param}': {expected}.", error.Message);
    }

    [Fact]
    public void Parse_WrongTypeInsideContentPart_ParamNamesFullPath()
    {
        var (_, error) = ParseChat("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}]}");

        Assert.NotNull(error);
        Assert.Equal("messages[0].content[0].text", error.Param);
    }

    [Theory]
    [InlineData("{\"prompt\":[1,2]}", "prompt", "expected a string or an array of strings (token arrays are not supported)")]
    [InlineData("{\"prompt\":5}", "prompt", "expected a string or an array of strings (token arrays are not supported)")]
    [InlineData("{\"echo\":\"no\"}", "echo", "expected a boolean")]
    [InlineData("{\"logprobs\":true}", "logprobs", "expected a boolean (chat completions) or an integer (completions)")]
    public void Parse_CompletionRequestWrongType_BadRequestNamingField(string body, string param, string expected)
    {
        var (value, error) = RequestReader.Parse(Sequence(body), OpenAiJsonContext.Default.CompletionRequest);

        Assert.Null(value);
        Assert.NotNull(error);
        Assert.Equal(param, error.Param);
        Assert.Equal($"Invalid type for '{param}': {expected}.", error.Message);
    }

    [Fact]
    public void Parse_ValidChatRequest_ReadsSnakeCaseFieldsAndIgnoresUnknownOnes()
    {
        const string body = """
            {
              "model": "m",
              "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]}
              ],
              "stream": true,
              "stream_options": {"include_usage": true},
              "temperature": 0.5,
              "max_completion_tokens": 12,
              "stop": "END",
              "top_k": 40,
              "stop_token_ids": [1, 2],
              "unknown_field": {"nested": [1, 2, 3]}
            }
            """;

        var (value, error) = ParseChat(body);

        Assert.Null(error);
        Assert.NotNull(value);
        Assert.Equal("m", value.Model);
        Assert.True(value.Stream);
        Assert.True(value.StreamOptions?.IncludeUsage);
        Assert.Equal(0.5, value.Temperature);
        Assert.Equal(12, value.MaxCompletionTokens);
        Assert.Equal(["END"], value.Stop?.Values);
        Assert.Equal(40, value.TopK);
        Assert.Equal([1, 2], value.StopTokenIds);
        Assert.NotNull(value.Messages);
        Assert.Equal(2, value.Messages.Count);
        Assert.Equal("be brief", value.Messages[0]?.Content?.Text);
        var part = Assert.Single(value.Messages[1]?.Content?.Parts ?? []);
        Assert.Equal("text", part?.Type);
        Assert.Equal("hi", part?.Text);
    }

    [Fact]
    public void Parse_ValidCompletionRequest_ReadsPromptArray()
    {
        var (value, error) = RequestReader.Parse(Sequence("{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}"), OpenAiJsonContext.Default.CompletionRequest);

        Assert.Null(error);
        Assert.Equal(["a", "b"], value?.Prompt?.Values);
    }

    [Fact]
    public void Parse_BodySplitAcrossSegments_ParsedWhole()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("{\"model\":\"split-model\",\"temperature\":1}");
        var first = new Segment(bytes.AsMemory(0, 7));
        var last = first.Append(bytes.AsMemory(7));

        var (value, error) = RequestReader.Parse(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), OpenAiJsonContext.Default.ChatCompletionRequest);

        Assert.Null(error);
        Assert.Equal("split-model", value?.Model);
        Assert.Equal(1, value?.Temperature);
    }

    [Theory]
    [InlineData(null, "body")]
    [InlineData("", "body")]
    [InlineData("$", "body")]
    [InlineData("$.temperature", "temperature")]
    [InlineData("$.messages[0].content", "messages[0].content")]
    [InlineData("$.stream_options.include_usage", "stream_options.include_usage")]
    [InlineData("$[0].text", "[0].text")]
    public void ToParam_JsonPath_OpenAiParam(string? path, string expected)
    {
        Assert.Equal(expected, RequestReader.ToParam(path));
    }

    private static (ChatCompletionRequest? Value, OpenAiError? Error) ParseChat(string body) =>
        RequestReader.Parse(Sequence(body), OpenAiJsonContext.Default.ChatCompletionRequest);

    private static ReadOnlySequence<byte> Sequence(string body) => new(Encoding.UTF8.GetBytes(body));

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
