using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OpenAiStreaming.IntegrationTests.Infrastructure;

/// <summary>
/// A real nginx (the Debian package) terminating TLS and HTTP/2 toward the client (<c>listen ... ssl http2;</c>, the
/// form nginx 1.22 takes; 1.25.1 and later also take <c>http2 on;</c>) with a certificate made in the test, and
/// proxying to an upstream on loopback; killed and cleaned up on dispose.
/// </summary>
public sealed class NginxTlsProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NginxTlsProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        BaseAddress = new Uri($"https://127.0.0.1:{port}/");
    }

    public Uri BaseAddress { get; }

    /// <summary>Starts nginx with <paramref name="locationBody"/> as the body of <c>location / { ... }</c>.</summary>
    public static async Task<NginxTlsProcess> StartAsync(TestCertificate certificate, string locationBody)
    {
        NginxProcess.SkipIfMissing();
        for (int attempt = 0; ; attempt++)
        {
            int port = Ports.Free();
            string directory = Directory.CreateTempSubdirectory("nginx-tls-test-").FullName;
            var (certificatePath, keyPath) = certificate.WritePem(directory);
            File.WriteAllText(Path.Combine(directory, "nginx.conf"), Config(directory, port, certificatePath, keyPath, locationBody));
            var process = Process.Start(new ProcessStartInfo(NginxProcess.Binary!, ["-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-g", "daemon off;"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            var nginx = new NginxTlsProcess(process, directory, port);
            if (await nginx.WaitUntilListeningAsync(TimeSpan.FromSeconds(10)))
            {
                return nginx;
            }

            string errors = File.Exists(Path.Combine(directory, "error.log")) ? File.ReadAllText(Path.Combine(directory, "error.log")) : "";
            await nginx.DisposeAsync();
            if (attempt == 2)
            {
                throw new InvalidOperationException($"nginx did not start: {errors}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A worker still closing a temp file; the temp folder is cleaned by the system.
        }
    }

    private static string Config(string directory, int port, string certificatePath, string keyPath, string locationBody) => $$"""
        {{(Environment.UserName == "root" ? "user root;" : "")}}
        worker_processes 1;
        pid {{directory}}/nginx.pid;
        error_log {{directory}}/error.log warn;
        events { worker_connections 256; }
        http {
            access_log off;
            client_body_temp_path {{directory}}/client_body;
            proxy_temp_path {{directory}}/proxy;
            fastcgi_temp_path {{directory}}/fastcgi;
            uwsgi_temp_path {{directory}}/uwsgi;
            scgi_temp_path {{directory}}/scgi;
            server {
                listen 127.0.0.1:{{port}} ssl http2;
                ssl_certificate {{certificatePath}};
                ssl_certificate_key {{keyPath}};
                location / { {{locationBody}} }
            }
        }
        """;

    private async Task<bool> WaitUntilListeningAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !_process.HasExited)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, BaseAddress.Port));
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }
}
