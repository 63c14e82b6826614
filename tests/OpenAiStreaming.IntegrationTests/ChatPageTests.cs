using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatServer;
using Microsoft.Playwright;
using OpenAiStreaming.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;
using static OpenAiStreaming.Metrics.OpenAiStreamingMetricNames;

namespace OpenAiStreaming.IntegrationTests;

/// <summary>
/// The sample's web chat page at <c>GET /</c>, in a real browser: Debian's Chromium driven by Playwright (never a
/// downloaded browser; the test skips when <c>/usr/bin/chromium</c> is missing).
/// </summary>
public sealed partial class ChatPageTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Model = "tiny-char-lm";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Where the screenshots go: <c>TestResults/</c> in the test's output directory.</summary>
    private static string ArtifactsDirectory => Path.Combine(AppContext.BaseDirectory, "TestResults");

    [Fact]
    public async Task GetRoot_ServesTheChatPage()
    {
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]));

        using var response = await app.Client.GetAsync(new Uri("/", UriKind.Relative), Ct);
        string html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.StartsWith("<!doctype html>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("fetch(\"v1/responses\"", html, StringComparison.Ordinal);
        Assert.Contains("background: true", html, StringComparison.Ordinal);
        Assert.Contains("?stream=true&starting_after=", html, StringComparison.Ordinal);
        Assert.Contains("sessionStorage", html, StringComparison.Ordinal);
        Assert.Contains(".getReader()", html, StringComparison.Ordinal);
        Assert.Contains("new AbortController()", html, StringComparison.Ordinal);
        Assert.Contains("<label for=\"prompt\">Prompt</label>", html, StringComparison.Ordinal);
        // Self-contained: nothing is loaded from elsewhere.
        Assert.DoesNotMatch(ExternalReference(), html);
    }

    [Fact]
    public async Task ChatPage_StreamsTokensAsTheyArrive_StopCancelsTheGeneration()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip($"Chromium is not installed at {Chromium}: apt-get install chromium (.ci/run does).");
        }

        // 50 ms a token and room for 4000 of them: the answer would take minutes, so it cannot end on its own here.
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
        [
            "--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00.050", "--TinyModel:DefaultMaxTokens=4000",
            "--Logging:LogLevel:Default=Warning",
        ]));
        using var requests = Meters.Collect<long>(app, Requests);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        await using var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 900, Height = 720 }, ColorScheme = ColorScheme.Light });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };

        await page.GotoAsync(app.BaseAddress.ToString());
        await Expect(page).ToHaveTitleAsync(new Regex("Chat", RegexOptions.None, TimeSpan.FromSeconds(1)));
        await Expect(page.GetByLabel("Model")).ToHaveValueAsync(Model); // filled from GET /v1/models
        var send = page.GetByRole(AriaRole.Button, new() { Name = "Send" });
        var stop = page.GetByRole(AriaRole.Button, new() { Name = "Stop" });
        await Expect(stop).ToBeDisabledAsync();
        await page.GetByLabel("Max tokens").FillAsync("4000");
        await page.GetByLabel("Prompt").FillAsync("How do I stream tokens to a browser?");

        await send.ClickAsync();

        // The first token shows up while the answer is still being written: Stop is live, Send is not.
        var answer = page.GetByRole(AriaRole.Article, new() { Name = "Assistant" }).Last;
        await Expect(page.GetByRole(AriaRole.Article, new() { Name = "You" })).ToHaveTextAsync("How do I stream tokens to a browser?");
        await Expect(answer).ToHaveTextAsync(AtLeast(1));
        await Expect(stop).ToBeEnabledAsync();
        await Expect(send).ToBeDisabledAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Streaming…");
        int first = (await answer.TextContentAsync())!.Length;
        Assert.Empty(requests.ForModel(Model)); // the server has not finished the request either

        // Then it grows, token by token, still with Stop live.
        await Expect(answer).ToHaveTextAsync(AtLeast(first + 20));
        await Expect(stop).ToBeEnabledAsync();
        await Expect(page.GetByLabel("Time to first token")).ToHaveTextAsync(Number(" ms"));
        await Expect(page.GetByLabel("Tokens per second")).ToHaveTextAsync(Number(""));
        Directory.CreateDirectory(ArtifactsDirectory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ArtifactsDirectory, "chat-page-streaming.png") });

        await stop.ClickAsync();

        await Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Stopped");
        await Expect(stop).ToBeDisabledAsync();
        await Expect(send).ToBeEnabledAsync();
        // Stop cancelled the background response on the server: the generation ended, once, and the stored response
        // says cancelled.
        await Meters.WaitUntilAsync(() => requests.ForModel(Model).Count == 1, "the server to end the cancelled generation", requests);
        string id = (await answer.GetAttributeAsync("data-response-id"))!;
        Assert.StartsWith("resp_", id, StringComparison.Ordinal);
        using (var stored = await app.Client.GetAsync(new Uri($"v1/responses/{id}", UriKind.Relative), Ct))
        {
            using var json = JsonDocument.Parse(await stored.Content.ReadAsStringAsync(Ct));
            Assert.Equal("cancelled", json.RootElement.GetProperty("status").GetString());
        }

        // The figures stay on the page; the rate is about the model's pace of 20 tokens a second.
        string ttft = (await page.GetByLabel("Time to first token").TextContentAsync())!;
        string rate = (await page.GetByLabel("Tokens per second").TextContentAsync())!;
        int tokens = int.Parse((await page.GetByLabel("Tokens", new() { Exact = true }).TextContentAsync())!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.Matches(Number(" ms"), ttft);
        Assert.InRange(double.Parse(rate, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture), 2, 200);
        Assert.InRange(tokens, 21, 3999);
        await page.ScreenshotAsync(new() { Path = Path.Combine(ArtifactsDirectory, "chat-page.png") });
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ChatPage_ReloadMidAnswer_ResumesTokenExactWithoutRegenerating()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Skip($"Chromium is not installed at {Chromium}: apt-get install chromium (.ci/run does).");
        }

        // 30 ms a token, 150 tokens: the answer takes about 4.5 s, so the reload lands mid-answer.
        await using var app = await TestApp.StartAsync(ChatServerApp.Create(
        [
            "--urls=http://127.0.0.1:0", "--TinyModel:TokenDelay=00:00:00.030", "--Logging:LogLevel:Default=Warning",
        ]));
        using var requests = Meters.Collect<long>(app, Requests);
        using var resumes = Meters.Collect<long>(app, "openai_streaming.responses.resumes");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);

        // The same question with the same seed, once straight through and once with a reload mid-answer, each in a
        // fresh browser context (sessionStorage is per tab).
        var (expected, _, _, _) = await AskAsync(browser, app, reload: false);
        var (text, id, before, idBeforeReload) = await AskAsync(browser, app, reload: true);

        Assert.Equal(expected, text);
        Assert.True(before.Length > 0 && before.Length < text.Length, $"the reload came mid-answer: {before.Length} of {text.Length} characters");
        Assert.StartsWith(before, text, StringComparison.Ordinal);
        Assert.Equal(idBeforeReload, id);
        // The server generated two answers in all (one per run), and the reloaded page resumed the second one.
        await Meters.WaitUntilAsync(() => requests.ForModel(Model).Count == 2, "both generations to end", requests);
        Assert.Equal(2, requests.ForModel(Model).Count);
        Assert.Equal(1, resumes.GetMeasurementSnapshot().Sum(m => m.Value));
        using var stored = await app.Client.GetAsync(new Uri($"v1/responses/{id}", UriKind.Relative), Ct);
        using var json = JsonDocument.Parse(await stored.Content.ReadAsStringAsync(Ct));
        Assert.Equal("incomplete", json.RootElement.GetProperty("status").GetString()); // it ran to the 150 tokens
        Assert.Equal(text, json.RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
    }

    /// <summary>
    /// Asks the page one question with seed 7 and 150 tokens in a fresh context; with <paramref name="reload"/> it
    /// reloads once the answer has 10 characters. Returns the final answer, its response id, and (when reloading)
    /// the text and response id the page showed just before the reload.
    /// </summary>
    private static async Task<(string Text, string Id, string Before, string? IdBefore)> AskAsync(IBrowser browser, TestApp app, bool reload)
    {
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        SetDefaultExpectTimeout(15_000);
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync(new Uri(app.BaseAddress, "/?seed=7").ToString());
        await Expect(page.GetByLabel("Model")).ToHaveValueAsync(Model);
        await page.GetByLabel("Max tokens").FillAsync("150");
        await page.GetByLabel("Prompt").FillAsync("How do streams resume?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        var answer = page.GetByRole(AriaRole.Article, new() { Name = "Assistant" }).Last;
        var status = page.GetByRole(AriaRole.Status);

        string before = "";
        string? idBefore = null;
        if (reload)
        {
            await Expect(answer).ToHaveTextAsync(AtLeast(10));
            idBefore = await answer.GetAttributeAsync("data-response-id");
            before = (await answer.TextContentAsync())!;
            await page.ReloadAsync();
            // The reloaded page shows the question and what it had at once, then the rest.
            await Expect(page.GetByRole(AriaRole.Article, new() { Name = "You" })).ToHaveTextAsync("How do streams resume?");
        }

        await Expect(status).ToHaveTextAsync(new Regex("^Done", RegexOptions.None, TimeSpan.FromSeconds(1)), new() { Timeout = 30_000 });
        string text = (await answer.TextContentAsync())!;
        string id = (await answer.GetAttributeAsync("data-response-id"))!;
        Assert.Empty(errors);
        return (text, id, before, idBefore);
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Timeout = 60_000,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
            ],
        });

    /// <summary>Text of at least <paramref name="length"/> characters, as Playwright's text assertions see it.</summary>
    private static Regex AtLeast(int length) =>
        new($"^[\\s\\S]{{{length},}}$", RegexOptions.None, TimeSpan.FromSeconds(1));

    private static Regex Number(string unit) =>
        new($"^\\d[\\d,]*(\\.\\d+)?{Regex.Escape(unit)}$", RegexOptions.None, TimeSpan.FromSeconds(1));

    [GeneratedRegex("(src|href)=\"(https?:)?//|@import|url\\(", RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex ExternalReference();
}
