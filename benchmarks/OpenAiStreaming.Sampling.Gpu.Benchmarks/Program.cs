return OpenAiStreaming.Sampling.Gpu.Benchmarks.GpuBenchmark.Run(args);
