using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(OpenAiStreaming.Benchmarks.EventWriteBenchmarks).Assembly).Run(args);
