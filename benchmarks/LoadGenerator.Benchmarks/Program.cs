using BenchmarkDotNet.Running;

var summaries = BenchmarkSwitcher.FromAssembly(typeof(OpenAiStreaming.LoadGenerator.Benchmarks.SseParsingBenchmarks).Assembly).Run(args);

// BenchmarkDotNet exits 0 when a benchmark throws; a broken comparison must fail the run.
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
