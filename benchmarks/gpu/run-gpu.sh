#!/bin/sh
# Run on the GPU machine inside the folder benchmarks/gpu/publish.sh produced (NVIDIA driver and PyTorch; no .NET SDK):
# the GPU tests (ILGPU's CUDA accelerator on 10,000 random rows against the CPU sampler, the driver-API path for
# fp32/fp16/bf16, the PTX checks), compute-sanitizer memcheck and racecheck, the .NET benchmark and PyTorch's
# sort-based sampler on the same shapes. Everything goes to results/; results/summary.txt holds the figures for
# docs/sampling.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
results="$here/results"
tests="$here/bin/OpenAiStreaming.Sampling.Gpu.Tests"
mkdir -p "$results"
cd "$here"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$results/summary.txt" 2>&1
cat "$results/summary.txt"

echo "== tests" | tee -a "$results/summary.txt"
"$tests" -class OpenAiStreaming.Sampling.Gpu.Tests.CudaTests -class OpenAiStreaming.Sampling.Gpu.Tests.PtxTests \
    -diagnostics > "$results/tests.txt" 2>&1
echo "exit $?: $(grep -E 'Total:|rows agree' "$results/tests.txt" | tr '\n' ' ')" | tee -a "$results/summary.txt"
grep -E '^\s*\[?.*row [0-9]+ \(vocab' "$results/tests.txt" > "$results/disagreements.txt" || true
echo "disagreements: $(wc -l < "$results/disagreements.txt") (listed in results/disagreements.txt)" | tee -a "$results/summary.txt"

echo "== compute-sanitizer (memcheck, racecheck; 200 agreement rows and the driver-API path)" | tee -a "$results/summary.txt"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
if [ -n "$sanitizer" ]; then
    for tool in memcheck racecheck; do
        OPENAI_STREAMING_GPU_TEST_ROWS=200 "$sanitizer" --tool "$tool" --error-exitcode 99 \
            "$tests" -class OpenAiStreaming.Sampling.Gpu.Tests.CudaTests > "$results/sanitizer-$tool.txt" 2>&1
        echo "$tool exit $?: $(grep -E 'ERROR SUMMARY|Total:' "$results/sanitizer-$tool.txt" | tr '\n' ' ')" | tee -a "$results/summary.txt"
    done
else
    echo "compute-sanitizer not found (install the CUDA toolkit's sanitizer)" | tee -a "$results/summary.txt"
fi

echo "== .NET benchmark (us per call, GB/s of logits read once)" | tee -a "$results/summary.txt"
"$tests" bench 100 > "$results/bench.csv" 2>&1
tee -a "$results/summary.txt" < "$results/bench.csv"

echo "== PyTorch sort-based (vLLM's fallback)" | tee -a "$results/summary.txt"
python3 torch_sampler.py 100 > "$results/torch.csv" 2>&1
tee -a "$results/summary.txt" < "$results/torch.csv"

echo "== speed-up (PyTorch / ours), share of peak bandwidth" | tee -a "$results/summary.txt"
awk -F, 'NR==FNR { if ($4 ~ /^[0-9.]+$/) t[$1","$2","$3]=$4; next } ($4 ~ /^[0-9.]+$/) && (($1","$2","$3) in t) { printf "%s,%s,%s,%.1fx,%s%% of peak\n", $1, $2, $3, t[$1","$2","$3]/$4, $6 }' \
    "$results/torch.csv" "$results/bench.csv" | tee -a "$results/summary.txt"
echo "Results in $results"
