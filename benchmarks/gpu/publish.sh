#!/bin/sh
# Run here (a machine with the .NET SDK): publishes the GPU tests and benchmark self-contained for linux-x64 into
# artifacts/gpu, with run-gpu.sh and torch_sampler.py. Copy that folder to the GPU machine and run ./run-gpu.sh there.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/artifacts/gpu"
rm -rf "$out"
mkdir -p "$out"
dotnet publish "$root/tests/OpenAiStreaming.Sampling.Cuda.Tests" -c Release -r linux-x64 --self-contained -o "$out/tests"
dotnet publish "$root/benchmarks/OpenAiStreaming.Sampling.Cuda.Benchmarks" -c Release -r linux-x64 --self-contained -o "$out/bench"
cp "$root/benchmarks/gpu/run-gpu.sh" "$root/benchmarks/OpenAiStreaming.Sampling.Cuda.Benchmarks/torch_sampler.py" "$out/"
chmod +x "$out/run-gpu.sh"
echo "Published to $out: copy it to the GPU machine and run ./run-gpu.sh there."
