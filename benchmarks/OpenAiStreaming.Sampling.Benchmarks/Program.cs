using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(OpenAiStreaming.Sampling.Benchmarks.SamplerBenchmark).Assembly).Run(args);
