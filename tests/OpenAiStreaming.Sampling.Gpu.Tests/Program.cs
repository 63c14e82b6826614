using OpenAiStreaming.Sampling.Gpu.Benchmarks;

namespace OpenAiStreaming.Sampling.Gpu.Tests;

/// <summary>
/// The test runner (as xunit generates it), plus <c>bench [launches]</c> for the GPU benchmark: one self-contained
/// file for the GPU machine carries one .NET runtime instead of two (benchmarks/gpu/publish.sh).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["bench", .. var rest])
        {
            return GpuBenchmark.Run(rest);
        }

        return args.Any(arg => arg is "--server" or "--internal-msbuild-node")
            ? Xunit.MicrosoftTestingPlatform.TestPlatformTestFramework.RunAsync(args, SelfRegisteredExtensions.AddSelfRegisteredExtensions).GetAwaiter().GetResult()
            : Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
    }
}
