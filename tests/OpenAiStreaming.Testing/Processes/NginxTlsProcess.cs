using OpenAiStreaming.Testing.Hosting;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>
/// A real nginx terminating TLS and HTTP/2 toward the client (<c>listen ... ssl http2;</c>, the form nginx 1.22 takes;
/// 1.25.1 and later also take <c>http2 on;</c>) with a certificate made in the test, proxying to an upstream.
/// </summary>
public static class NginxTlsProcess
{
    /// <summary>Starts nginx with <paramref name="locationBody"/> as the body of <c>location / { ... }</c>.</summary>
    /// <returns>The process, and its https base address.</returns>
    public static async Task<(ServerProcess Process, Uri BaseAddress)> StartAsync(TestCertificate certificate, string locationBody)
    {
        var process = await NginxProcess.StartWithHttpBodyAsync((directory, port) =>
        {
            var (certificatePath, keyPath) = certificate.WritePem(directory);
            return $$"""
                server {
                    listen 127.0.0.1:{{port}} ssl http2;
                    ssl_certificate {{certificatePath}};
                    ssl_certificate_key {{keyPath}};
                    location / { {{locationBody}} }
                }
                """;
        });
        return (process, new Uri($"https://127.0.0.1:{process.BaseAddress.Port}/"));
    }
}
