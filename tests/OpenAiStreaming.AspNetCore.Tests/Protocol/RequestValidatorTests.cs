using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenAiStreaming.AspNetCore.Protocol;

namespace OpenAiStreaming.AspNetCore.Tests.Protocol;

public class RequestValidatorTests
{
    private const string UserHi = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";

    [Fact]
    public void Validate_AllStandardFields_MappedOntoChatOptions()
    {
        var request = Chat($$"""
            {"model":"m",{{UserHi}},"stream":true,"stream_options":{"include_usage":true},
             "temperature":0.5,"top_p":0.9,"max_tokens":100,"seed":42,"frequency_penalty":0.25,
             "presence_penalty":-0.5,"top_k":40,"n":1,"user":"u1"}
            """);

        var (validated, error) = RequestValidator.Validate(request);

        Assert.Null(error);
        Assert.NotNull(validated);
        Assert.Equal("m", validated.Model);
        Assert.True(validated.Stream);
        Assert.True(validated.IncludeUsage);
        var options = validated.Options;
        Assert.Equal("m", options.ModelId);
        Assert.Equal(0.5f, options.Temperature);
        Assert.Equal(0.9f, options.TopP);
        Assert.Equal(100, options.MaxOutputTokens);
        Assert.Equal(42L, options.Seed);
        Assert.Equal(0.25f, options.FrequencyPenalty);
        Assert.Equal(-0.5f, options.PresencePenalty);
        Assert.Equal(40, options.TopK);
        Assert.Null(options.StopSequences);
        Assert.Null(options.AdditionalProperties);
    }

    [Fact]
    public void Validate_OnlyRequiredFields_OptionsLeftUnset()
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi}}}"));

        Assert.Null(error);
        Assert.NotNull(validated);
        Assert.False(validated.Stream);
        Assert.False(validated.IncludeUsage);
        var options = validated.Options;
        Assert.Null(options.Temperature);
        Assert.Null(options.TopP);
        Assert.Null(options.TopK);
        Assert.Null(options.MaxOutputTokens);
        Assert.Null(options.Seed);
        Assert.Null(options.FrequencyPenalty);
        Assert.Null(options.PresencePenalty);
        Assert.Null(options.StopSequences);
        Assert.Null(options.AdditionalProperties);
    }

    [Fact]
    public void Validate_StreamWithoutIncludeUsage_IncludeUsageFalse()
    {
        var (validated, _) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"stream\":true,\"stream_options\":{{}}}}"));

        Assert.NotNull(validated);
        Assert.True(validated.Stream);
        Assert.False(validated.IncludeUsage);
    }

    [Theory]
    [InlineData("\"max_tokens\":10,\"max_completion_tokens\":20", 20)]
    [InlineData("\"max_completion_tokens\":20,\"max_tokens\":10", 20)]
    [InlineData("\"max_completion_tokens\":7", 7)]
    [InlineData("\"max_tokens\":10", 10)]
    public void Validate_MaxTokenFields_MaxCompletionTokensWins(string fields, int expected)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},{fields}}}"));

        Assert.Null(error);
        Assert.Equal(expected, validated?.Options.MaxOutputTokens);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    public void Validate_TopKOff_TopKNull(int topK)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"top_k\":{topK}}}"));

        Assert.Null(error);
        Assert.NotNull(validated);
        Assert.Null(validated.Options.TopK);
    }

    [Theory]
    [InlineData("\"END\"", new[] { "END" })]
    [InlineData("[\"a\",\"b\"]", new[] { "a", "b" })]
    [InlineData("[\"1\",\"2\",\"3\",\"4\"]", new[] { "1", "2", "3", "4" })]
    public void Validate_Stop_StopSequences(string stop, string[] expected)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"stop\":{stop}}}"));

        Assert.Null(error);
        Assert.Equal(expected, validated?.Options.StopSequences);
    }

    [Fact]
    public void Validate_EmptyStopArray_NoStopSequences()
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"stop\":[]}}"));

        Assert.Null(error);
        Assert.NotNull(validated);
        Assert.Null(validated.Options.StopSequences);
    }

    [Fact]
    public void Validate_VllmExtensions_InAdditionalProperties()
    {
        var (validated, error) = RequestValidator.Validate(Chat(
            $"{{\"model\":\"m\",{UserHi},\"min_p\":0.05,\"repetition_penalty\":1.1,\"stop_token_ids\":[2,7]}}"));

        Assert.Null(error);
        var properties = validated?.Options.AdditionalProperties;
        Assert.NotNull(properties);
        Assert.Equal(3, properties.Count);
        Assert.Equal(0.05, Assert.IsType<double>(properties["min_p"]));
        Assert.Equal(1.1, Assert.IsType<double>(properties["repetition_penalty"]));
        Assert.Equal([2, 7], Assert.IsType<int[]>(properties["stop_token_ids"]));
    }

    [Theory]
    [InlineData("system")]
    [InlineData("developer")]
    public void Validate_SystemOrDeveloperMessage_SystemRole(string role)
    {
        var message = SingleMessage($"{{\"role\":\"{role}\",\"content\":\"be brief\"}}");

        Assert.Equal(ChatRole.System, message.Role);
        Assert.Equal("be brief", message.Text);
    }

    [Fact]
    public void Validate_Conversation_MessagesInOrderWithRolesAndNames()
    {
        var (validated, error) = RequestValidator.Validate(Chat("""
            {"model":"m","messages":[
              {"role":"system","content":"s"},
              {"role":"user","content":"u","name":"alice"},
              {"role":"assistant","content":"a"}]}
            """));

        Assert.Null(error);
        Assert.NotNull(validated);
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant], validated.Messages.Select(m => m.Role));
        Assert.Equal(["s", "u", "a"], validated.Messages.Select(m => m.Text));
        Assert.Equal("alice", validated.Messages[1].AuthorName);
        Assert.Null(validated.Messages[0].AuthorName);
    }

    [Fact]
    public void Validate_TextContentParts_TextContents()
    {
        var message = SingleMessage("""{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}""");

        Assert.Equal(["one", "two"], message.Contents.Select(c => Assert.IsType<TextContent>(c).Text));
    }

    [Fact]
    public void Validate_ImageUrlPart_UriContent()
    {
        var message = SingleMessage("""{"role":"user","content":[{"type":"text","text":"what is it?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}""");

        Assert.Equal(2, message.Contents.Count);
        var image = Assert.IsType<UriContent>(message.Contents[1]);
        Assert.Equal(new Uri("https://example.com/cat.png"), image.Uri);
        Assert.Equal("image/*", image.MediaType);
    }

    [Fact]
    public void Validate_ImageDataUri_DataContent()
    {
        var message = SingleMessage("""{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AQID"}}]}""");

        var image = Assert.IsType<DataContent>(Assert.Single(message.Contents));
        Assert.Equal("image/png", image.MediaType);
        Assert.Equal(new byte[] { 1, 2, 3 }, image.Data.ToArray());
    }

    [Fact]
    public void Validate_InputAudioPart_DataContent()
    {
        var message = SingleMessage("""{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AQID","format":"wav"}}]}""");

        var audio = Assert.IsType<DataContent>(Assert.Single(message.Contents));
        Assert.Equal("audio/wav", audio.MediaType);
        Assert.Equal(new byte[] { 1, 2, 3 }, audio.Data.ToArray());
    }

    [Fact]
    public void Validate_AssistantRefusalPart_Skipped()
    {
        var message = SingleMessage("""{"role":"assistant","content":[{"type":"refusal","refusal":"no"},{"type":"text","text":"ok"}]}""");

        Assert.Equal("ok", Assert.IsType<TextContent>(Assert.Single(message.Contents)).Text);
    }

    [Fact]
    public void Validate_AssistantToolCalls_FunctionCallContents()
    {
        var message = SingleMessage("""
            {"role":"assistant","content":null,"tool_calls":[
              {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\",\"days\":2}"}},
              {"id":"call_2","type":"function","function":{"name":"time","arguments":""}}]}
            """);

        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.Equal(2, message.Contents.Count);
        var weather = Assert.IsType<FunctionCallContent>(message.Contents[0]);
        Assert.Equal("call_1", weather.CallId);
        Assert.Equal("weather", weather.Name);
        Assert.NotNull(weather.Arguments);
        Assert.Equal(["city", "days"], weather.Arguments.Keys);
        Assert.Equal("Paris", Assert.IsType<JsonElement>(weather.Arguments["city"]).GetString());
        Assert.Equal(2, Assert.IsType<JsonElement>(weather.Arguments["days"]).GetInt32());
        var time = Assert.IsType<FunctionCallContent>(message.Contents[1]);
        Assert.Equal("call_2", time.CallId);
        Assert.Null(time.Arguments);
    }

    [Fact]
    public void Validate_AssistantWithTextAndToolCall_BothKept()
    {
        var message = SingleMessage("""{"role":"assistant","content":"let me check","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}""");

        Assert.Equal("let me check", Assert.IsType<TextContent>(message.Contents[0]).Text);
        Assert.Equal("f", Assert.IsType<FunctionCallContent>(message.Contents[1]).Name);
    }

    [Fact]
    public void Validate_ToolMessage_FunctionResultContent()
    {
        var message = SingleMessage("""{"role":"tool","tool_call_id":"call_1","content":[{"type":"text","text":"sunny, "},{"type":"text","text":"21 C"}]}""");

        Assert.Equal(ChatRole.Tool, message.Role);
        var result = Assert.IsType<FunctionResultContent>(Assert.Single(message.Contents));
        Assert.Equal("call_1", result.CallId);
        Assert.Equal("sunny, 21 C", result.Result);
    }

    [Fact]
    public void Validate_LegacyFunctionMessage_ToolRoleWithNameAsCallId()
    {
        var message = SingleMessage("""{"role":"function","name":"weather","content":"sunny"}""");

        Assert.Equal(ChatRole.Tool, message.Role);
        Assert.Null(message.AuthorName);
        var result = Assert.IsType<FunctionResultContent>(Assert.Single(message.Contents));
        Assert.Equal("weather", result.CallId);
        Assert.Equal("sunny", result.Result);
    }

    [Theory]
    [InlineData("\"temperature\":0")]
    [InlineData("\"temperature\":2")]
    [InlineData("\"top_p\":1")]
    [InlineData("\"top_p\":0.001")]
    [InlineData("\"frequency_penalty\":-2")]
    [InlineData("\"presence_penalty\":2")]
    [InlineData("\"top_k\":1")]
    [InlineData("\"min_p\":0")]
    [InlineData("\"min_p\":1")]
    [InlineData("\"repetition_penalty\":0.01")]
    [InlineData("\"max_tokens\":1")]
    [InlineData("\"max_completion_tokens\":1")]
    [InlineData("\"logprobs\":false")]
    [InlineData("\"logprobs\":true,\"top_logprobs\":0")]
    [InlineData("\"logprobs\":true,\"top_logprobs\":20")]
    [InlineData("\"n\":8")]
    [InlineData("\"logit_bias\":{\"0\":-100,\"42\":100}")]
    [InlineData("\"stop_token_ids\":[0]")]
    [InlineData("\"n\":1")]
    public void Validate_ValueAtBound_Accepted(string field)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},{field}}}"));

        Assert.Null(error);
        Assert.NotNull(validated);
    }

    [Theory]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "missing_required_parameter")]
    [InlineData("{\"model\":\" \",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stream_options", null)]
    [InlineData("{\"model\":\"m\",\"stream\":false,\"stream_options\":{},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stream_options", null)]
    [InlineData("{\"model\":\"m\",\"n\":9,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "n", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"n\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "n", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"temperature\":2.01,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "temperature", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"temperature\":-0.1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "temperature", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"top_p\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_p", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"top_p\":1.5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_p", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "max_tokens", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"max_completion_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "max_completion_tokens", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"frequency_penalty\":2.5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "frequency_penalty", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"presence_penalty\":-3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "presence_penalty", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"top_k\":-2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_k", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"min_p\":1.5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "min_p", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"min_p\":-0.1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "min_p", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"repetition_penalty\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "repetition_penalty", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"stop\":[\"1\",\"2\",\"3\",\"4\",\"5\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stop", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"stop\":[\"a\",\"\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stop", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"stop\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stop", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"stop_token_ids\":[1,-1],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "stop_token_ids", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"logprobs\":true,\"top_logprobs\":21,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_logprobs", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"logprobs\":true,\"top_logprobs\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_logprobs", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"top_logprobs\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "top_logprobs", "invalid_value")]
    [InlineData("{\"model\":\"m\"}", "messages", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[]}", "messages", "empty_array")]
    [InlineData("{\"model\":\"m\",\"messages\":[null]}", "messages[0]", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"content\":\"hi\"}]}", "messages[0].role", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"robot\",\"content\":\"hi\"}]}", "messages[1].role", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"user\"}]}", "messages[1].content", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"system\"}]}", "messages[0].content", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "messages[0].content[0].text", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}", "messages[0].content[0].type", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},null]}]}", "messages[0].content[1]", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}", "messages[0].content[0].type", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.png\"}}]}]}", "messages[0].content[0].type", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"refusal\"}]}]}", "messages[0].content[0].type", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{}}]}]}", "messages[0].content[0].image_url.url", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages[0].content[0].image_url.url", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"cat.png\"}}]}]}", "messages[0].content[0].image_url.url", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,***\"}}]}]}", "messages[0].content[0].image_url.url", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"AQID\"}}]}]}", "messages[0].content[0].input_audio", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"not base64!\",\"format\":\"wav\"}}]}]}", "messages[0].content[0].input_audio.data", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"r\"}]}", "messages[0].tool_call_id", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"\",\"content\":\"r\"}]}", "messages[0].tool_call_id", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c\"}]}", "messages[0].content", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"function\",\"content\":\"r\"}]}", "messages[0].name", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}]}", "messages[0].tool_calls[0].id", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\"}]}]}", "messages[0].tool_calls[0].function.name", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"\"}}]}]}", "messages[0].tool_calls[0].function.name", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"f\"}},{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{oops\"}}]}]}", "messages[0].tool_calls[1].function.arguments", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"[1,2]\"}}]}]}", "messages[0].tool_calls[0].function.arguments", "invalid_value")]
    public void Validate_ChatRequestRejected_BadRequestNamingParam(string body, string param, string? code)
    {
        var (validated, error) = RequestValidator.Validate(Chat(body));

        Assert.Null(validated);
        Assert.NotNull(error);
        Assert.Equal(StatusCodes.Status400BadRequest, error.Status);
        Assert.Equal(OpenAiError.InvalidRequest, error.Type);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
        Assert.Contains(param, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NullToolCall_BadRequestNamingParam()
    {
        var (validated, error) = RequestValidator.Validate(Chat("""{"model":"m","messages":[{"role":"assistant","tool_calls":[null]}]}"""));

        Assert.Null(validated);
        Assert.NotNull(error);
        Assert.Equal(StatusCodes.Status400BadRequest, error.Status);
        Assert.Equal("messages[0].tool_calls[0]", error.Param);
    }

    [Fact]
    public void Validate_CompletionRequest_PromptBecomesOneUserMessage()
    {
        var (validated, error) = RequestValidator.Validate(Text("""{"model":"m","prompt":"Once upon","stream":true,"temperature":0.7,"top_k":-1,"min_p":0.1}"""), 16);

        Assert.Null(error);
        Assert.NotNull(validated);
        var message = Assert.Single(validated.Messages);
        Assert.Equal(ChatRole.User, message.Role);
        Assert.Equal("Once upon", message.Text);
        Assert.True(validated.Stream);
        Assert.Equal(0.7f, validated.Options.Temperature);
        Assert.Null(validated.Options.TopK);
        Assert.Equal(0.1, validated.Options.AdditionalProperties?[RequestValidator.MinPKey]);
    }

    [Fact]
    public void Validate_CompletionRequestPromptArrayOfOne_Accepted()
    {
        var (validated, error) = RequestValidator.Validate(Text("""{"model":"m","prompt":["only"]}"""), 16);

        Assert.Null(error);
        Assert.Equal("only", Assert.Single(validated!.Messages).Text);
    }

    [Theory]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\"}", 16, 16)]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\"}", 200, 200)]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"max_tokens\":5}", 16, 5)]
    public void Validate_CompletionRequestMaxTokens_DefaultOnlyWhenAbsent(string body, int defaultMaxTokens, int expected)
    {
        var (validated, error) = RequestValidator.Validate(Text(body), defaultMaxTokens);

        Assert.Null(error);
        Assert.Equal(expected, validated?.Options.MaxOutputTokens);
    }

    [Theory]
    [InlineData("{\"prompt\":\"p\"}", "model", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\"}", "prompt", "missing_required_parameter")]
    [InlineData("{\"model\":\"m\",\"prompt\":[]}", "prompt", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}", "prompt", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"echo\":true}", "echo", "unsupported_parameter")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"suffix\":\"s\"}", "suffix", "unsupported_parameter")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"logprobs\":21}", "logprobs", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"n\":9}", "n", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"temperature\":3}", "temperature", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"max_tokens\":0}", "max_tokens", "invalid_value")]
    [InlineData("{\"model\":\"m\",\"prompt\":\"p\",\"stream_options\":{}}", "stream_options", null)]
    public void Validate_CompletionRequestRejected_BadRequestNamingParam(string body, string param, string? code)
    {
        var (validated, error) = RequestValidator.Validate(Text(body), 16);

        Assert.Null(validated);
        Assert.NotNull(error);
        Assert.Equal(StatusCodes.Status400BadRequest, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Validate_CompletionRequestEchoFalse_Accepted()
    {
        var (validated, error) = RequestValidator.Validate(Text("""{"model":"m","prompt":"p","echo":false}"""), 16);

        Assert.Null(error);
        Assert.NotNull(validated);
    }

    private const string Weather = """{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}""";

    [Theory]
    [InlineData("\"logit_bias\":{\"x\":1}", "logit_bias")]
    [InlineData("\"logit_bias\":{\"-1\":1}", "logit_bias")]
    [InlineData("\"logit_bias\":{\"5\":101}", "logit_bias")]
    [InlineData("\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]", "tools[0].type")]
    [InlineData("\"tools\":[{\"function\":{\"name\":\"f\"}}]", "tools[0].type")]
    [InlineData("\"tools\":[{\"type\":\"function\"}]", "tools[0].function")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{}}]", "tools[0].function.name")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"has space\"}}]", "tools[0].function.name")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":[]}}]", "tools[0].function.parameters")]
    [InlineData("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "tools[1].function.name")]
    [InlineData("\"tools\":[null]", "tools[0]")]
    [InlineData("\"tool_choice\":\"auto\"", "tool_choice")]
    [InlineData("\"parallel_tool_calls\":false", "parallel_tool_calls")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":\"sometimes\"", "tool_choice")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"other\"}}", "tool_choice.function.name")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":{\"type\":\"code\"}", "tool_choice.type")]
    [InlineData("\"tools\":[" + Weather + "],\"tool_choice\":{\"type\":\"function\"}", "tool_choice.function.name")]
    [InlineData("\"response_format\":{\"type\":\"yaml\"}", "response_format.type")]
    [InlineData("\"response_format\":{}", "response_format.type")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\"}", "response_format.json_schema")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}", "response_format.json_schema.name")]
    [InlineData("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\",\"schema\":3}}", "response_format.json_schema.schema")]
    public void Validate_ToolsAndFormatsRejected_BadRequestNamingParam(string fields, string param)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},{fields}}}"));

        Assert.Null(validated);
        Assert.NotNull(error);
        Assert.Equal(StatusCodes.Status400BadRequest, error.Status);
        Assert.Equal(param, error.Param);
        Assert.Contains(param.Split('[', '.')[0], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Tools_DeclarationsWithSchemaAndToolMode()
    {
        var (validated, error) = RequestValidator.Validate(Chat($$$"""
            {"model":"m",{{{UserHi}}},"tools":[{{{Weather}}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false}
            """));

        Assert.Null(error);
        var tool = Assert.IsAssignableFrom<AIFunctionDeclaration>(Assert.Single(validated!.Options.Tools!));
        Assert.Equal("get_weather", tool.Name);
        Assert.Equal("Weather", tool.Description);
        Assert.Equal("string", tool.JsonSchema.GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        var mode = Assert.IsType<RequiredChatToolMode>(validated.Options.ToolMode);
        Assert.Equal("get_weather", mode.RequiredFunctionName);
        Assert.False(validated.Options.AllowMultipleToolCalls);
    }

    [Theory]
    [InlineData("\"none\"", "none")]
    [InlineData("\"auto\"", "auto")]
    [InlineData("\"required\"", "required")]
    public void Validate_ToolChoiceString_MapsToToolMode(string choice, string expected)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"tools\":[{Weather}],\"tool_choice\":{choice}}}"));

        Assert.Null(error);
        object? expectedMode = expected switch
        {
            "none" => ChatToolMode.None,
            "auto" => ChatToolMode.Auto,
            _ => ChatToolMode.RequireAny,
        };
        Assert.Equal(expectedMode, validated!.Options.ToolMode);
    }

    [Fact]
    public void Validate_ResponseFormatJsonSchema_MapsNameAndSchema()
    {
        var (validated, error) = RequestValidator.Validate(Chat($$$"""
            {"model":"m",{{{UserHi}}},"response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"d","schema":{"type":"object"} } } }
            """));

        Assert.Null(error);
        var format = Assert.IsType<ChatResponseFormatJson>(validated!.Options.ResponseFormat);
        Assert.Equal("answer", format.SchemaName);
        Assert.Equal("object", format.Schema!.Value.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("text", typeof(ChatResponseFormatText))]
    [InlineData("json_object", typeof(ChatResponseFormatJson))]
    public void Validate_ResponseFormatType_Maps(string type, Type expected)
    {
        var (validated, _) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"response_format\":{{\"type\":\"{type}\"}}}}"));

        Assert.IsType(expected, validated!.Options.ResponseFormat);
    }

    [Fact]
    public void Validate_LogprobsNAndStopOptions_ReachTheRequestAndTheModelsOptions()
    {
        var (validated, error) = RequestValidator.Validate(Chat($$$"""
            {"model":"m",{{{UserHi}}},"stream":true,"logprobs":true,"top_logprobs":3,"n":2,"stop":"END","include_stop_str_in_output":true,
             "stream_options":{"include_usage":true,"continuous_usage_stats":true},"logit_bias":{"7":-5.5}}
            """));

        Assert.Null(error);
        Assert.Equal(3, validated!.TopLogprobs);
        Assert.Equal(3, LogprobContent.GetRequestedTopLogprobs(validated.Options));
        Assert.Equal(2, validated.Choices);
        Assert.True(validated.IncludeStopString);
        Assert.True(validated.ContinuousUsage);
        Assert.Equal(["END"], validated.StopSequences!);
        var bias = Assert.IsType<Dictionary<int, double>>(validated.Options.AdditionalProperties![RequestValidator.LogitBiasKey]);
        Assert.Equal(-5.5, bias[7]);
    }

    [Fact]
    public void Validate_NoLogprobs_ModelIsNotAsked()
    {
        var (validated, _) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",{UserHi},\"logprobs\":false}}"));

        Assert.Null(validated!.TopLogprobs);
        Assert.Null(LogprobContent.GetRequestedTopLogprobs(validated.Options));
    }

    [Fact]
    public void Validate_CompletionLogprobs_LegacyCountAsTopLogprobs()
    {
        var (validated, error) = RequestValidator.Validate(Text("""{"model":"m","prompt":"p","logprobs":2}"""), 16);

        Assert.Null(error);
        Assert.Equal(2, validated!.TopLogprobs);
    }

    private static ChatMessage SingleMessage(string messageJson)
    {
        var (validated, error) = RequestValidator.Validate(Chat($"{{\"model\":\"m\",\"messages\":[{messageJson}]}}"));
        Assert.Null(error);
        Assert.NotNull(validated);
        return Assert.Single(validated.Messages);
    }

    private static ChatCompletionRequest Chat(string json) =>
        JsonSerializer.Deserialize(json, OpenAiJsonContext.Default.ChatCompletionRequest) ?? throw new InvalidOperationException("null request");

    private static CompletionRequest Text(string json) =>
        JsonSerializer.Deserialize(json, OpenAiJsonContext.Default.CompletionRequest) ?? throw new InvalidOperationException("null request");
}
