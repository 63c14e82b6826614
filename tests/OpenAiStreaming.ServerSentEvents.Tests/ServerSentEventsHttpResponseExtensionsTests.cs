using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace OpenAiStreaming.ServerSentEvents.Tests;

public class ServerSentEventsHttpResponseExtensionsTests
{
    private readonly RecordingBodyFeature _body = new();
    private readonly DefaultHttpContext _context = new();

    public ServerSentEventsHttpResponseExtensionsTests()
    {
        _context.Features.Set<IHttpResponseBodyFeature>(_body);
        _context.Request.Protocol = HttpProtocol.Http11;
    }

    [Fact]
    public void PrepareServerSentEvents_FreshResponse_SetsExactlyTheAntiBufferingHeaders()
    {
        _context.Response.PrepareServerSentEvents();

        var headers = _context.Response.Headers;
        Assert.Equal(
            ["Cache-Control", "Content-Encoding", "Content-Type", "X-Accel-Buffering"],
            headers.Keys.Order(StringComparer.OrdinalIgnoreCase));
        Assert.Equal("text/event-stream; charset=utf-8", headers.ContentType.ToString());
        Assert.Equal("text/event-stream; charset=utf-8", ServerSentEventsHttpResponseExtensions.ContentType);
        Assert.Equal("no-cache", headers.CacheControl.ToString());
        Assert.Equal("no", headers["X-Accel-Buffering"].ToString());
        Assert.Equal("identity", headers.ContentEncoding.ToString());
    }

    [Fact]
    public void PrepareServerSentEvents_FreshResponse_DisablesBufferingOnceWithoutStarting()
    {
        _context.Response.PrepareServerSentEvents();

        Assert.Equal(1, _body.DisableBufferingCalls);
        Assert.Equal(0, _body.StartCalls);
    }

    [Fact]
    public void PrepareServerSentEvents_ExistingCachingAndCompressionHeaders_Overwritten()
    {
        var headers = _context.Response.Headers;
        headers.ContentType = "application/json";
        headers.CacheControl = "max-age=60";
        headers.ContentEncoding = "gzip";
        headers["X-Accel-Buffering"] = "yes";

        _context.Response.PrepareServerSentEvents();

        Assert.Equal("text/event-stream; charset=utf-8", headers.ContentType.ToString());
        Assert.Equal("no-cache", headers.CacheControl.ToString());
        Assert.Equal("identity", headers.ContentEncoding.ToString());
        Assert.Equal("no", headers["X-Accel-Buffering"].ToString());
    }

    [Theory]
    [InlineData("HTTP/2")]
    [InlineData("HTTP/3")]
    public void PrepareServerSentEvents_Http2OrLater_RemovesConnectionHeader(string protocol)
    {
        _context.Request.Protocol = protocol;
        _context.Response.Headers.Connection = "keep-alive";

        _context.Response.PrepareServerSentEvents();

        Assert.False(_context.Response.Headers.ContainsKey("Connection"));
    }

    [Theory]
    [InlineData("HTTP/1.0")]
    [InlineData("HTTP/1.1")]
    public void PrepareServerSentEvents_Http1_KeepsConnectionHeader(string protocol)
    {
        _context.Request.Protocol = protocol;
        _context.Response.Headers.Connection = "keep-alive";

        _context.Response.PrepareServerSentEvents();

        Assert.Equal("keep-alive", _context.Response.Headers.Connection.ToString());
    }

    [Fact]
    public void PrepareServerSentEvents_ResponseStarted_ThrowsAndChangesNothing()
    {
        _context.Features.Set<IHttpResponseFeature>(new StartedResponseFeature());

        Assert.Throws<InvalidOperationException>(_context.Response.PrepareServerSentEvents);

        Assert.Empty(_context.Response.Headers);
        Assert.Equal(0, _body.DisableBufferingCalls);
    }

    [Fact]
    public void PrepareServerSentEvents_NullResponse_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => ServerSentEventsHttpResponseExtensions.PrepareServerSentEvents(null!));
    }

    [Fact]
    public async Task StartServerSentEventsAsync_FreshResponse_PreparesStartsAndWritesToBody()
    {
        var ct = TestContext.Current.CancellationToken;

        var writer = await _context.Response.StartServerSentEventsAsync(ct);

        Assert.Equal("text/event-stream; charset=utf-8", _context.Response.ContentType);
        Assert.Equal("no-cache", _context.Response.Headers.CacheControl.ToString());
        Assert.Equal(1, _body.DisableBufferingCalls);
        Assert.Equal(1, _body.StartCalls);

        writer.WriteData("x");
        await writer.FlushAsync(ct);
        Assert.True(_body.Pipe.Reader.TryRead(out var result));
        Assert.Equal("data: x\n\n", Encoding.UTF8.GetString(result.Buffer));
    }

    [Fact]
    public async Task StartServerSentEventsAsync_ResponseStarted_ThrowsWithoutStarting()
    {
        _context.Features.Set<IHttpResponseFeature>(new StartedResponseFeature());

        await Assert.ThrowsAsync<InvalidOperationException>(() => _context.Response.StartServerSentEventsAsync(TestContext.Current.CancellationToken));

        Assert.Equal(0, _body.StartCalls);
    }

    /// <summary>A response body over a pipe that records what the code under test asked of it.</summary>
    private sealed class RecordingBodyFeature : IHttpResponseBodyFeature
    {
        public Pipe Pipe { get; } = new();

        public int DisableBufferingCalls { get; private set; }

        public int StartCalls { get; private set; }

        public Stream Stream => Pipe.Writer.AsStream();

        public PipeWriter Writer => Pipe.Writer;

        public void DisableBuffering() => DisableBufferingCalls++;

        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            StartCalls++;
            return Task.CompletedTask;
        }

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task CompleteAsync() => Pipe.Writer.CompleteAsync().AsTask();
    }

    private sealed class StartedResponseFeature : HttpResponseFeature
    {
        public override bool HasStarted => true;
    }
}
