using BenchmarkDotNet.Running;

var summaries = BenchmarkSwitcher.FromAssembly(typeof(OpenAiStreaming.Benchmarks.EventWriteBenchmarks).Assembly).Run(args);

// BenchmarkDotNet exits 0 when a benchmark throws; CI runs this suite to catch exactly that.
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
