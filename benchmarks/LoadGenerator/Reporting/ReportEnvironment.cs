using System.Diagnostics;
using System.Globalization;

namespace OpenAiStreaming.LoadGenerator.Reporting;

/// <summary>The machine and versions a benchmark ran on, as the page states them.</summary>
/// <param name="Cpu">The CPU model.</param>
/// <param name="Cores">Logical cores.</param>
/// <param name="Dotnet">The .NET SDK version.</param>
/// <param name="FastApi">FastAPI's version, or <c>?</c>.</param>
/// <param name="Uvicorn">uvicorn's version, or <c>?</c>.</param>
/// <param name="Commit">The repository's short commit.</param>
/// <param name="Date">The day of the report, ISO 8601.</param>
public sealed record ReportEnvironment(string Cpu, int Cores, string Dotnet, string FastApi, string Uvicorn, string Commit, string Date)
{
    /// <summary>Reads this machine: <c>/proc/cpuinfo</c>, <c>dotnet --version</c>, the FastAPI peer's Python packages, git.</summary>
    /// <param name="time">The clock for the date.</param>
    /// <returns>The environment; <c>?</c> for whatever cannot be found.</returns>
    public static ReportEnvironment Detect(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";
        string[] python = Run("/usr/bin/python3", "-c", "import fastapi, uvicorn; print(fastapi.__version__, uvicorn.__version__)").Split(' ');
        return new ReportEnvironment(
            cpu,
            Environment.ProcessorCount,
            Run("dotnet", "--version"),
            python.Length == 2 ? python[0] : "?",
            python.Length == 2 ? python[1] : "?",
            Run("git", "rev-parse", "--short", "HEAD"),
            time.GetLocalNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
    }

    /// <summary>A command's trimmed standard output, or <c>?</c> when it cannot be started.</summary>
    private static string Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var process = Process.Start(start)!;
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return output.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "?";
        }
    }
}
