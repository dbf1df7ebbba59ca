"""Load on ``rag serve``: concurrent clients mixing ``/v1/search`` and streamed chats.

Starts ``rag serve`` as a real process, then ``--clients`` threads each send ``--rounds`` requests
(a chat with probability ``--chat-share``, else a search; questions from evals/dev_questions.jsonl,
seeded). A monitor polls ``/healthz`` every 0.1 s, so each search is classed by whether the model
was generating for its whole duration. Reported: search p50/p95 while the model generates vs idle,
chat time to first piece and total, how many chats finished / got 429 (with Retry-After) / failed
/ timed out ("hung"), and any 5xx. A chat that gets 429 is not retried: the client moves on.

    .venv/bin/python benchmarks/load_api.py --index /tmp/seed --generator local \
        --json benchmarks/load_api.json --md benchmarks/load_api.md
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One request as the client saw it."""

    kind: str  # search | chat
    start: float
    end: float
    status: int  # HTTP status; 0 = no response (timeout / connection error)
    first_piece: float | None = None  # chat: seconds to the first content piece
    retry_after: str = ""
    error: str = ""
    generator: str = ""


@dataclass
class Monitor:
    """``/healthz`` sampled every 0.1 s: (time, model busy, waiting)."""

    samples: list[tuple[float, bool, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def busy_throughout(self, start: float, end: float) -> bool:
        """Whether every sample in [start, end] (and the one just before) says the model was generating."""
        inside = [b for t, b, _ in self.samples if start <= t <= end]
        before = [b for t, b, _ in self.samples if t < start][-1:]
        return bool(inside + before) and all(inside + before)

    def idle_throughout(self, start: float, end: float) -> bool:
        """Whether no sample in [start, end] (nor the one just before) says the model was generating."""
        inside = [b for t, b, _ in self.samples if start <= t <= end]
        before = [b for t, b, _ in self.samples if t < start][-1:]
        return bool(inside + before) and not any(inside + before)


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``rag serve`` as a separate process; returns once ``/healthz`` answers."""
    import httpx

    env = {**os.environ, "RAG_GENERATOR": args.generator, "RAG_MAX_QUEUE": str(args.max_queue), "RAG_API_KEYS": "",
           "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)] + (["--index", args.index] if args.index else [])
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited ({proc.returncode}): {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("rag serve did not start within 180 s")


def monitor(base: str, mon: Monitor) -> None:
    """Sample the queue state until told to stop."""
    import httpx

    with httpx.Client(timeout=5) as http:
        while not mon.stop.is_set():
            try:
                q = http.get(f"{base}/healthz").json()["queue"]
                mon.samples.append((time.monotonic(), bool(q["busy"]), int(q["waiting"])))
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            mon.stop.wait(0.1)


def do_search(http: Any, base: str, query: str) -> Result:
    """One ``POST /v1/search``."""
    t0 = time.monotonic()
    try:
        resp = http.post(f"{base}/v1/search", json={"query": query})
        return Result("search", t0, time.monotonic(), resp.status_code, error="" if resp.is_success else resp.text[:200])
    except Exception as exc:  # a benchmark records every failure instead of stopping
        return Result("search", t0, time.monotonic(), 0, error=f"{type(exc).__name__}: {exc}")


def do_chat(http: Any, base: str, question: str, model: str) -> Result:
    """One streamed ``POST /v1/chat/completions``, read to the end."""
    t0 = time.monotonic()
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": question}]}
    first: float | None = None
    try:
        with http.stream("POST", f"{base}/v1/chat/completions", json=body) as resp:
            if resp.status_code != 200:
                resp.read()
                return Result("chat", t0, time.monotonic(), resp.status_code, retry_after=resp.headers.get("retry-after", ""),
                              error=resp.text[:200])
            generator, error = "", ""
            for line in resp.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    error = event["error"]["message"]
                    continue
                delta = event["choices"][0]["delta"]
                if delta.get("content") and first is None:
                    first = time.monotonic() - t0
                generator = event.get("generator", generator)
            return Result("chat", t0, time.monotonic(), 200, first, error=error, generator=generator)
    except Exception as exc:  # timeouts are the "hung" requests this benchmark looks for
        return Result("chat", t0, time.monotonic(), 0, first, error=f"{type(exc).__name__}: {exc}")


def client(i: int, args: argparse.Namespace, base: str, questions: list[str], out: list[Result]) -> None:
    """One client: ``rounds`` requests, chats and searches mixed by a per-client seeded draw."""
    import httpx

    rng = random.Random(args.seed * 1000 + i)
    deadline = time.monotonic() + args.max_seconds
    with httpx.Client(timeout=args.timeout) as http:
        for _ in range(args.rounds):
            if time.monotonic() > deadline:  # no new requests after --max-seconds; those in flight finish
                break
            question = rng.choice(questions)
            if rng.random() < args.chat_share:
                out.append(do_chat(http, base, question, args.model))
            else:
                out.append(do_search(http, base, question))
            r = out[-1]
            print(f"{len(out):4d} {r.kind:6s} {r.status} {r.end - r.start:7.2f}s {r.error[:80]}", file=sys.stderr,
                  flush=True)


def pct(values: list[float], q: float) -> float | None:
    """The q-quantile (ms, rounded) of values in seconds, or None."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] * 1000, 1)


def summarize(results: list[Result], mon: Monitor, args: argparse.Namespace, wall: float) -> dict[str, Any]:
    """Counts and latency percentiles (ms)."""
    searches = [r for r in results if r.kind == "search"]
    chats = [r for r in results if r.kind == "chat"]
    ok_s = [r for r in searches if r.status == 200]
    busy = [r.end - r.start for r in ok_s if mon.busy_throughout(r.start, r.end)]
    idle = [r.end - r.start for r in ok_s if mon.idle_throughout(r.start, r.end)]
    done = [r for r in chats if r.status == 200 and not r.error]
    gen = [r for r in done if r.generator not in ("", "extractive")]  # the model's own words kept
    return {
        "config": {k: v for k, v in vars(args).items() if k not in ("json", "md")},
        "machine": {"cpus": os.cpu_count(), "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "wall_s": round(wall, 1), "requests": len(results), "not_sent": args.clients * args.rounds - len(results),
        "search": {"sent": len(searches), "ok": len(ok_s), "failed": len(searches) - len(ok_s),
                   "all_ms": {"p50": pct([r.end - r.start for r in ok_s], 0.5),
                              "p95": pct([r.end - r.start for r in ok_s], 0.95)},
                   "while_generating_ms": {"n": len(busy), "p50": pct(busy, 0.5), "p95": pct(busy, 0.95)},
                   "model_idle_ms": {"n": len(idle), "p50": pct(idle, 0.5), "p95": pct(idle, 0.95)}},
        "chat": {"sent": len(chats), "finished": len(done), "generated_by_model": len(gen),
                 "refused_429": sum(r.status == 429 for r in chats),
                 "retry_after_s": sorted({r.retry_after for r in chats if r.retry_after}),
                 "errors": [r.error for r in chats if r.status not in (200, 429) or (r.status == 200 and r.error)][:10],
                 "timed_out": sum(r.status == 0 for r in chats),
                 "first_piece_ms": {"p50": pct([r.first_piece for r in done if r.first_piece], 0.5),
                                    "p95": pct([r.first_piece for r in done if r.first_piece], 0.95)},
                 "total_ms": {"p50": pct([r.end - r.start for r in done], 0.5),
                              "p95": pct([r.end - r.start for r in done], 0.95)}},
        "server_errors_5xx": sum(r.status >= 500 for r in results),
        "max_waiting_seen": max((w for _, _, w in mon.samples), default=0),
        "model_busy_share": round(sum(b for _, b, _ in mon.samples) / max(1, len(mon.samples)), 3),
    }


def markdown(s: dict[str, Any]) -> str:
    """A short section for benchmarks/load_api.md."""
    c, q, ch = s["config"], s["search"], s["chat"]
    return "\n".join([
        "## API under load (`benchmarks/load_api.py`)", "",
        f"{c['clients']} concurrent clients × {c['rounds']} requests (chat share {c['chat_share']}), generator "
        f"`{c['generator']}`, queue limit {c['max_queue']}, {s['machine']['cpus']} CPUs, load average at the end "
        f"{s['machine']['loadavg_end'][0]}; wall {s['wall_s']} s; the model was generating in "
        f"{s['model_busy_share'] * 100:.0f}% of the samples.", "",
        "| | n | p50 ms | p95 ms |", "|---|---:|---:|---:|",
        f"| search while the model generates | {q['while_generating_ms']['n']} | {q['while_generating_ms']['p50']} | "
        f"{q['while_generating_ms']['p95']} |",
        f"| search, model idle | {q['model_idle_ms']['n']} | {q['model_idle_ms']['p50']} | {q['model_idle_ms']['p95']} |",
        f"| search, all | {q['ok']} | {q['all_ms']['p50']} | {q['all_ms']['p95']} |",
        f"| chat, first text (queue wait included) | {ch['finished']} | {ch['first_piece_ms']['p50']} | "
        f"{ch['first_piece_ms']['p95']} |",
        f"| chat, whole answer (finished ones) | {ch['finished']} | {ch['total_ms']['p50']} | {ch['total_ms']['p95']} |",
        "",
        f"Chats: {ch['sent']} sent, {ch['finished']} finished ({ch['generated_by_model']} kept the model's own words; "
        "the others were answered from the table/extractively or the model's text was replaced after the figure "
        "check), "
        f"{ch['refused_429']} got 429 (Retry-After {', '.join(ch['retry_after_s']) or '—'} s), "
        f"{ch['timed_out']} timed out, {len(ch['errors'])} other errors; searches failed: {q['failed']}; "
        f"5xx: {s['server_errors_5xx']}; most requests seen waiting: {s['max_waiting_seen']}; requests not sent "
        f"(clients stop starting new ones after {c['max_seconds']:.0f} s): {s['not_sent']}.", ""])


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, run the clients, stop the server; the summary."""
    cases = [json.loads(x) for x in (ROOT / "evals" / "dev_questions.jsonl").read_text(encoding="utf-8").splitlines()
             if x.strip()]
    questions = [c["question"] for c in cases if c.get("answerable", True) and "question" in c]
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(args.log)
    proc = start_server(args, port, log)
    mon = Monitor()
    watcher = threading.Thread(target=monitor, args=(base, mon), daemon=True)
    watcher.start()
    results: list[Result] = []
    try:
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(i, args, base, questions, results)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
    finally:
        mon.stop.set()
        watcher.join(5)
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    summary = summarize(results, mon, args, wall)
    summary["results"] = [asdict(r) | {"start": round(r.start - t0, 3), "end": round(r.end - t0, 3)} for r in results]
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", help="index directory (default RAG_INDEX_DIR)")
    p.add_argument("--generator", default="local", choices=["auto", "local", "openai", "extractive"])
    p.add_argument("--model", default="gov-report-rag", help="chat profile the clients ask for")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--rounds", type=int, default=6, help="requests per client")
    p.add_argument("--chat-share", type=float, default=0.3)
    p.add_argument("--max-queue", type=int, default=8)
    p.add_argument("--timeout", type=float, default=600, help="client timeout per request (s): beyond it = hung")
    p.add_argument("--max-seconds", type=float, default=600, help="clients send no new request after this")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--port", type=int)
    p.add_argument("--log", default="/tmp/load_api_serve.log")
    p.add_argument("--json", help="write the summary (and every request) here")
    p.add_argument("--md", help="write the markdown section here")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server process is stopped too
    summary = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.md:
        Path(args.md).write_text("# Benchmarks: the HTTP API\n\n" + markdown(summary), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
