#!/usr/bin/env bash
# A short run of every benchmark tool, for CI: the load generator against the sample server, then the micro suite in
# BenchmarkDotNet's shortest job. Expects `dotnet test` (or `dotnet build`) to have built the sample and the load generator
# (test references); the store benchmark, which no test references, builds here.
set -euo pipefail
cd "$(dirname "$0")/.."

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dotnet run --no-build --project samples/ChatServer -- --urls "http://127.0.0.1:$port" --TinyModel:TokenDelay=00:00:00.002 \
  >/tmp/smoke-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
  sleep 0.1
done

echo "smoke: load generator against the sample server"
dotnet run --no-build --project benchmarks/LoadGenerator -- --base-url "http://127.0.0.1:$port" \
  --concurrency 16 --requests 64 --max-tokens 64 --json /tmp/smoke-load.json
/usr/bin/python3 - /tmp/smoke-load.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["errors"] == 0 and r["requests_ok"] == 64, f"smoke: {r['errors']} errors, {r['requests_ok']} ok: {r.get('error_samples')}"
assert r["tokens"] > 0 and r["ttft_ms"]["count"] == 64, "smoke: no tokens measured"
print(f"smoke: load generator ok: {r['tokens_per_s']:.0f} tokens/s, TTFT p50 {r['ttft_ms']['p50']:.1f} ms")
PY

if command -v redis-server >/dev/null; then
  echo "smoke: the Redis response store against memory, tiny sizes"
  dotnet run --project benchmarks/ResponseStoreBenchmark -- --rounds 2 --responses 4 --tokens 20 --replays 16 --replay-readers 4
fi

echo "smoke: micro suite, shortest job"
dotnet run -c Release --project benchmarks/OpenAiStreaming.Benchmarks -- --filter '*' --job dry --inProcess
