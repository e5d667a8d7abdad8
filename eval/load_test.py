"""Load test of the JSON API on loopback: N concurrent clients asking for D seconds, a mix of short
questions, long (500-character) ones and follow-ups, each client one conversation after another.

Starts its own server (``rag serve`` on a free port, the index in settings) unless ``--url`` is given,
and prints throughput, latency p50/p95/max and errors per kind of request and for all, as Markdown and
as one JSON line.

    python -m eval.load_test [--clients 20] [--seconds 60] [--long 0.1] [--followup 0.2]
                             [--mode conversation|history] [--url http://127.0.0.1:7860]

``--mode conversation`` sends a follow-up with the ``conversation_id`` of the client's previous answer;
``--mode history`` sends the client's earlier questions as ``history`` instead (what clients of the
first API did, and the only way to load a service older than issue 14).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# The default questions when no --questions file is given: written for the load test over the seed corpus.
SHORT = [
    "门前五包责任区的范围怎么划定？",
    "沿街商户要负责门前哪些事情？",
    "重点项目建设推进管理办法由哪个部门负责组织实施？",
    "重点项目的考核结果怎么使用？",
    "青年人才来济南有哪些住房方面的支持？",
    "济南的地铁线路规划有哪些？",
    "违反门前五包规定会怎么处理？",
    "重点项目申报需要提交什么材料？",
    "这些管理办法由谁负责解释？",
    "城市管理部门在门前五包中承担什么职责？",
]
FOLLOWUPS = ["那第二项呢？", "这个办法什么时候施行？", "那第三项呢？", "还有其他要求吗？"]
FILLER = ("我是一名在济南经营小超市的个体工商户，店面在一条比较繁华的街道上，平时人流量很大，"
          "门口经常有顾客停放的自行车和电动车，有时候还有流动摊贩在附近摆摊，下雨天门前也容易积水。"
          "最近街道工作人员来店里宣传相关的管理规定，说每个临街的单位和商户都要落实责任，"
          "但是我对具体的要求还不是很清楚，也担心因为不了解规定而被处罚，所以想详细咨询一下。")


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


def long_question(rng: random.Random, n: int, questions: list[str]) -> str:
    q = rng.choice(questions)
    text = FILLER
    while len(text) < n:
        text += FILLER
    return text[: max(0, n - len(q))] + q


def post(url: str, body: dict, timeout: float) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, {}


def client(k: int, args, questions: list[str], stop: float, out: list, lock: threading.Lock) -> None:
    rng = random.Random(k)
    history: list[str] = []
    cid = None
    while time.time() < stop:
        r = rng.random()
        if r < args.long:
            kind, q = "long", long_question(rng, args.long_chars, questions)
        elif r < args.long + args.followup and history:
            kind, q = "followup", rng.choice(FOLLOWUPS)
        else:
            kind, q, history, cid = "short", rng.choice(questions), [], None  # a new conversation
        body: dict = {"question": q}
        if kind == "followup":
            if args.mode == "conversation":
                body["conversation_id"] = cid
            else:
                body["history"] = history[-args.history_turns:]
        t0 = time.perf_counter()
        try:
            status, data = post(args.url.rstrip("/") + "/api/ask", body, args.timeout)
        except Exception as exc:  # noqa: BLE001 - a failed request is counted, whatever it was
            status, data = f"{type(exc).__name__}", {}
        ms = (time.perf_counter() - t0) * 1000
        with lock:
            out.append({"kind": kind, "ms": ms, "status": status})
        if status == 200:
            history.append(q)
            cid = data.get("conversation_id", cid)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="an already running server (default: start one)")
    p.add_argument("--questions", type=Path, help="JSON Lines with a question field (default: the built-in ones)")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--long", type=float, default=0.1, help="share of 500-character questions")
    p.add_argument("--long-chars", type=int, default=500)
    p.add_argument("--followup", type=float, default=0.2, help="share of follow-ups")
    p.add_argument("--history-turns", type=int, default=5, help="--mode history: earlier questions sent")
    p.add_argument("--mode", choices=["conversation", "history"], default="conversation")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--label", default="")
    p.add_argument("--out", help="write the raw latencies here (JSON)")
    args = p.parse_args(argv)

    questions = ([json.loads(x)["question"] for x in args.questions.read_text(encoding="utf-8").splitlines()
                  if x.strip()] if args.questions else SHORT)
    proc = None
    url = args.url
    if not url:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    args.url = url
    out: list[dict] = []
    lock = threading.Lock()
    try:
        _wait(url)
        t0 = time.time()
        stop = t0 + args.seconds
        threads = [threading.Thread(target=client, args=(k, args, questions, stop, out, lock), daemon=True)
                   for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    label = args.label or args.mode
    print("| run | kind | requests | errors | req/s | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("short", "long", "followup", "all"):
        rows = [r for r in out if kind == "all" or r["kind"] == kind]
        ok = [r["ms"] for r in rows if r["status"] == 200]
        errors = len(rows) - len(ok)
        print(f"| {label} | {kind} | {len(rows)} | {errors} | {len(rows) / wall:.1f} | "
              f"{statistics.median(ok) if ok else float('nan'):.0f} | {pct(ok, 95):.0f} | {max(ok, default=float('nan')):.0f} |")
    ok_all = [r["ms"] for r in out if r["status"] == 200]
    errors = len(out) - len(ok_all)
    print(json.dumps({"label": label, "clients": args.clients, "seconds": round(wall, 1), "requests": len(out),
                      "errors": errors, "throughput_rps": round(len(out) / wall, 2),
                      "p50_ms": round(statistics.median(ok_all), 1) if ok_all else None,
                      "p95_ms": round(pct(ok_all, 95), 1)}))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"args": {k: str(v) for k, v in vars(args).items()}, "wall_s": wall, "requests": out}, f)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
