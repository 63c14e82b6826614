using System.Buffers;
using OpenAiStreaming.AspNetCore.Protocol;

namespace OpenAiStreaming.AspNetCore.Tests.Protocol;

/// <summary>
/// Replays the fuzzing corpus (fuzz/corpus, docs/security.md) through the reader and the validator as the fuzz target
/// does: the first byte picks the endpoint (even: chat, odd: completions), the rest is the body. Every input that once
/// crashed goes into the corpus once fixed, so this is the regression test of every finding.
/// </summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string> CorpusFiles() =>
        [.. Directory.GetFiles(CorpusDirectory()).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void CorpusInput_ParsesAndValidates_OrAnswers4xx(string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory(), file));
        Assert.NotEmpty(input);

        var body = new ReadOnlySequence<byte>(input.AsMemory(1));
        OpenAiError? error;
        if ((input[0] & 1) == 0)
        {
            var (request, parseError) = RequestReader.Parse(body, OpenAiJsonContext.Default.ChatCompletionRequest);
            error = parseError ?? RequestValidator.Validate(request!).Error;
        }
        else
        {
            var (request, parseError) = RequestReader.Parse(body, OpenAiJsonContext.Default.CompletionRequest);
            error = parseError ?? RequestValidator.Validate(request!, defaultMaxTokens: 16).Error;
        }

        Assert.True(error is null or { Status: >= 400 and < 500 }, $"{file}: {error}");
    }

    private static string CorpusDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Middleware.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory?.FullName ?? throw new DirectoryNotFoundException("Middleware.sln not found above the tests"), "fuzz", "corpus");
    }
}
