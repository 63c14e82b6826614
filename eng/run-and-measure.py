#!/usr/bin/env python3
"""Starts a server binary on a free loopback port, measures its start-up (spawn to the first answered request) and its
resident memory, streams one chat completion through it and checks every chunk, then stops it.

usage: run-and-measure.py LABEL RUNS COMMAND...   (the server takes its address from ASPNETCORE_URLS)
Prints one JSON object: {"label", "startup_ms": [...], "rss_mib", "peak_rss_mib"}; exits non-zero on any failure.
"""
import http.client, json, os, signal, socket, statistics, subprocess, sys, time

MODEL, PROMPT = "echo", "hello from a native binary"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=1.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def start(command, port, deadline_s=30.0):
    env = dict(os.environ, ASPNETCORE_URLS=f"http://127.0.0.1:{port}")
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while time.perf_counter() - t0 < deadline_s:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            if get(port, "/v1/models")[0] == 200:
                return proc, (time.perf_counter() - t0) * 1000
        except OSError:
            time.sleep(0.002)  # polling for the port to open: the measured thing, not a stand-in for a signal
    proc.kill()
    raise SystemExit(f"server did not answer within {deadline_s} s")


def stream_one(port):
    body = json.dumps({"model": MODEL, "stream": True, "stream_options": {"include_usage": True},
                       "messages": [{"role": "user", "content": PROMPT}]})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 200, f"status {r.status}: {r.read()[:500]!r}"
    assert r.getheader("Content-Type", "").startswith("text/event-stream"), r.getheader("Content-Type")
    events = [line[6:] for line in r.read().decode().split("\n") if line.startswith("data: ")]
    c.close()
    assert events and events[-1] == "[DONE]", f"stream did not end with [DONE]: {events[-3:]}"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"])
    finish = [ch["choices"][0]["finish_reason"] for ch in chunks if ch["choices"] and ch["choices"][0]["finish_reason"]]
    assert text == PROMPT, f"streamed text {text!r}"
    assert finish == ["stop"], f"finish reasons {finish}"
    assert chunks[-1]["usage"]["completion_tokens"] == len(PROMPT.split()), chunks[-1]


def memory_mib(pid):
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return [int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")]


def main():
    label, runs, command = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    startups, rss, peak = [], None, None
    for run in range(runs):
        port = free_port()
        proc, ms = start(command, port)
        try:
            startups.append(round(ms, 1))
            stream_one(port)
            if run == runs - 1:
                rss, peak = memory_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    print(json.dumps({"label": label, "startup_ms": startups, "startup_median_ms": statistics.median(startups),
                      "rss_mib": round(rss, 1), "peak_rss_mib": round(peak, 1)}))


main()
