#!/usr/bin/env bash
# Consumer check, for CI: packs every package into a local folder feed, then a fresh `dotnet new web` app, outside this
# repository and its build settings, takes OpenAiStreaming.AspNetCore from that feed, adds AddOpenAiStreaming and
# MapOpenAiStreaming with a small IChatClient, builds with warnings as errors, runs, and streams one chat completion.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
# A version of its own for each run, so that no package cached by an earlier run stands in for this one.
version="0.1.0-consumer.$(date -u +%Y%m%d%H%M%S)"
cleanup() {
  rm -rf "$work"
  rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/openaistreaming.*/"$version"
  rmdir "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/openaistreaming.* 2>/dev/null || true  # only the emptied ones
}
trap cleanup EXIT

echo "consumer: packing $version"
eng/pack.sh "$work/feed" "$version"

echo "consumer: a fresh web app takes the packages from the folder feed"
cd "$work"
dotnet new web -n Consumer -o app --no-restore >/dev/null
cat >app/nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$work/feed" />
  </packageSources>
</configuration>
XML
cat >app/Program.cs <<'CS'
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOpenAiStreaming()
    .AddChatModel("echo", _ => new EchoChatClient());

var app = builder.Build();
app.MapOpenAiStreaming();
app.Run();

/// <summary>Answers with the last user message, one word per update.</summary>
sealed class EchoChatClient : IChatClient
{
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var words = (messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "").Split(' ');
        for (var i = 0; i < words.Length; i++)
        {
            await Task.Delay(1, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, i == 0 ? words[i] : " " + words[i]);
        }
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }
}
CS
dotnet add app package OpenAiStreaming.AspNetCore --version "$version" >"$work/add.log" 2>&1 || {
  cat "$work/add.log"; echo "consumer: dotnet add package failed"; exit 1; }
dotnet build app -c Release -warnaserror -o "$work/bin" >"$work/build.log" 2>&1 || {
  tail -40 "$work/build.log"; echo "consumer: the app did not build"; exit 1; }

echo "consumer: run it and stream one chat completion"
python3 "$repo/eng/run-and-measure.py" consumer 1 dotnet "$work/bin/Consumer.dll"
echo "consumer: ok"
