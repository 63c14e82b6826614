using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;
using OpenAiStreaming.AspNetCore.Protocol;
using OpenAiStreaming.AspNetCore.Streaming;

namespace OpenAiStreaming.AspNetCore.Tests.Protocol;

public sealed class ChatCompletionEncoderTests
{
    [Fact]
    public void WriteDelta_TextDeltas_AllocatesNothingPerEvent()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var (encoder, state) = Start(pipe, CompletionKind.Chat);
        var deltas = Enumerable.Range(0, 8).Select(i => ChatDelta.FromText($" token{i}")).ToArray();
        Write(encoder, state, deltas, pipe); // JIT and first-use buffers

        // Synchronous on purpose: a Debug build's async state machines are classes, which would be counted here.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Write(encoder, state, deltas, pipe);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task WriteDelta_TextCompletion_ToolCallsIgnored_TextInOneChunk()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var (encoder, state) = Start(pipe, CompletionKind.Text);
        Drain(pipe);
        var call = new FunctionCallContent("c1", "weather", null);

        int calls = state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new TextContent("a"), call, new TextContent("b")]));
        bool wrote = encoder.WriteDelta(state, calls);
        await encoder.FlushAsync(TestContext.Current.CancellationToken);

        Assert.True(wrote);
        string written = Drain(pipe);
        Assert.Contains("\"text\":\"ab\"", written, StringComparison.Ordinal);
        Assert.DoesNotContain("tool_calls", written, StringComparison.Ordinal);
        Assert.Single(written.Split("\n\n", StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Reset_ReusedForTheNextRequest_StartsCleanWithItsOwnId()
    {
        // A pooled lifecycle reuses its encoder: the second request's first tool call must be index 0 again, under a new id.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var (encoder, state) = Start(pipe, CompletionKind.Chat);
        var first = await WriteToolCallAsync(encoder, state, pipe, "c1");

        encoder.Reset();
        Assert.False(encoder.HasStarted);
        var second = await WriteToolCallAsync(Start(pipe, CompletionKind.Chat, encoder), new CompletionState(), pipe, "c2");

        Assert.Equal((0, "c1"), (first.Index, first.CallId));
        Assert.Equal((0, "c2"), (second.Index, second.CallId));
        Assert.NotEqual(first.Id, second.Id);
    }

    private static async Task<(string Id, int Index, string CallId)> WriteToolCallAsync(
        ChatCompletionEncoder encoder, CompletionState state, Pipe pipe, string callId)
    {
        await encoder.FlushAsync(TestContext.Current.CancellationToken);
        Drain(pipe); // the role chunk
        encoder.WriteDelta(state, state.Apply(new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent(callId, "weather", null)])));
        await encoder.FlushAsync(TestContext.Current.CancellationToken);
        string data = Drain(pipe).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[0]["data: ".Length..];
        using var chunk = System.Text.Json.JsonDocument.Parse(data);
        var call = chunk.RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0];
        return (chunk.RootElement.GetProperty("id").GetString()!, call.GetProperty("index").GetInt32(), call.GetProperty("id").GetString()!);
    }

    private static (ChatCompletionEncoder Encoder, CompletionState State) Start(Pipe pipe, CompletionKind kind)
    {
        var encoder = Start(pipe, kind, new ChatCompletionEncoder());
        return (encoder, new CompletionState());
    }

    /// <summary>Initializes <paramref name="encoder"/> for a new streaming request and starts its stream on <paramref name="pipe"/>.</summary>
    private static ChatCompletionEncoder Start(Pipe pipe, CompletionKind kind, ChatCompletionEncoder encoder)
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseBodyFeature>(new PipeBody(pipe.Writer));
        var request = new ValidatedRequest("m", [], new ChatOptions(), Stream: true, IncludeUsage: false);
        encoder.Initialize(kind, request, new OpenAiStreamingOptions(), new FakeTimeProvider());
        encoder.StartStream(context.Response);
        return encoder;
    }

    /// <summary>Folds and writes the deltas as the lifecycle does, then hands the bytes to the pipe and reads them.</summary>
    private static void Write(ChatCompletionEncoder encoder, CompletionState state, ChatDelta[] deltas, Pipe pipe)
    {
        foreach (var delta in deltas)
        {
            encoder.WriteDelta(state, state.Apply(delta));
            state.ClearPendingText();
        }

        Assert.True(pipe.Writer.FlushAsync(TestContext.Current.CancellationToken).IsCompletedSuccessfully);
        Assert.True(pipe.Reader.TryRead(out var result));
        pipe.Reader.AdvanceTo(result.Buffer.End);
    }

    private static string Drain(Pipe pipe)
    {
        if (!pipe.Reader.TryRead(out var result))
        {
            return "";
        }

        string text = Encoding.UTF8.GetString(result.Buffer);
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    private sealed class PipeBody(PipeWriter writer) : IHttpResponseBodyFeature
    {
        public Stream Stream { get; } = writer.AsStream();

        public PipeWriter Writer => writer;

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task CompleteAsync() => Task.CompletedTask;
    }
}
