"""Load test of the JSON API on loopback: N concurrent clients asking for D seconds.

Starts its own server (``rag serve`` on a free port, the index in settings) unless ``--url`` is given,
cycles through the dev questions, and prints throughput, latency p50/p95/max and errors, as Markdown
and as one JSON line.

    python -m eval.load_test [--clients 20] [--seconds 60] [--url http://127.0.0.1:7860]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

FALLBACK = ["门前五包具体包括哪五项内容？", "济政办发〔2021〕19号的第十二条讲了哪些内容？", "济南轨道交通6号线哪年通车？"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/api/health", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server at {url} did not come up in {timeout:.0f} s")


def client(url: str, questions: list[str], stop: float, offset: int, out: list, errors: list) -> None:
    i = offset
    while time.time() < stop:
        q = questions[i % len(questions)]
        i += 1
        body = json.dumps({"question": q}).encode()
        req = urllib.request.Request(url + "/api/ask", body, {"Content-Type": "application/json"})
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                data = json.loads(r.read())
                if r.status != 200 or "answer" not in data:
                    errors.append(f"status {r.status}")
                    continue
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors.append(type(exc).__name__ + ": " + str(exc)[:80])
            continue
        out.append((time.perf_counter() - t0) * 1000)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--url", help="an already running server (default: start one)")
    ap.add_argument("--questions", type=Path, default=Path("../shared/eval/dev.jsonl"))
    args = ap.parse_args(argv)
    questions = [json.loads(x)["question"] for x in args.questions.read_text(encoding="utf-8").splitlines()
                 if x.strip()] if args.questions.exists() else FALLBACK

    proc = None
    url = args.url
    if not url:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        _wait(url)
        latencies: list[float] = []
        errors: list[str] = []
        stop = time.time() + args.seconds
        threads = [threading.Thread(target=client, args=(url, questions, stop, i * 7, latencies, errors))
                   for i in range(args.clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    result = {"clients": args.clients, "seconds": round(wall, 1), "requests": len(latencies),
              "errors": len(errors), "throughput_rps": round(len(latencies) / wall, 2),
              "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
              "max_ms": round(float(np.max(lat)), 1)}
    print("| clients | seconds | requests | errors | throughput (req/s) | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    print("| " + " | ".join(str(result[k]) for k in ("clients", "seconds", "requests", "errors", "throughput_rps",
                                                       "p50_ms", "p95_ms", "max_ms")) + " |")
    if errors:
        print("first errors:", errors[:5])
    print(json.dumps(result))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
