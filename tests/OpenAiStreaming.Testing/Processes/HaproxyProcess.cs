using System.Diagnostics;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>A real HAProxy (the Debian package) started for one test from a config file; see <see cref="ServerProcess"/>.</summary>
public static class HaproxyProcess
{
    /// <summary>The haproxy binary, or null when it is not installed.</summary>
    public static string? Binary { get; } = Executables.Find("haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy");

    /// <summary>Skips the calling test when HAProxy is missing (CI installs it; see .ci/run).</summary>
    public static void SkipIfMissing() => Executables.SkipIfMissing(Binary, "haproxy");

    /// <summary>Starts <c>haproxy -db</c> (foreground) with <paramref name="config"/>(port) as its configuration.</summary>
    public static Task<ServerProcess> StartAsync(Func<int, string> config)
    {
        SkipIfMissing();
        return ServerProcess.StartAsync(
            "haproxy",
            (directory, port) =>
            {
                string file = Path.Combine(directory, "haproxy.cfg");
                File.WriteAllText(file, config(port));
                return new ProcessStartInfo(Binary!, ["-db", "-f", file]);
            });
    }
}
