using System.Diagnostics;

namespace OpenAiStreaming.Testing.Processes;

/// <summary>A real Caddy (the Debian package) started for one test from a Caddyfile; see <see cref="ServerProcess"/>.</summary>
public static class CaddyProcess
{
    /// <summary>The caddy binary, or null when it is not installed.</summary>
    public static string? Binary { get; } = Executables.Find("caddy", "/usr/bin/caddy", "/usr/local/bin/caddy");

    /// <summary>Skips the calling test when Caddy is missing (CI installs it; see .ci/run).</summary>
    public static void SkipIfMissing() => Executables.SkipIfMissing(Binary, "caddy");

    /// <summary>
    /// Starts <c>caddy run</c> with <paramref name="caddyfile"/>(port) behind a global options block that turns the admin
    /// endpoint off (tests side by side would fight over its port 2019); Caddy's data and config folders go to the temp
    /// directory.
    /// </summary>
    public static Task<ServerProcess> StartAsync(Func<int, string> caddyfile)
    {
        SkipIfMissing();
        return ServerProcess.StartAsync(
            "caddy",
            (directory, port) =>
            {
                string config = Path.Combine(directory, "Caddyfile");
                File.WriteAllText(config, "{\n\tadmin off\n}\n\n" + caddyfile(port));
                var startInfo = new ProcessStartInfo(Binary!, ["run", "--config", config, "--adapter", "caddyfile"]);
                startInfo.Environment["HOME"] = directory;
                startInfo.Environment["XDG_DATA_HOME"] = Path.Combine(directory, "data");
                startInfo.Environment["XDG_CONFIG_HOME"] = Path.Combine(directory, "config");
                return startInfo;
            });
    }
}
