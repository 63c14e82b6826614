#!/usr/bin/env bash
# Native AOT check, for CI: publishes samples/AotChatServer with PublishAot=true (every trim or AOT warning fails it),
# streams one chat completion through the native binary, and sets its start-up time and memory beside the same app
# on the JIT. Needs clang and zlib1g-dev (.ci/run installs them). Prints one "aot:" summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${AOT_CHECK_OUT:-$(mktemp -d)}
runs=${AOT_CHECK_RUNS:-5}
trap '[ -n "${AOT_CHECK_OUT:-}" ] || rm -rf "$out"' EXIT
mkdir -p "$out"

echo "aot: publishing samples/AotChatServer with Native AOT"
start=$(date +%s)
dotnet publish samples/AotChatServer -c Release -r linux-x64 -o "$out/native" >"$out/native.log" 2>&1 || {
  tail -50 "$out/native.log"; echo "aot: native publish failed"; exit 1; }
publish_s=$(( $(date +%s) - start ))
# Trim (IL2xxx) and AOT (IL3xxx) warnings, counted once each; the project also turns them into errors.
warnings=$({ grep -oE 'warning IL[0-9]{4}[^[]*' "$out/native.log" || true; } | sort -u | wc -l)
if [ "$warnings" -ne 0 ]; then
  grep -E 'warning IL[0-9]{4}' "$out/native.log" | sort -u; echo "aot: $warnings trim/AOT warnings"; exit 1
fi

echo "aot: publishing the same app for the JIT"
dotnet publish samples/AotChatServer -c Release -p:PublishAot=false -o "$out/jit" >"$out/jit.log" 2>&1 || {
  tail -50 "$out/jit.log"; echo "aot: JIT publish failed"; exit 1; }

native=$(python3 eng/run-and-measure.py native "$runs" "$out/native/AotChatServer")
jit=$(python3 eng/run-and-measure.py jit "$runs" dotnet "$out/jit/AotChatServer.dll")
echo "aot: $native"
echo "aot: $jit"
size=$(stat -c %s "$out/native/AotChatServer")
python3 - "$native" "$jit" "$size" "$publish_s" "$warnings" <<'PY'
import json, sys
n, j = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"aot: {sys.argv[5]} trim/AOT warnings, native binary {int(sys.argv[3]) / 2**20:.1f} MiB (published in {sys.argv[4]} s); "
      f"start-up median native {n['startup_median_ms']:.0f} ms vs JIT {j['startup_median_ms']:.0f} ms; "
      f"RSS after one stream native {n['rss_mib']:.0f} MiB vs JIT {j['rss_mib']:.0f} MiB")
PY
