#!/usr/bin/env bash
# Profiles one peer under one load, the way docs/benchmarks.md's design notes were measured: the server pinned to CPU 0,
# the load generator to CPU 1, tier-up without delay and a warm-up at the measured concurrency first.
#
#   benchmarks/profile.sh cpu  IMPL STREAMS     CPU seconds, work items, JIT and bytes allocated during STREAMS streams
#                                               at 20 tokens/s for 11 s (ramp 1 s), with the gap and TTFT percentiles
#   benchmarks/profile.sh perf IMPL STREAMS     the same load under `perf record -g` (6 s); prints self time by assembly
#                                               and the hottest managed frames; perf.data stays in $OUT
#   benchmarks/profile.sh stat IMPL STREAMS     the same load under `perf stat` (6 s): context switches and the
#                                               server's syscalls that a token costs (sendto, sched_yield, futex),
#                                               or the events in PERF_EVENTS (e.g. instructions:u,instructions:k)
#   benchmarks/profile.sh gc   IMPL STREAMS     the cpu load with the peer's --gc-log: each generation's collections
#                                               during it, their pauses (p50, max, total), the bytes they promoted,
#                                               the bytes they marked from each kind of root and how long that took,
#                                               and the time from the end of marking to the collection's end
#                                               (the log weighs on the peer that collects more: compare
#                                               latencies from the cpu mode, not from this one)
#   benchmarks/profile.sh heap IMPL STREAMS     STREAMS streams at 1 token/s (8 tokens each): dotnet-gcdump of the live
#                                               heap with all open, then the peak resident memory and the GC's largest
#                                               gen2 size and fragmentation (dotnet-counters)
#
# INTERVAL_MS=0 profiles an instant backend instead (saturation) and PEER_ARGS passes options to the peer, e.g.
# PEER_ARGS=--OpenAiStreaming:MaxQueuedDeltas=1000000 for one chunk per token.
# IMPL is ours, builtin or handwritten. Output goes to $OUT (default: a temporary folder, printed). Needs perf for `stat` and
# `perf`, and dotnet-gcdump and dotnet-counters (`dotnet tool install -g`) for `heap`.
set -euo pipefail
mode=${1:?mode: cpu, perf, stat, gc or heap}; impl=${2:?impl}; streams=${3:?streams}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
export PATH=$PATH:$HOME/.dotnet/tools
cd "$root"
dotnet publish benchmarks/Peers -c Release -o "$out/peers" --nologo -v q >/dev/null
dotnet publish benchmarks/LoadGenerator -c Release -o "$out/loadgen" --nologo -v q >/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
interval=${INTERVAL_MS:-$([ "$mode" = heap ] && echo 1000 || echo 50)}
DOTNET_TC_CallCountingDelayMs=0 DOTNET_PerfMapEnabled=$([ "$mode" = perf ] && echo 1 || echo 0) DOTNET_EnableWriteXorExecute=0 \
  taskset -c 0 dotnet "$out/peers/Peers.dll" --impl "$impl" --urls "$base" --interval-ms "$interval" $([ "$mode" = gc ] && echo --gc-log true) ${PEER_ARGS:-} >"$out/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "$base/bench/stats" >/dev/null && break; sleep 0.1; done
load() { taskset -c 1 dotnet "$out/loadgen/LoadGenerator.dll" --base-url "$base" --model synthetic "$@"; }
stats() { curl -sf "$base/bench/stats"; }
status() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }

if [ "$mode" = heap ]; then
  load -c 200 -n 800 --max-tokens 4 -q
  timeout 60 dotnet-counters collect -p "$pid" --counters System.Runtime --refresh-interval 1 --format csv -o "$out/counters.csv" >/dev/null 2>&1 &
  counters=$!
  load -c "$streams" --ramp-up $((streams / 1000 + 1)) --duration $((streams / 1000 + 6)) --max-tokens 8 --timeout 120 --no-progress >"$out/load.log" 2>&1 &
  loader=$!
  # Ramp-up plus three tokens: every stream is open.
  sleep $((streams / 1000 + 4))
  echo "resident memory with $streams streams open: $(status VmRSS) KiB, $(status Threads) threads"
  dotnet-gcdump collect -p "$pid" -o "$out/heap.gcdump" >/dev/null
  dotnet-gcdump report "$out/heap.gcdump" >"$out/heap.txt"
  head -3 "$out/heap.txt"
  wait "$loader"
  echo "peak resident memory: $(status VmHWM) KiB"
  kill "$counters" 2>/dev/null || true; wait "$counters" 2>/dev/null || true
  python3 - "$out/counters.csv" <<'EOF'
import csv, sys
peak = {}
for row in csv.reader(open(sys.argv[1])):
    try: value = float(row[4])
    except (IndexError, ValueError): continue
    if "gen2" in row[2] and "last_collection" in row[2]: peak[row[2]] = max(peak.get(row[2], 0), value)
for name, value in sorted(peak.items()): print(f"largest {name}: {value / 1048576:.1f} MiB")
EOF
  grep -E '^requests|^server' "$out/load.log"
  echo "heap by type: $out/heap.txt"
  exit 0
fi

# Warm-up at the measured concurrency, twice, so that the measured run finds its paths compiled.
for _ in 1 2; do load -c "$streams" -n $((streams * 2)) --max-tokens 20 --ramp-up 1 -q; done
[ "$mode" = gc ] && curl -sf -X POST "$base/bench/reset" >/dev/null
before=$(stats)
load -c "$streams" --ramp-up 1 --duration 11 --max-tokens 100 --timeout 120 --no-progress >"$out/load.log" 2>&1 &
loader=$!
if [ "$mode" = perf ]; then
  sleep 3
  perf record -F 2999 -g -p "$pid" -o "$out/perf.data" -- sleep 6 >/dev/null 2>&1
elif [ "$mode" = stat ]; then
  sleep 3
  perf stat -e "${PERF_EVENTS:-context-switches,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex}" \
    -p "$pid" -- sleep 6 2>&1 | grep -E '^ +[0-9,.]+ ' || true
fi
wait "$loader"
after=$(stats)
echo "server threads at the end: $(status Threads)"
python3 - "$before" "$after" <<'EOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
requests, tokens = b["completed"] - a["completed"], None
print(f"server CPU {(b['cpu_ms'] - a['cpu_ms']) / 1000:.2f} s, of which JIT {(b['jit_ms'] - a['jit_ms']) / 1000:.2f} s; "
      f"thread-pool work items {b['thread_pool_work_items'] - a['thread_pool_work_items']}; "
      f"allocated {(b['allocated_bytes'] - a['allocated_bytes']) / max(requests, 1) / 1024:.1f} KiB per request; "
      f"GC paused {(b['gc_pause_ms'] - a['gc_pause_ms']) / 1000:.2f} s in {b['gc_collections'] - a['gc_collections']} collections")
EOF
grep -E '^TTFT|^ITL|^requests|^tokens' "$out/load.log"
if [ "$mode" = gc ]; then
  curl -sf "$base/bench/gc" >"$out/gc.txt"
  grep -E '^(gen[0-9]|collector outside collections|not the collector):' "$out/gc.txt"
  echo "every pause: $out/gc.txt"
fi
if [ "$mode" = perf ]; then
  perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null | python3 -c '
import re, sys, collections
by_assembly, frames = collections.Counter(), []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*)", line)
    if not m: continue
    share, kind, symbol = float(m.group(1)), m.group(2), m.group(3)
    if kind == "k": by_assembly["kernel"] += share; continue
    assembly = re.search(r"\[([A-Za-z][\w.]*)\] ", symbol)
    by_assembly[assembly.group(1) if assembly else "native"] += share
    if assembly: frames.append((share, symbol[:160]))
print("self time by assembly:")
for name, share in by_assembly.most_common(12): print(f"  {share:6.2f}% {name}")
print("hottest managed frames:")
for share, symbol in sorted(frames, reverse=True)[:12]: print(f"  {share:6.2f}% {symbol}")'
  echo "perf data: $out/perf.data"
fi
