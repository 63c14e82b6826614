"""FastAPI + uvicorn peer: the stack vLLM's OpenAI server uses (a StreamingResponse of an async generator).

Streams the synthetic token schedule of the benchmark protocol (/work/spec/bench-protocol.md) with the same bytes
as the .NET peers, and serves GET /bench/stats and POST /bench/reset.

    /usr/bin/python3 benchmarks/Peers/fastapi_peer.py --port 8000 --interval-ms 20
"""

import argparse
import asyncio
import collections
import json
import secrets
import sys
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

WORDS = [" The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
         " It", " was", " not", " a", " bad", " day"]
DEFAULT_MAX_TOKENS = 16


class BenchStats:
    """Counters behind /bench/stats. One event loop runs everything, so plain integers are safe."""

    def __init__(self):
        self.active = 0
        self.reset()

    def reset(self):
        self.started = 0
        self.completed = 0
        self.cancelled = 0
        self.cancellations = collections.deque()

    def start(self):
        self.started += 1
        self.active += 1

    def stop(self, completed, bench_id):
        if completed:
            self.completed += 1
        else:
            stopped_ns = time.monotonic_ns()
            self.cancelled += 1
            self.cancellations.append({"id": bench_id, "stopped_ns": stopped_ns})
        self.active -= 1

    def snapshot(self):
        return {"impl": "fastapi", "active": self.active, "started": self.started, "completed": self.completed,
                "cancelled": self.cancelled, "rss_bytes": rss_bytes(), "managed_bytes": 0,
                "cancellations": list(self.cancellations)}


def rss_bytes():
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def utf16_length(text):
    """String length as .NET counts it (UTF-16 code units), so prompt token estimates agree."""
    return len(text.encode("utf-16-le")) // 2


def prompt_tokens(messages):
    """A quarter of the messages' text characters, rounded up: OpenAiStreaming's estimate when a model reports none."""
    characters = 0
    for message in messages or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            characters += utf16_length(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    characters += utf16_length(part["text"])
    return (characters + 3) // 4


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def create_app(interval_ms):
    app = FastAPI()
    stats = BenchStats()
    interval_ns = int(interval_ms * 1_000_000)

    async def generate(body, bench_id):
        chunk_id = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())
        model = body.get("model", "")
        tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta, finish_reason):
            return "data: " + dumps({"id": chunk_id, "object": "chat.completion.chunk", "created": created,
                                     "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                                  "finish_reason": finish_reason}]}) + "\n\n"

        stats.start()
        completed = False
        try:
            start = time.monotonic_ns()
            yield chunk({"role": "assistant", "content": ""}, None)
            for i in range(tokens):
                if interval_ns > 0 and i > 0:
                    # Absolute deadlines, so lateness does not accumulate; sleep again if a timer fires early.
                    due = start + i * interval_ns
                    while (remaining := due - time.monotonic_ns()) > 0:
                        await asyncio.sleep(remaining / 1e9)
                yield chunk({"content": WORDS[i % len(WORDS)]}, None)
            completed = True
        finally:
            # Reached by asyncio.CancelledError (Starlette cancels the response when uvicorn reports the disconnect)
            # or GeneratorExit (the generator closed while suspended at a yield).
            stats.stop(completed, bench_id)

        yield chunk({}, "length")
        if include_usage:
            prompt = prompt_tokens(body.get("messages"))
            yield "data: " + dumps({"id": chunk_id, "object": "chat.completion.chunk", "created": created,
                                    "model": model, "choices": [],
                                    "usage": {"prompt_tokens": prompt, "completion_tokens": tokens,
                                              "total_tokens": prompt + tokens}}) + "\n\n"
        yield "data: [DONE]\n\n"

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        body = await request.json()
        return StreamingResponse(generate(body, request.headers.get("x-bench-id")),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/bench/stats")
    async def bench_stats():
        return JSONResponse(stats.snapshot())

    @app.post("/bench/reset")
    async def bench_reset():
        stats.reset()
        return Response(status_code=204)

    return app


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--interval-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.interval_ms < 0:
        parser.error("--interval-ms must be non-negative")
    print(f"Peer 'fastapi' starting on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(create_app(args.interval_ms), host=args.host, port=args.port, workers=1,
                access_log=False, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
