#!/usr/bin/env bash
# Coverage-guided fuzzing of the request reader and validator: SharpFuzz instruments OpenAiStreaming.AspNetCore.dll,
# AFL++ drives fuzz/OpenAiStreaming.Fuzz with inputs grown from fuzz/corpus. Usage:
#   fuzz/run.sh [seconds]        fuzz for that long (default 120), then replay every crash; exit 1 if any
# Findings land in artifacts/fuzz/findings (crashes/, hangs/, queue/); the run's figures in artifacts/fuzz/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
out=${FUZZ_OUT:-artifacts/fuzz}
build=$out/build
command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found (apt-get install afl++)"; exit 2; }

rm -rf "$out" && mkdir -p "$out"
dotnet tool restore >/dev/null
dotnet publish fuzz/OpenAiStreaming.Fuzz -c Release -o "$build" --nologo -v quiet >/dev/null
# Instrument only our assembly: the edges AFL++ sees are the reader's and the validator's branches.
dotnet tool run sharpfuzz "$build/OpenAiStreaming.AspNetCore.dll" >/dev/null

# dotnet is not an AFL-instrumented binary (SharpFuzz reports the edges itself); a container has no core_pattern or
# CPU governor to tune; the run ends by itself after $seconds (-V).
export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export DOTNET_TieredPGO=0 DOTNET_TieredCompilation=0  # steadier executions per input under the fork server
afl-fuzz -i fuzz/corpus -o "$out/findings" -x fuzz/json.dict -t 5000 -m none -V "$seconds" \
  -- dotnet "$build/OpenAiStreaming.Fuzz.dll" > "$out/afl.log" 2>&1 || { tail -30 "$out/afl.log"; exit 2; }

stats=$out/findings/default/fuzzer_stats
value() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(find "$out/findings/default/crashes" -type f -name 'id:*' | wc -l)
hangs=$(find "$out/findings/default/hangs" -type f -name 'id:*' | wc -l)
{
  echo "seconds: $(value run_time)"
  echo "executions: $(value execs_done)"
  echo "executions per second: $(value execs_per_sec)"
  echo "corpus (queue) size: $(value corpus_count)"
  echo "edges found: $(value edges_found) of $(value total_edges) ($(value bitmap_cvg))"
  echo "crashes: $crashes"
  echo "hangs: $hangs"
} | tee "$out/summary.txt"

if [ "$crashes" -gt 0 ]; then
  for f in "$out"/findings/default/crashes/id:*; do
    echo "fuzz: crash $f"
    dotnet "$build/OpenAiStreaming.Fuzz.dll" "$f" 2>&1 | head -5 || true
  done
  exit 1
fi
