using OpenAiStreaming.ResponseStoreBenchmark;

if (BenchmarkSettings.TryParse(args, out var settings, out string? error))
{
    return await StoreBenchmark.RunAsync(settings).ConfigureAwait(false);
}

await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
return 2;
