#!/usr/bin/env bash
# Runs every peer server under the same load and writes docs/benchmarks.md with its plots.
#
#   benchmarks/run.sh            the full run: 3 interleaved rounds, 5 and 7 for some figures (45–75 minutes on 2 cores)
#   benchmarks/run.sh --quick    one round, every scenario at a fraction of the size (a few minutes; figures are rough)
#   PEERS="ours builtin" benchmarks/run.sh    a subset of peers (the report needs builtin for its ratios)
#   ROUNDS=5 benchmarks/run.sh   more rounds (WIDE_ROUNDS for the 500- and 2,000-stream steps and memory, default ROUNDS + 2;
#                                TTFT_ROUNDS for TTFT, default 2 × ROUNDS + 1)
#   SCENARIOS="fixed memory producer" PEERS="ours builtin" benchmarks/run.sh
#                                only some scenarios (default all: saturation streams fixed memory storm producer); the
#                                page then shows what the results folder holds
#   SCENARIOS=paired RESULTS=/tmp/paired benchmarks/run.sh
#                                the optional scenario "paired" (not in the default list): ours against the built-in in
#                                PAIRED_ROUNDS (default 20) rounds of the 2,000-stream step and of TTFT at concurrency 1,
#                                the order alternating, then each figure's geometric mean of ours over the built-in round
#                                by round with its 95% confidence interval (about 30 minutes); alone, it writes no page
#                                (RESULTS elsewhere keeps the page's results); with others, the page gets its table
#   SCENARIOS=redis benchmarks/run.sh
#                                the optional scenario "redis" (not in the default list; needs redis-server): the Redis
#                                response store against the in-memory one (benchmarks/ResponseStoreBenchmark); alone, it
#                                prints its table and writes results/redis.md; with others, the page gets its section
#
# Each peer runs pinned to CPU 0 and the load generator to CPU 1 (when there are two), so neither steals the other's
# core and the figures say what one core of server does. A shared machine drifts by tens of percent over minutes, so
# the peers take turns within each round, the order reversed every other round (A B C D, D C B A, ...: no server always
# follows the same one or runs at the same point of a round), and every figure is the round with the median result;
# a run that lost more than MAX_STEAL per mille of the CPU to other guests of the hypervisor (default 20, i.e. 2%) is
# set aside and repeated, up to 5 tries. Raw results go to benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

quick=0
[ "${1:-}" = "--quick" ] && quick=1
peers=${PEERS:-"builtin handwritten ours fastapi"}
scenarios=${SCENARIOS:-"saturation streams fixed memory storm producer"}
has() { [[ " $scenarios " == *" $1 "* ]]; }
rounds=${ROUNDS:-$([ $quick = 1 ] && echo 1 || echo 3)}
# The figures with a target whose rounds overlap the most between the servers run in more rounds: the 500-stream step
# (its CPU), the 2,000-stream step and memory per stream.
wide_rounds=${WIDE_ROUNDS:-$([ $quick = 1 ] && echo 1 || echo $(( rounds + 2 )))}
max_steal=${MAX_STEAL:-20}
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
    # Tier-up as soon as a method has run 30 times rather than after 100 ms without new methods: the warm-up below
    # then leaves every server's hot paths fully compiled, and each run measures steady state rather than the JIT
    # (which took 0.7-1.5 s of a 500-stream step's 6 s without it; NAME.cpu.json records jit_ms during each run).
    DOTNET_TC_CallCountingDelayMs=0 "${server_cpu[@]}" dotnet "$out/peers/Peers.dll" --impl "$impl" --urls "$base" --interval-ms "$interval" "$@" >"$out/server.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 200); do
    if curl -sf "$base/bench/stats" >/dev/null 2>&1; then
      # Warm up (JIT, connection pool) so the first measured requests do not pay for it; /bench/reset clears it.
      load warmup --concurrency 200 --requests 800 --max-tokens 4 --quiet >/dev/null
      rm -f "$results/warmup.json" "$results/warmup.steal" "$results/warmup.cpu.json"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: $impl did not start:"; cat "$out/server.log"; exit 1
}

# settle_jit: waits (up to 10 s) until the running peer's JIT has stopped compiling: the tier-1 compilations a warm-up
# queued run in the background for about a second after it, and would otherwise land in the first measured run. The
# warm-ups before measuring (warm_at, warm_saturation) end with it. A peer without a JIT counter passes at once.
settle_jit() {
  local last=none now
  for _ in $(seq 50); do
    now=$(jit_ms)
    [ "$now" = "$last" ] && return 0
    last=$now
    sleep 0.2
  done
}

stop_peer() {
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi
}

# rss_kib VmRSS|VmHWM: the server's resident memory now, or its peak since it started (kernel-tracked, nothing missed).
rss_kib() { awk -v field="$1:" '$1 == field { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0; }

# CPU time the hypervisor gave to other guests, in jiffies summed over all cores: high steal means a noisy run.
cpu_ticks() { awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $9 }' /proc/stat; }

# jit_ms: the running peer's milliseconds in the JIT so far ("null" without them).
jit_ms() {
  curl -sf "$base/bench/stats" 2>/dev/null | $python -c 'import json,sys
try: print(json.dumps(json.load(sys.stdin).get("jit_ms")))
except ValueError: print("null")' || echo null
}

# load NAME ARGS...: one load-generator run against the running peer, its JSON in $results/NAME.json, the share of
# CPU time stolen during it in $results/NAME.steal, and the server's CPU seconds, thread-pool work items and JIT seconds
# during the measured requests (the generator's own warm-up excluded: its server_window) in $results/NAME.cpu.json.
# The generator tiers up at once too, so that its --warmup leaves its own hot paths compiled.
load() {
  local name=$1; shift
  read -r total0 steal0 < <(cpu_ticks)
  DOTNET_TC_CallCountingDelayMs=0 "${client_cpu[@]}" dotnet "$out/loadgen/LoadGenerator.dll" --base-url "$base" --model synthetic \
    --label "$name" --json "$results/$name.json" --no-progress "$@" | sed 's/^/  /'
  read -r total1 steal1 < <(cpu_ticks)
  echo "$(( (steal1 - steal0) * 1000 / (total1 - total0 + 1) ))" >"$results/$name.steal"
  $python -c 'import json,sys
try: w = json.load(open(sys.argv[1])).get("server_window") or {}
except (OSError, ValueError): w = {}
print(json.dumps({key: w.get(key) for key in ("cpu_s", "work_items", "jit_s")}))' "$results/$name.json" >"$results/$name.cpu.json"
}

# stolen NAME TRY: after try TRY of run NAME, true when it lost more CPU to steal than max_steal and has been set aside
# to be run again (NAME.stolenTRY.json); false when it stands, or after 5 tries.
stolen() {
  local steal; steal=$(cat "$results/$1.steal")
  if [ "$steal" -le "$max_steal" ]; then return 1; fi
  if [ "$2" -ge 5 ]; then echo "  bench: $1: CPU steal $steal‰ on all 5 tries; the last one stands"; return 1; fi
  mv "$results/$1.json" "$results/$1.stolen$2.json"
  echo "  bench: $1: CPU steal $steal‰ > $max_steal‰; running it again"
}

# measure NAME ARGS...: load NAME ARGS... against the running peer until a try is not stolen.
measure() {
  local try=1
  while load "$@"; stolen "$1" $try; do try=$((try + 1)); done
}

# measure_fresh IMPL INTERVAL_MS NAME ARGS...: the same, each try on a freshly started IMPL, warmed up at the run's own
# concurrency first (two rounds of twice as many 20-token requests), as benchmarks/profile.sh does: the short warm-up
# of start_peer alone left up to 1.3 s of JIT in the larger steps, more than the difference being measured.
measure_fresh() {
  local impl=$1 interval=$2 try=1 n=200 arg prev=; shift 2
  for arg in "$@"; do [ "$prev" = --concurrency ] && n=$arg; prev=$arg; done
  while start_peer "$impl" "$interval"; warm_at "$n"; load "$@"; stop_peer; stolen "$1" $try; do try=$((try + 1)); done
}

# warm_at N: two rounds of 2N requests of 20 tokens at concurrency N against the running peer, then until its JIT is quiet.
warm_at() {
  for _ in 1 2; do
    load warmup --concurrency "$1" --requests $(( $1 * 2 )) --max-tokens 20 --ramp-up $(( $1 / 1000 + 1 )) --timeout 120 --quiet >/dev/null
  done
  rm -f "$results/warmup.json" "$results/warmup.steal" "$results/warmup.cpu.json"
  settle_jit
}

# warm_ttft N REQUESTS: REQUESTS one-token requests at concurrency N, then until the JIT is quiet: the TTFT runs'
# own path tiers up before they start rather than during them (up to 0.15 s of JIT in a 5,000-request run otherwise,
# a fifth of its server CPU).
warm_ttft() {
  load warmup --concurrency "$1" --requests "$(scale "$2")" --max-tokens 1 --quiet >/dev/null
  rm -f "$results/warmup.json" "$results/warmup.steal" "$results/warmup.cpu.json"
  settle_jit
}

# median NAME KEY: of the rounds NAME.r1 … NAME.rN, copies the one with the median KEY (a dotted path into the JSON)
# to NAME.json, and prints that median.
median() { dotnet "$out/loadgen/LoadGenerator.dll" median "$results" "$1" "$2"; }

# in_turn R PEER...: the peers in the order they take turns in round R: as given in odd rounds, reversed in even ones.
in_turn() {
  local r=$1; shift
  if [ $(( r % 2 )) = 1 ]; then echo "$@"; else local i; for (( i = $#; i >= 1; i-- )); do echo -n "${!i} "; done; echo; fi
}

scale() { if [ $quick = 1 ]; then echo $(( ($1 + 9) / 10 )); else echo "$1"; fi; }

# warm_saturation: two seconds of the saturation load itself before measuring it, so that the paths only long streams
# of an instant backend take (a model running ahead of its client) are compiled too, on every server alike.
warm_saturation() {
  load warmup --concurrency 64 --duration "$(scale 2)" --max-tokens "$(scale 1000)" --quiet >/dev/null
  rm -f "$results/warmup.json" "$results/warmup.steal" "$results/warmup.cpu.json"
  settle_jit
}

# Saturation, then TTFT overhead: an instant backend (no pacing). Each run warms the load generator up too (--warmup, and
# its wait for its own JIT): without that, a fifth of the generator's core went to its JIT during a 3-s run, and the
# events/s figures measured the client (ours 0.51 M/s unmerged, the built-in 0.38 M/s; warmed: 1.81 M/s and 0.85 M/s).
if has saturation; then
for r in $(seq "$rounds"); do
  for impl in $(in_turn "$r" $peers); do
    echo "bench: round $r, $impl: saturation"
    start_peer "$impl" 0
    warm_saturation
    for c in 1 4 16 64 256; do
      measure "$impl-saturation-$c.r$r" --concurrency "$c" --duration "$(scale 3)" --max-tokens "$(scale 1000)" --warmup $(( c > 64 ? 2 * c : 128 ))
    done
    stop_peer
    if [ "$impl" = ours ]; then
      # The same saturation with a queue that never merges: one chunk per token, as the other servers write them.
      start_peer ours 0 --OpenAiStreaming:MaxQueuedDeltas=1000000
      warm_saturation
      measure "ours-unmerged-saturation-64.r$r" --concurrency 64 --duration "$(scale 3)" --max-tokens "$(scale 1000)" --warmup 128
      stop_peer
    fi
  done
done
for impl in $peers; do
  for c in 1 4 16 64 256; do median "$impl-saturation-$c" tokens_per_s >/dev/null; done
done
[[ " $peers " == *" ours "* ]] && median ours-unmerged-saturation-64 events_per_s >/dev/null

# TTFT overhead, in more rounds than the rest (TTFT_ROUNDS, default 2 × ROUNDS + 1), each on a fresh server: a run
# takes seconds, and its p50 moves by up to a third from one server process to the next (0.065-0.144 ms for the same
# build), more than the difference between the servers.
for r in $(seq "${TTFT_ROUNDS:-$(( 2 * rounds + 1 ))}"); do
  for impl in $(in_turn "$r" $peers); do
    echo "bench: round $r, $impl: TTFT"
    start_peer "$impl" 0
    warm_ttft 1 2000
    measure "$impl-ttft-1.r$r" --concurrency 1 --requests "$(scale 5000)" --max-tokens 1 --warmup 300
    warm_ttft 100 2000
    measure "$impl-ttft-100.r$r" --concurrency 100 --requests "$(scale 5000)" --max-tokens 1 --warmup 1000
    stop_peer
  done
done
for impl in $peers; do
  median "$impl-ttft-1" ttft_ms.p50 >/dev/null
  median "$impl-ttft-100" ttft_ms.p50 >/dev/null
done
fi

# Concurrency: streams at 20 tokens/s, ramped up until the median p99 inter-token gap leaves 50 ms + 10 ms, each step
# on a fresh server.
climbing=$(has streams && echo "$peers" || true)
for n in 200 500 1000; do
  [ $quick = 1 ] && [ "$n" -gt 500 ] && break
  [ -z "$climbing" ] && break
  ramp=$(( n / 1000 + 1 ))
  # The 500-stream step's CPU is a target, read as the median of its rounds: it runs in the wide rounds too.
  for r in $(seq "$([ "$n" = 500 ] && echo "$wide_rounds" || echo "$rounds")"); do
    for impl in $(in_turn "$r" $climbing); do
      echo "bench: round $r, $impl: $n streams at 20 tokens/s"
      measure_fresh "$impl" 50 "$impl-streams-$n.r$r" --concurrency "$n" --ramp-up "$ramp" --duration $(( ramp + $(scale 10) )) \
        --max-tokens 100 --timeout 120
    done
  done
  still=
  for impl in $climbing; do
    p99=$(median "$impl-streams-$n" itl_ms.p99)
    if $python -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 60 else 1)' "$p99"; then still="$still $impl"; else
      echo "  bench: $impl: median p99 gap $p99 ms > 60 ms at $n streams; its ramp stops here"
    fi
  done
  climbing=$still
done

# Thousands of open streams at 20 tokens/s, whatever the ramp did: 2,000 and 5,000 (a tenth with --quick), for the
# built-in and ours (the ratio the page reports; FIXED_PEERS to change).
fixed_peers=${FIXED_PEERS:-$(for p in $peers; do case $p in builtin|ours) echo -n "$p ";; esac; done)}
if has fixed; then
  for n in $(scale 2000) $(scale 5000); do
    ramp=$(( n / 1000 + 1 ))
    for r in $(seq "$([ "$n" = "$(scale 2000)" ] && echo "$wide_rounds" || echo "$rounds")"); do
      for impl in $(in_turn "$r" $fixed_peers); do
        echo "bench: round $r, $impl: $n open streams at 20 tokens/s"
        measure_fresh "$impl" 50 "$impl-streams-$n.r$r" --concurrency "$n" --ramp-up "$ramp" --duration $(( ramp + $(scale 10) )) \
          --max-tokens 100 --timeout 120
      done
    done
    for impl in $fixed_peers; do median "$impl-streams-$n" itl_ms.p99 >/dev/null; done
  done
fi

# Memory per open stream: streams at 1 token/s, so that no server falls behind and buffers, first a few and then
# 10,000 open at once (none may fail), each on a fresh server; the slope of the server's peak resident memory between
# the two, per round (the report gives the median round's slope and the spread).
for r in $(seq "$(has memory && echo "$wide_rounds" || echo 0)"); do
  for impl in $(in_turn "$r" $peers); do
    for n in $(scale 500) $(scale 10000); do
      echo "bench: round $r, $impl: memory with $n open streams"
      start_peer "$impl" 1000
      base_rss=$(rss_kib VmRSS)
      load "$impl-memory-$n.r$r" --concurrency "$n" --ramp-up $(( n / 1000 + 1 )) --duration $(( n / 1000 + 6 )) --max-tokens 8 \
        --timeout 120 --settle-timeout 30 >/dev/null
      echo "{\"baseline_rss_kib\": $base_rss, \"peak_rss_kib\": $(rss_kib VmHWM), \"streams\": $n}" >"$results/$impl-memory-$n.r$r.rss.json"
      stop_peer
    done
  done
done
has memory && for impl in $peers; do for n in $(scale 500) $(scale 10000); do median "$impl-memory-$n" errors >/dev/null; done; done

# Disconnect storm: every stream is aborted by the client after its first token.
for r in $(seq "$(has storm && echo "$rounds" || echo 0)"); do
  for impl in $(in_turn "$r" $peers); do
    echo "bench: round $r, $impl: disconnect storm"
    measure_fresh "$impl" 50 "$impl-storm.r$r" --concurrency "$(scale 1000)" --requests "$(scale 10000)" --max-tokens 1000 \
      --abort-after-events 1 --settle-timeout 30 --timeout 120
  done
done
has storm && for impl in $peers; do median "$impl-storm" cancel_ms.p99 >/dev/null; done

# What a batched model loop pays per token: BenchmarkDotNet's BatchLoopBenchmarks (256 sequences, a quarter of whose
# clients stopped reading), its table copied for the page.
if has producer; then
  echo "bench: producer-side cost of a batched model loop"
  dotnet run -c Release --project benchmarks/OpenAiStreaming.Benchmarks -- --filter '*BatchLoopBenchmarks*' \
    $([ $quick = 1 ] && echo --job dry || echo --job short) --exporters github --artifacts "$out/bdn" >"$out/bdn.log" 2>&1 \
    || { echo "bench: BatchLoopBenchmarks failed:"; tail -20 "$out/bdn.log"; exit 1; }
  cp "$out"/bdn/results/*BatchLoopBenchmarks-report-github.md "$results/producer.md"
fi

# Ours against the built-in in many paired rounds, each server fresh and the order alternating (ours first in odd
# rounds): the 2,000-stream step and TTFT at concurrency 1, whose ratios of medians over 5 to 7 rounds land on either
# side of 1.0x from one run to the next (benchmarks/design.md, ninth pass).
if has paired; then
  n=$(scale 2000)
  for r in $(seq "${PAIRED_ROUNDS:-20}"); do
    for impl in $(in_turn "$r" ours builtin); do
      echo "bench: paired round $r, $impl: $n open streams at 20 tokens/s, then TTFT"
      measure_fresh "$impl" 50 "$impl-paired-streams-$n.r$r" --concurrency "$n" --ramp-up $(( n / 1000 + 1 )) \
        --duration $(( n / 1000 + 1 + $(scale 10) )) --max-tokens 100 --timeout 120
      start_peer "$impl" 0
      warm_ttft 1 2000
      measure "$impl-paired-ttft-1.r$r" --concurrency 1 --requests "$(scale 5000)" --max-tokens 1 --warmup 300
      stop_peer
    done
  done
  for key in itl_ms.p90 itl_ms.p99 itl_ms.max server_window.cpu_s; do
    dotnet "$out/loadgen/LoadGenerator.dll" paired "$results" "paired-streams-$n" "$key"
  done
  for key in ttft_ms.p50 server_window.cpu_s; do dotnet "$out/loadgen/LoadGenerator.dll" paired "$results" paired-ttft-1 "$key"; done
  [ "$scenarios" = paired ] && exit 0
fi

# Background responses on Redis against memory (issue 16): in-process server and readers, interleaved rounds.
if has redis; then
  echo "bench: the Redis response store against the in-memory one"
  dotnet run -c Release --project benchmarks/ResponseStoreBenchmark -- $([ $quick = 1 ] && echo --rounds 2 --replays 384) \
    >"$results/redis.md" 2>"$out/redis.log" || { echo "bench: ResponseStoreBenchmark failed:"; tail -20 "$out/redis.log"; exit 1; }
  sed 's/^/  /' "$results/redis.md"
  [ "$scenarios" = redis ] && exit 0
fi

echo "bench: writing docs/benchmarks.md and its plots"
cp benchmarks/design.md "$results/design.md"
dotnet "$out/loadgen/LoadGenerator.dll" report "$results" docs
