#!/usr/bin/env python3
"""Turns the JSON written by benchmarks/run.sh into docs/benchmarks.md and its gnuplot plots.

usage: report.py RESULTS_DIR DOCS_DIR
       report.py --median RESULTS_DIR NAME KEY   picks the median of the rounds NAME.r1 ... NAME.rN by KEY
"""
import datetime
import glob
import shutil
import json
import os
import platform
import re
import subprocess
import sys

PEERS = ["builtin", "handwritten", "ours", "fastapi"]
NAMES = {
    "builtin": ".NET `TypedResults.ServerSentEvents`",
    "handwritten": "hand-written `WriteAsync` + flush",
    "ours": "OpenAiStreaming (pump, metrics, heartbeats)",
    "fastapi": "FastAPI + uvicorn",
}
GAP_LIMIT_MS = 60  # 50 ms interval + 10 ms


def load(results, name):
    path = os.path.join(results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(x, digits=1):
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def ratio(a, b):
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.2f}×"


def verdict(ok):
    return "**holds**" if ok else "**misses**"


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def environment():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = run(["/usr/bin/python3", "-c", "import fastapi, uvicorn; print(fastapi.__version__, uvicorn.__version__)"]).split()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "dotnet": run(["dotnet", "--version"]),
        "python": platform.python_version(),
        "fastapi": versions[0] if len(versions) == 2 else "?",
        "uvicorn": versions[1] if len(versions) == 2 else "?",
        "commit": run(["git", "rev-parse", "--short", "HEAD"]),
        "date": datetime.date.today().isoformat(),
    }


def value(result, key):
    """A dotted KEY of a load-generator result; a missing one (no gaps measured) counts as infinitely bad."""
    for part in key.split("."):
        result = result.get(part) if isinstance(result, dict) else None
    return float("inf") if result is None else result


def median(results, name, key):
    """Copies the round of NAME with the median KEY (the upper one of an even count) to NAME.json, with its
    memory and steal files, and records every round in NAME.rounds.json; prints the median."""
    rounds = []
    for path in glob.glob(os.path.join(results, f"{glob.escape(name)}.r*.json")):
        m = re.fullmatch(re.escape(name) + r"\.r(\d+)\.json", os.path.basename(path))
        if m:
            with open(path) as f:
                rounds.append((value(json.load(f), key), int(m.group(1))))
    if not rounds:
        sys.exit(f"report.py: no rounds of {name} in {results}")
    rounds.sort()
    chosen = rounds[len(rounds) // 2]
    stem = os.path.join(results, f"{name}.r{chosen[1]}")
    shutil.copyfile(stem + ".json", os.path.join(results, name + ".json"))
    for extra in (".rss.json", ".steal"):
        if os.path.exists(stem + extra):
            shutil.copyfile(stem + extra, os.path.join(results, name + extra))
    with open(os.path.join(results, name + ".rounds.json"), "w") as f:
        json.dump({"key": key, "values": [v if v != float("inf") else None for v, _ in rounds]}, f)
    print(chosen[0])


def spread(results, name):
    """The rounds' smallest and largest value of the key the median was picked by, as "a–b", or "" for one round."""
    path = os.path.join(results, name + ".rounds.json")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        values = [v for v in json.load(f)["values"] if v is not None]
    if len(values) < 2:
        return ""
    return f"{fmt(min(values))}–{fmt(max(values))}"


def memory_steps(results, peer):
    """The stream counts of the peer's memory runs, in order."""
    return sorted(int(m.group(1)) for f in os.listdir(results)
                  if (m := re.fullmatch(re.escape(peer) + r"-memory-(\d+)\.rss\.json", f)))


def memory_per_stream(results, peer):
    """KiB per open stream: the slope of the peak resident memory between the fewest and the most open streams."""
    steps = memory_steps(results, peer)
    if len(steps) < 2:
        return "–"
    first, last = load(results, f"{peer}-memory-{steps[0]}.rss"), load(results, f"{peer}-memory-{steps[-1]}.rss")
    return fmt((last["peak_rss_kib"] - first["peak_rss_kib"]) / (steps[-1] - steps[0]))


def steal(results):
    """CPU steal (per mille of all CPU time) during every measured run, as (median, max)."""
    values = []
    for path in glob.glob(os.path.join(results, "*.r*.steal")):
        with open(path) as f:
            values.append(int(f.read().strip() or 0))
    values.sort()
    return (values[len(values) // 2], values[-1]) if values else (None, None)


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    if sys.argv[1] == "--median":
        median(*sys.argv[2:5])
        return
    results, docs = sys.argv[1], sys.argv[2]
    plots = os.path.join(docs, "benchmarks")
    os.makedirs(plots, exist_ok=True)
    peers = [p for p in PEERS if load(results, f"{p}-saturation-64")]
    env = environment()
    rounds = sum(1 for f in os.listdir(results) if re.fullmatch(re.escape(f"{peers[0]}-saturation-64") + r"\.r\d+\.json", f))
    steal_median, steal_max = steal(results)
    repeated = sum(1 for f in os.listdir(results) if re.search(r"\.stolen\d+\.json$", f))
    md = []
    w = md.append

    w("# Benchmarks\n")
    w("Four servers stream the same synthetic token schedule, byte for byte (see `benchmarks/Peers/README.md`): "
      + ", ".join(f"**{p}** ({NAMES[p]})" for p in peers)
      + ". `benchmarks/LoadGenerator` drives each in turn with the same load, and ratios are against the .NET "
        "built-in. Each server runs pinned to CPU 0 and the load generator to CPU 1, so the figures are what one "
        "core of server does with one core of client.\n")
    w(f"A shared machine drifts by tens of percent over minutes, so the servers take turns in each of {rounds} "
      "round(s) (A B C D, A B C D, ...), each run on a freshly started and warmed-up server, and every figure below is "
      "the round with the median result; \"rounds\" columns give the smallest and largest result of all rounds. A "
      "virtual machine also loses CPU to other guests of its hypervisor (steal), and on this one a 200-stream step "
      "failed in every run that lost more than 4% and passed in every run that lost less than 1.5%, so a run that loses "
      f"more than 2% is set aside and run again: {repeated} run(s) were. CPU steal during the runs kept: median "
      f"{fmt(steal_median and steal_median / 10)}%, worst {fmt(steal_max and steal_max / 10)}%.\n")
    w("Reproduce (writes this page and its plots):\n\n    benchmarks/run.sh\n")
    w(f"Measured {env['date']} at commit {env['commit']} on {env['cpu']}, {env['cores']} cores, .NET SDK "
      f"{env['dotnet']}, FastAPI {env['fastapi']} with uvicorn {env['uvicorn']}. Two cores is a small machine: "
      "compare the ratios, not the absolute numbers, with yours.\n")

    # Saturation
    sat = {p: load(results, f"{p}-saturation-64") for p in peers}
    b = sat.get("builtin")
    w("## Saturation: 64 streams of 1,000 tokens, as fast as possible\n")
    w("Each concurrency level keeps its streams busy for 3 s (streams in flight then finish).\n")
    w("OpenAiStreaming's pump never lets the model wait for the network: with an instant backend every client is "
      "slower than its model, so past 64 queued deltas the pump merges new text into the last one (by design: a "
      "slow client never stalls the model). Its events then carry several tokens each, so **tokens/s**, what the "
      "users receive, is the measure that compares; events/s is shown beside it.\n")
    w("| server | tokens/s | rounds | tokens/s vs built-in | events/s | events/s vs built-in | tokens per event | gap p99 ms | errors |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in peers:
        r = sat[p]
        w(f"| {p} | {fmt(r['tokens_per_s'])} | {spread(results, f'{p}-saturation-64')} | {ratio(r['tokens_per_s'], b and b['tokens_per_s'])} | {fmt(r['events_per_s'])} "
          f"| {ratio(r['events_per_s'], b and b['events_per_s'])} | {fmt(r['tokens'] / max(r['events'], 1), 2)} "
          f"| {fmt(r['itl_ms']['p99'], 3)} | {r['errors']} |")
    un = load(results, "ours-unmerged-saturation-64")
    if un:
        w(f"| ours, one chunk per token (`MaxQueuedDeltas` 10⁶) | {fmt(un['tokens_per_s'])} | "
          f"{spread(results, 'ours-unmerged-saturation-64')} | "
          f"{ratio(un['tokens_per_s'], b and b['tokens_per_s'])} | {fmt(un['events_per_s'])} | "
          f"{ratio(un['events_per_s'], b and b['events_per_s'])} | {fmt(un['tokens'] / max(un['events'], 1), 2)} | "
          f"{fmt(un['itl_ms']['p99'], 3)} | {un['errors']} |")
    w("")
    if un and b:
        w(f"- Events per second with one chunk per token, as the others write: ours "
          f"{ratio(un['events_per_s'], b['events_per_s'])} the built-in, "
          f"{verdict(un['events_per_s'] >= b['events_per_s'])} against 1.0×"
          f"{' and the 1.3× aim' if un['events_per_s'] >= 1.3 * b['events_per_s'] else ''} "
          "(several ready deltas per flush; the writer allocates nothing per event).")
    if "ours" in sat and b:
        o = sat["ours"]
        w(f"- Target: ours ≥ 1.0× the built-in with every feature on (aim 1.3×): tokens/s "
          f"{ratio(o['tokens_per_s'], b['tokens_per_s'])}, {verdict(o['tokens_per_s'] >= b['tokens_per_s'])}"
          f"{' (the 1.3× aim holds too)' if o['tokens_per_s'] >= 1.3 * b['tokens_per_s'] else ''}; counted in events it "
          f"is {ratio(o['events_per_s'], b['events_per_s'])}, because each of our events carries "
          f"{fmt(o['tokens'] / max(o['events'], 1), 1)} tokens.")
    if "ours" in sat and "fastapi" in sat:
        o, f = sat["ours"], sat["fastapi"]
        w(f"- Target: ours ≥ 20× FastAPI/uvicorn: tokens/s {ratio(o['tokens_per_s'], f['tokens_per_s'])}, "
          f"{verdict(o['tokens_per_s'] >= 20 * f['tokens_per_s'])}; in events/s "
          f"{ratio(o['events_per_s'], f['events_per_s'])} (the built-in itself is "
          f"{ratio(b and b['events_per_s'], f['events_per_s'])} FastAPI).")
    w("")
    conc = [1, 4, 16, 64, 256]
    with open(os.path.join(results, "throughput.dat"), "w") as f:
        f.write("# concurrency " + " ".join(peers) + "\n")
        for c in conc:
            row = [load(results, f"{p}-saturation-{c}") for p in peers]
            f.write(f"{c} " + " ".join(str(r["tokens_per_s"]) if r else "?" for r in row) + "\n")
    gnuplot(f"""
set terminal pngcairo size 900,540 font 'DejaVu Sans,11'
set output '{plots}/throughput.png'
set title 'Throughput against concurrency (instant backend, 1,000-token streams)'
set xlabel 'concurrent streams'; set ylabel 'tokens delivered per second'
set logscale x 2; set xrange [0.8:320]; set xtics ({','.join(str(c) for c in conc)}); set grid; set key outside right
set datafile missing '?'
plot """ + ", ".join(f"'{results}/throughput.dat' using 1:{i + 2} with linespoints lw 2 title '{p}'"
                      for i, p in enumerate(peers)))
    w("![Throughput against concurrency](benchmarks/throughput.png)\n")
    w("| concurrency | " + " | ".join(f"{p} tokens/s" for p in peers) + " | ours vs built-in |")
    w("|---:|" + "---:|" * (len(peers) + 1))
    for c in conc:
        row = {p: load(results, f"{p}-saturation-{c}") for p in peers}
        o, bb = row.get("ours"), row.get("builtin")
        w(f"| {c} | " + " | ".join(fmt(row[p]["tokens_per_s"]) if row[p] else "–" for p in peers)
          + f" | {ratio(o and o['tokens_per_s'], bb and bb['tokens_per_s'])} |")
    w("")

    # TTFT
    w("## Time to first token with an instant backend\n")
    w("The backend yields its token at once, so this is what the serving stack adds: request parsing, the first "
      "write and flush, and the client's read.\n")
    w("| server | 1 stream p50 ms | rounds | 1 stream p99 ms | 100 streams p50 ms | rounds | 100 streams p99 ms | p50 vs built-in (1 / 100) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    t1b, t100b = load(results, "builtin-ttft-1"), load(results, "builtin-ttft-100")
    for p in peers:
        t1, t100 = load(results, f"{p}-ttft-1"), load(results, f"{p}-ttft-100")
        if not t1 or not t100:
            continue
        w(f"| {p} | {fmt(t1['ttft_ms']['p50'], 3)} | {spread(results, f'{p}-ttft-1')} | {fmt(t1['ttft_ms']['p99'], 3)} "
          f"| {fmt(t100['ttft_ms']['p50'], 2)} | {spread(results, f'{p}-ttft-100')} | {fmt(t100['ttft_ms']['p99'], 2)} | {ratio(t1['ttft_ms']['p50'], t1b and t1b['ttft_ms']['p50'])} / "
          f"{ratio(t100['ttft_ms']['p50'], t100b and t100b['ttft_ms']['p50'])} |")
    w("")

    # Concurrency ramp
    w("## Open streams at 20 tokens/s each\n")
    w("Every stream gets a token every 50 ms; the load ramps from 100 to 10,000 open streams (each step opens its "
      f"streams over a second per thousand, then holds them for 10 s). A step passes while the median round's p99 gap "
      f"between tokens stays within {GAP_LIMIT_MS} ms (the interval + 10 ms); a server's ramp stops at its first step "
      "that fails. Cells give that p99 and, in brackets, the rounds' smallest and largest; every step runs on a freshly "
      "started server. Memory per open stream is measured apart, with streams at 1 token/s so that no server falls "
      "behind and buffers: the slope of the server's peak resident memory between "
      + " and ".join(f"{n:,}" for n in memory_steps(results, peers[0]))
      + " open streams, each count on a fresh server (so the growth any fresh process pays cancels out).\n")
    steps = sorted({int(m.group(1)) for f in glob.glob(os.path.join(results, "*-streams-*.json"))
                    if (m := re.search(r"-streams-(\d+)\.json$", f))})
    w("| server | largest passing count | " + " | ".join(f"p99 gap at {n:,}" for n in steps) + " | KiB per open stream |")
    w("|---|---:|" + "---:|" * (len(steps) + 1))
    for p in peers:
        best, cells = None, []
        for n in steps:
            r = load(results, f"{p}-streams-{n}")
            if not r:
                cells.append("–")
                continue
            p99 = r["itl_ms"]["p99"]
            ok = p99 is not None and p99 <= GAP_LIMIT_MS and r["errors"] == 0
            rng = spread(results, f"{p}-streams-{n}")
            cells.append(f"{fmt(p99)} ms{f' ({rng})' if rng else ''}{'' if ok else ' ✗'}")
            if ok:
                best = n
        w(f"| {p} | {f'{best:,}' if best else 'none'} | " + " | ".join(cells) + f" | {memory_per_stream(results, p)} |")
    w("")
    step = max([n for n in steps if all(load(results, f"{p}-streams-{n}") for p in peers)] or [0])
    if step:
        lines = []
        for p in peers:
            r = load(results, f"{p}-streams-{step}")
            total = sum(c for _, c in r["itl_histogram"]) or 1
            acc = 0
            with open(os.path.join(results, f"gaps-{p}.dat"), "w") as f:
                for upper, count in r["itl_histogram"]:
                    acc += count
                    f.write(f"{upper} {acc / total}\n")
            lines.append(f"'{results}/gaps-{p}.dat' using 1:2 with steps lw 2 title '{p}'")
        gnuplot(f"""
set terminal pngcairo size 900,540 font 'DejaVu Sans,11'
set output '{plots}/gaps.png'
set title 'Inter-token gaps at {step:,} open streams, 20 tokens/s each (cumulative)'
set xlabel 'gap between tokens (ms)'; set ylabel 'fraction of gaps at most x'
set logscale x; set grid; set key bottom right; set yrange [0:1.02]; set xrange [1:*]
plot """ + ", ".join(lines))
        w(f"![Inter-token gap distribution at {step:,} streams](benchmarks/gaps.png)\n")

    # Storm
    w("## Disconnect storm\n")
    w("Streams at 20 tokens/s, each aborted by the client right after its first token. Cancellation latency is the "
      "time from the client's abort to the moment the server's token loop stopped (both read the same monotonic "
      "clock); \"left running\" counts generations still active once the storm is over. 1,000 streams connect, get a "
      "token and go away at once, over and over: every server's one core is saturated by the churn (see its TTFT), so "
      "the latencies are mostly queueing, and what must hold is that every generation stops.\n")
    w("| server | aborted streams | TTFT p50 ms | cancel p50 ms | cancel p99 ms | rounds | cancel max ms | without a stop record | left running | errors |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in peers:
        r = load(results, f"{p}-storm")
        if not r:
            continue
        c = r.get("cancel_ms") or {}
        w(f"| {p} | {r.get('requests_aborted', '–')} | {fmt(r['ttft_ms']['p50'], 1)} | {fmt(c.get('p50'), 2)} | {fmt(c.get('p99'), 2)} | "
          f"{spread(results, f'{p}-storm')} | "
          f"{fmt(c.get('max'), 2)} | {r.get('cancel_unmatched', '–')} | {r.get('left_running', '–')} | {r['errors']} |")
    w("")

    w("## Reading the figures\n")
    w("- **events/s** counts SSE events that carry content; **tokens/s** counts `usage.completion_tokens`. They "
      "differ only when a server merges deltas for a slow client (OpenAiStreaming does past 64 queued deltas).")
    w("- Gaps are measured by the client between successive content events, so they include the client's own "
      "scheduling; the same client measures every server.")
    w("- At 20 tokens/s the cost is one timer wake-up, one write and one flush per token on every server, so a few "
      "hundred streams bring one core near its limit whatever the stack. There OpenAiStreaming pays one thread-pool "
      "hop per token more than the others: the pump hands each token from the model's task to the response's task, "
      "so that a model loop never runs an HTTP write itself (a batch loop serving 256 sequences would otherwise do "
      "256 writes per step). That hop is what separates it from the built-in at the step where both fail.")
    w("- The raw results (one JSON per run and round, in the load generator's format, and `NAME.json` for the median "
      "round) are in `benchmarks/results/` after a run.")
    w("")

    with open(os.path.join(docs, "benchmarks.md"), "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
