#!/bin/sh
# Run here (a machine with the .NET SDK): publishes the GPU tests, which also carry the benchmark (`bench`), as one
# self-contained, compressed, untrimmed single file for linux-x64 (a trimmed ILGPU crashes in Context.Create), with
# run-gpu.sh and torch_sampler.py, into artifacts/gpu. It extracts itself on first start (xunit finds its test assembly
# by path, which a bundle that stays in memory has not). Copy that folder to the GPU machine and run ./run-gpu.sh there.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/artifacts/gpu"
rm -rf "$out"
mkdir -p "$out"
dotnet publish "$root/tests/OpenAiStreaming.Sampling.Gpu.Tests" -c Release -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:PublishTrimmed=false \
    -p:IncludeAllContentForSelfExtract=true \
    -p:DebugType=none -p:GenerateDocumentationFile=false -p:SatelliteResourceLanguages=en -o "$out/publish"

# The test SDK's code-coverage collector lands beside the bundle; the bundle needs none of it.
mkdir -p "$out/bin"
mv "$out/publish/OpenAiStreaming.Sampling.Gpu.Tests" "$out/bin/"
rm -rf "$out/publish"
cp "$root/benchmarks/gpu/run-gpu.sh" "$root/benchmarks/OpenAiStreaming.Sampling.Gpu.Benchmarks/torch_sampler.py" "$out/"
chmod +x "$out/run-gpu.sh"
size=$(du -sm "$out" | cut -f1)
echo "Published to $out: ${size} MB (limit 60). Copy it to the GPU machine and run ./run-gpu.sh there."
[ "$size" -lt 60 ] || { echo "publish.sh: ${size} MB is over the 60 MB limit" >&2; exit 1; }
