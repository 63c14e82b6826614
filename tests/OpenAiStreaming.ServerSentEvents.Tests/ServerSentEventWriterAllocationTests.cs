using System.IO.Pipelines;

namespace OpenAiStreaming.ServerSentEvents.Tests;

/// <summary>
/// Writing an event and flushing it allocates nothing once the pipe's segments are pooled: the writer reuses its
/// <see cref="System.Text.Json.Utf8JsonWriter"/> and writes UTF-8 straight into the pipe, whose reader is drained after
/// each flush as a transport would.
/// </summary>
public class ServerSentEventWriterAllocationTests
{
    private const string Id = "chatcmpl-3f9c2a7be41d08c6a5f7e2d91b04c3aa";
    private const string Model = "meta-llama/Llama-3.1-8B-Instruct";

    private readonly Pipe _pipe = new();
    private readonly ServerSentEventWriter _writer;

    public ServerSentEventWriterAllocationTests()
    {
        _writer = new ServerSentEventWriter(_pipe.Writer);
    }

    [Fact]
    public void BeginJsonData_ChunkPerEventSteadyState_DoesNotAllocate()
    {
        AssertNoAllocationPerEvent(() => WriteChunk("Hello"));
    }

    [Fact]
    public void BeginJsonData_EightEventsPerFlushSteadyState_DoesNotAllocate()
    {
        AssertNoAllocationPerEvent(() => WriteChunk(" world"), eventsPerFlush: 8);
    }

    [Fact]
    public void WriteData_SteadyState_DoesNotAllocate()
    {
        AssertNoAllocationPerEvent(() => _writer.WriteData("[DONE]"u8));
    }

    [Fact]
    public void WriteData_ShortStringSteadyState_DoesNotAllocate()
    {
        AssertNoAllocationPerEvent(() => _writer.WriteData("two\nlines"));
    }

    [Fact]
    public void WriteComment_SteadyState_DoesNotAllocate()
    {
        AssertNoAllocationPerEvent(() => _writer.WriteComment("keep-alive"));
    }

    /// <summary>A content chunk as the OpenAI endpoint writes it, field by field.</summary>
    private void WriteChunk(string content)
    {
        var json = _writer.BeginJsonData();
        json.WriteStartObject();
        json.WriteString("id", Id);
        json.WriteString("object", "chat.completion.chunk");
        json.WriteNumber("created", 1_767_225_600);
        json.WriteString("model", Model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("delta");
        json.WriteString("content", content);
        json.WriteEndObject();
        json.WriteNull("logprobs");
        json.WriteNull("finish_reason");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        _writer.EndJsonData();
    }

    private void AssertNoAllocationPerEvent(Action writeEvent, int eventsPerFlush = 1)
    {
        // Warm-up: the pipe rents and pools its segments, the JSON writer sizes itself, the JIT settles.
        for (int i = 0; i < 200; i++)
        {
            WriteAndFlush(writeEvent, eventsPerFlush);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            WriteAndFlush(writeEvent, eventsPerFlush);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private void WriteAndFlush(Action writeEvent, int events)
    {
        for (int e = 0; e < events; e++)
        {
            writeEvent();
        }

        var flush = _writer.FlushAsync(TestContext.Current.CancellationToken);
        Assert.True(flush.IsCompletedSuccessfully);
        flush.GetAwaiter().GetResult();
        Assert.True(_pipe.Reader.TryRead(out var read));
        _pipe.Reader.AdvanceTo(read.Buffer.End);
    }
}
