using System.Diagnostics;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>
/// A real nginx (the Debian package) started for one test with its own prefix directory and a free port, in front of
/// an upstream on loopback; killed and cleaned up on dispose.
/// </summary>
public static class NginxProcess
{
    /// <summary>The nginx binary, or null when it is not installed.</summary>
    public static string? Binary { get; } = Executables.Find("nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx");

    /// <summary>Skips the calling test when nginx is missing (CI installs it; see .ci/run).</summary>
    public static void SkipIfMissing() => Executables.SkipIfMissing(Binary, "nginx");

    /// <summary>Starts nginx with <paramref name="locationBody"/> as the body of <c>location / { ... }</c>.</summary>
    public static Task<ServerProcess> StartAsync(string locationBody) =>
        StartWithHttpBodyAsync((_, port) => $$"""
            server {
                listen 127.0.0.1:{{port}};
                location / { {{locationBody}} }
            }
            """);

    /// <summary>
    /// Starts nginx with <paramref name="httpBody"/>(directory, port) inside <c>http { ... }</c>: server blocks (one
    /// must listen on 127.0.0.1:port), upstreams; files it needs (certificates) go in the process's temp directory.
    /// The temp paths, pid and logs are set around it.
    /// </summary>
    public static Task<ServerProcess> StartWithHttpBodyAsync(Func<string, int, string> httpBody)
    {
        SkipIfMissing();
        return ServerProcess.StartAsync(
            "nginx",
            (directory, port) =>
            {
                string config = Path.Combine(directory, "nginx.conf");
                File.WriteAllText(config, Config(directory, httpBody(directory, port)));
                return new ProcessStartInfo(Binary!, ["-p", directory, "-c", config, "-g", "daemon off;"]);
            },
            logFile: "error.log");
    }

    private static string Config(string directory, string httpBody) => $$"""
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
        {{httpBody}}
        }
        """;
}
