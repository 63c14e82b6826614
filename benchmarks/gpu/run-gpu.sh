#!/bin/sh
# Run on the GPU machine inside the folder benchmarks/gpu/publish.sh produced (no .NET SDK needed): the GPU tests
# (10,000 random rows against the CPU sampler), compute-sanitizer over the device tests, the .NET benchmark and the
# PyTorch sort-based baseline. Everything goes to results/; results/summary.txt holds the figures for docs/sampling.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
results="$here/results"
mkdir -p "$results"
cd "$here"

# NVRTC: from the loader's path, a CUDA toolkit, or the pip wheel PyTorch depends on (nvidia-cuda-nvrtc-cu12).
if [ -z "${OPENAI_STREAMING_NVRTC:-}" ] && ! ldconfig -p 2>/dev/null | grep -q libnvrtc.so; then
    nvrtc=$(python3 -c "import nvidia.cuda_nvrtc, os, glob; d=os.path.join(list(nvidia.cuda_nvrtc.__path__)[0], 'lib'); print(sorted(glob.glob(d + '/libnvrtc.so*'))[0])" 2>/dev/null \
        || find / -name 'libnvrtc.so*' -not -name '*builtins*' 2>/dev/null | head -n 1)
    if [ -n "$nvrtc" ]; then
        export OPENAI_STREAMING_NVRTC="$nvrtc"
        # libnvrtc loads libnvrtc-builtins from its own folder.
        export LD_LIBRARY_PATH="$(dirname "$nvrtc")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
fi
echo "NVRTC: ${OPENAI_STREAMING_NVRTC:-from the loader's path}" | tee "$results/summary.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >> "$results/summary.txt" 2>&1

echo "== tests" | tee -a "$results/summary.txt"
./tests/OpenAiStreaming.Sampling.Cuda.Tests -diagnostics > "$results/tests.txt" 2>&1
echo "exit $?: $(grep -E 'Total:|rows agree' "$results/tests.txt" | tr '\n' ' ')" | tee -a "$results/summary.txt"

echo "== compute-sanitizer (memcheck, racecheck; 400 agreement rows)" | tee -a "$results/summary.txt"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
if [ -n "$sanitizer" ]; then
    for tool in memcheck racecheck; do
        OPENAI_STREAMING_GPU_TEST_ROWS=400 "$sanitizer" --tool "$tool" --error-exitcode 99 \
            ./tests/OpenAiStreaming.Sampling.Cuda.Tests -class OpenAiStreaming.Sampling.Cuda.Tests.CudaGpuTests > "$results/sanitizer-$tool.txt" 2>&1
        echo "$tool exit $?: $(grep -E 'ERROR SUMMARY|Total:' "$results/sanitizer-$tool.txt" | tr '\n' ' ')" | tee -a "$results/summary.txt"
    done
else
    echo "compute-sanitizer not found (install the CUDA toolkit's sanitizer)" | tee -a "$results/summary.txt"
fi

echo "== .NET benchmark (us per call, GB/s of logits read once)" | tee -a "$results/summary.txt"
./bench/OpenAiStreaming.Sampling.Cuda.Benchmarks 100 > "$results/bench.csv" 2>&1
cat "$results/bench.csv" | tee -a "$results/summary.txt"

echo "== PyTorch sort-based (vLLM fallback)" | tee -a "$results/summary.txt"
python3 torch_sampler.py 100 > "$results/torch.csv" 2>&1
cat "$results/torch.csv" | tee -a "$results/summary.txt"

echo "== speed-up (torch / CUDA sampler)" | tee -a "$results/summary.txt"
awk -F, 'NR==FNR { if ($4 ~ /^[0-9.]+$/) t[$1","$2","$3]=$4; next } ($4 ~ /^[0-9.]+$/) && (($1","$2","$3) in t) { printf "%s,%s,%s,%.1fx,%s%% of peak\n", $1, $2, $3, t[$1","$2","$3]/$4, $6 }' \
    "$results/torch.csv" "$results/bench.csv" | tee -a "$results/summary.txt"
echo "Results in $results"
