#!/usr/bin/env bash
# Runs every peer server under the same load, one after another, and writes docs/benchmarks.md with its plots.
#
#   benchmarks/run.sh            the full run (about 15 minutes on 2 cores)
#   benchmarks/run.sh --quick    every scenario at a fraction of the size (a couple of minutes; figures are rough)
#   PEERS="ours builtin" benchmarks/run.sh    a subset of peers (the report needs builtin for its ratios)
#
# Each peer runs pinned to CPU 0 and the load generator to CPU 1 (when there are two), so neither steals the other's
# core and the figures say what one core of server does. Raw results go to benchmarks/results/ (JSON per run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

quick=0
[ "${1:-}" = "--quick" ] && quick=1
peers=${PEERS:-"builtin handwritten ours fastapi"}
results=${RESULTS:-$root/benchmarks/results}
python=/usr/bin/python3
out=$(mktemp -d)
trap 'stop_peer; rm -rf "$out"' EXIT

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then server_cpu=(taskset -c 0); client_cpu=(taskset -c 1); else server_cpu=(); client_cpu=(); fi

echo "bench: building (Release)"
dotnet publish benchmarks/Peers -c Release -o "$out/peers" --nologo -v q >/dev/null
dotnet publish benchmarks/LoadGenerator -c Release -o "$out/loadgen" --nologo -v q >/dev/null
rm -rf "$results" && mkdir -p "$results"

port=$($python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
pid=

start_peer() {  # start_peer IMPL INTERVAL_MS [PEER OPTIONS...]
  local impl=$1 interval=$2; shift 2
  if [ "$impl" = fastapi ]; then
    "${server_cpu[@]}" "$python" benchmarks/Peers/fastapi_peer.py --port "$port" --interval-ms "$interval" >"$out/server.log" 2>&1 &
  else
    "${server_cpu[@]}" dotnet "$out/peers/Peers.dll" --impl "$impl" --urls "$base" --interval-ms "$interval" "$@" >"$out/server.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 200); do
    if curl -sf "$base/bench/stats" >/dev/null 2>&1; then
      # Warm up (JIT, connection pool) so the first measured requests do not pay for it; /bench/reset clears it.
      load "$impl-warmup" --concurrency 16 --requests 160 --max-tokens 4 --quiet >/dev/null
      rm -f "$results/$impl-warmup.json"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $impl did not start:"; cat "$out/server.log"; exit 1
}

stop_peer() {
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0; }

# load NAME ARGS...: one load-generator run against the running peer, its JSON in $results/NAME.json.
load() {
  local name=$1; shift
  "${client_cpu[@]}" dotnet "$out/loadgen/LoadGenerator.dll" --base-url "$base" --model synthetic --label "$name" \
    --json "$results/$name.json" --no-progress "$@" | sed 's/^/  /'
}

scale() { if [ $quick = 1 ]; then echo $(( ($1 + 9) / 10 )); else echo "$1"; fi; }

for impl in $peers; do
  echo "bench: === $impl ==="

  # Saturation and TTFT overhead: an instant backend (no pacing).
  start_peer "$impl" 0
  for c in 1 4 16 64 256; do
    load "$impl-saturation-$c" --concurrency "$c" --requests $(( c < 4 ? 8 : c * 2 )) --max-tokens "$(scale 1000)"
  done
  load "$impl-ttft-1" --concurrency 1 --requests "$(scale 1000)" --max-tokens 1
  load "$impl-ttft-100" --concurrency 100 --requests "$(scale 5000)" --max-tokens 1
  stop_peer

  if [ "$impl" = ours ]; then
    # The same saturation with a queue that never merges: one chunk per token, as the other servers write them.
    start_peer ours 0 --OpenAiStreaming:MaxQueuedDeltas=1000000
    load "ours-unmerged-saturation-64" --concurrency 64 --requests 128 --max-tokens "$(scale 1000)"
    stop_peer
  fi

  # Concurrency: streams at 20 tokens/s, ramped up until the p99 inter-token gap leaves 50 ms + 10 ms.
  start_peer "$impl" 50
  for n in 100 200 500 1000 2000 5000 10000; do
    [ $quick = 1 ] && [ "$n" -gt 500 ] && break
    ramp=$(( n / 1000 + 1 ))
    base_rss=$(rss_kib)
    ( peak=0; while kill -0 "$pid" 2>/dev/null; do r=$(rss_kib); [ "$r" -gt "$peak" ] && peak=$r && echo "$peak" >"$out/peak"; sleep 0.25; done ) &
    sampler=$!
    load "$impl-streams-$n" --concurrency "$n" --ramp-up "$ramp" --duration $(( ramp + $(scale 10) )) --max-tokens 100 --timeout 120
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    echo "{\"baseline_rss_kib\": $base_rss, \"peak_rss_kib\": $(cat "$out/peak" 2>/dev/null || echo 0), \"streams\": $n}" >"$results/$impl-streams-$n.rss.json"
    p99=$($python -c 'import json,sys; print(json.load(open(sys.argv[1]))["itl_ms"]["p99"] or 1e9)' "$results/$impl-streams-$n.json")
    if $python -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 60 else 1)' "$p99"; then :; else
      echo "  bench: p99 gap $p99 ms > 60 ms at $n streams; the ramp stops here"; break
    fi
  done
  stop_peer

  # Disconnect storm: every stream is aborted by the client after its first token.
  start_peer "$impl" 50
  load "$impl-storm" --concurrency "$(scale 1000)" --requests "$(scale 10000)" --max-tokens 1000 --abort-after-events 1 \
    --settle-timeout 30 --timeout 120
  stop_peer
done

echo "bench: writing docs/benchmarks.md"
$python benchmarks/report.py "$results" docs
