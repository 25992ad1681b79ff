"""Load test of POST /ask: N concurrent clients asking a mix of structured and open questions for a fixed
time, then throughput, p50/p95 latency per question kind and the error count.

    python scripts/bench_api.py                      # own server on 127.0.0.1 over the rendered corpus
    python scripts/bench_api.py --url http://127.0.0.1:8000 --api-key …   # an already running server

Without --url it ingests corpus/rendered/txt into a temporary data dir (or uses --data-dir as it is when it
already holds documents), starts `jixiao serve` on a free loopback port in a subprocess, and stops it at the
end. Every client runs a bounded loop: it stops at the deadline (or after --max-requests), never by itself
hanging on the server — each request has a timeout and counts as an error when it expires.
Two phases by default (--cache both): first every request sends `Cache-Control: no-cache`, so every answer
is computed (the cost of new questions); then the same load with the server's answer cache allowed (the
same questions again over unchanged reports). Prints figures; it is not a test and asserts nothing (exit
status 1 when any request failed).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "rendered" / "txt"

# (kind, question). Structured: answered exactly from the extracted records (or the 部门决算 tables);
# open: hybrid retrieval + extractive answer.
QUESTIONS: list[tuple[str, str]] = [
    ("structured", "哪些项目未完成绩效目标？"),
    ("structured", "预算执行率低于90%的项目有哪些？"),
    ("structured", "劳动监察专项资金的预算执行率是多少？"),
    ("structured", "哪些项目自评等级为优？"),
    ("structured", "Which projects have an execution rate below 90%?"),
    ("structured", "城乡居民基本养老保险费财政补助资金的自评得分是多少？"),
    ("structured", "就业专项资金的全年执行数是多少？"),
    ("structured", "2022年度收入合计是多少？"),
    ("open", "绩效评价工作是如何组织开展的？"),
    ("open", "下一步改进措施有哪些？"),
    ("open", "What problems were found in the pension subsidy project?"),
    ("open", "项目资金管理存在什么问题？"),
]


@dataclass
class Sample:
    kind: str
    question: str
    seconds: float
    ok: bool
    route: str
    error: str = ""
    cache: str = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_data(data_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from service.pipeline import Pipeline
    from service.settings import Settings

    settings = Settings(data_dir=data_dir)
    with Pipeline(settings) as p:
        if p.store.list_documents():
            print(f"using {len(p.store.list_documents())} documents already in {data_dir}")
            return
        files = sorted(CORPUS.glob("*.txt"))
        t0 = time.perf_counter()
        for f in files:
            r = p.ingest_path(f)
            if not r.ok:
                raise SystemExit(f"ingest of {f.name} failed: {r.message}")
        print(f"ingested {len(files)} reports into {data_dir} in {time.perf_counter() - t0:.1f} s")


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "JIXIAO_DATA_DIR": str(data_dir), "JIXIAO_API_KEYS": "[]", "JIXIAO_LLM_BASE_URL": "",
           "JIXIAO_LLM_MODEL": ""}
    cmd = [sys.executable, "-c", "from service.cli import app; app()", "serve", "--host", "127.0.0.1",
           "--port", str(port)]
    log = open(os.environ.get("JIXIAO_BENCH_SERVER_LOG", os.devnull), "wb")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with status {proc.returncode} (JIXIAO_BENCH_SERVER_LOG=FILE keeps its log)")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} not ready after {timeout:.0f} s")


async def client_loop(k: int, client: httpx.AsyncClient, deadline: float, max_requests: int,
                      samples: list[Sample], headers: dict[str, str]) -> None:
    i = k  # clients start at different questions, so every kind is in flight at once
    for _ in range(max_requests):
        if time.monotonic() >= deadline:
            return
        kind, question = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        t0 = time.perf_counter()
        try:
            res = await client.post("/ask", json={"question": question}, headers=headers)
            ok = res.status_code == 200
            route = res.json().get("route", "") if ok else ""
            err = "" if ok else f"HTTP {res.status_code}: {res.text[:200]}"
            cache = res.headers.get("x-jixiao-cache", "")
        except (httpx.HTTPError, ValueError) as exc:
            ok, route, err, cache = False, "", f"{type(exc).__name__}: {exc}", ""
        samples.append(Sample(kind, question, time.perf_counter() - t0, ok, route, err, cache))


async def run_load(url: str, clients: int, duration: float, max_requests: int, api_key: str | None,
                   timeout: float, fresh: bool) -> tuple[list[Sample], float]:
    headers = {"X-API-Key": api_key} if api_key else {}
    # keep-alive shorter than the server's (uvicorn: 5 s), or a request can race the server closing the connection
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=timeout) as client:
        for _, q in QUESTIONS:  # warm-up: first use of the index, tokenizer, caches
            await client.post("/ask", json={"question": q})
        samples: list[Sample] = []
        t0 = time.monotonic()
        deadline = t0 + duration
        headers = {"Cache-Control": "no-cache"} if fresh else {}
        await asyncio.gather(*(client_loop(k, client, deadline, max_requests, samples, headers)
                               for k in range(clients)))
        return samples, time.monotonic() - t0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def report(title: str, samples: list[Sample], elapsed: float, clients: int, per_question: bool = False) -> int:
    ok = [s for s in samples if s.ok]
    errors = [s for s in samples if not s.ok]
    hits = sum(s.cache == "hit" for s in ok)
    print(f"\n== {title}: {clients} clients, {elapsed:.1f} s, {len(samples)} requests, "
          f"throughput {len(ok) / elapsed:.1f} answers/s, errors {len(errors)}, answer-cache hits {hits}")
    print(f"{'kind':<12}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}   routes")
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in ok:
        by_kind[s.kind].append(s)
    for kind in ("structured", "open"):
        got = by_kind.get(kind, [])
        ms = [s.seconds * 1000 for s in got]
        routes = Counter(s.route.split(":")[0] for s in got)
        print(f"{kind:<12}{len(got):>7}{pct(ms, 50):>10.1f}{pct(ms, 95):>10.1f}{max(ms, default=float('nan')):>10.1f}"
              f"   {dict(routes)}")
    if per_question:
        print(f"\n{'p50 ms':>8}{'p95 ms':>9}{'n':>6}  route / question")
        by_q: dict[str, list[Sample]] = defaultdict(list)
        for s in ok:
            by_q[s.question].append(s)
        for q, got in sorted(by_q.items(), key=lambda kv: -pct([s.seconds for s in kv[1]], 95)):
            ms = [s.seconds * 1000 for s in got]
            print(f"{pct(ms, 50):>8.1f}{pct(ms, 95):>9.1f}{len(got):>6}  {got[0].route:<28} {q}")
    for e in Counter(s.error for s in errors).most_common(5):
        print(f"error x{e[1]}: {e[0]}")
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="A running server (default: start one on loopback).")
    ap.add_argument("--data-dir", type=Path, help="Data dir for the own server (default: a fresh temporary one).")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=30.0, help="Seconds of load.")
    ap.add_argument("--max-requests", type=int, default=100_000, help="Upper bound per client.")
    ap.add_argument("--timeout", type=float, default=30.0, help="Per-request timeout, seconds.")
    ap.add_argument("--api-key", default=os.environ.get("JIXIAO_BENCH_API_KEY"))
    ap.add_argument("--per-question", action="store_true", help="Also print latency per question.")
    ap.add_argument("--cache", choices=("bypass", "use", "both"), default="both",
                    help="bypass: every answer computed (Cache-Control: no-cache); use: the answer cache allowed.")
    args = ap.parse_args()

    proc = None
    tmp = None
    url = args.url
    try:
        if url is None:
            if args.data_dir is None:
                tmp = tempfile.TemporaryDirectory(prefix="jixiao-bench-")
                data_dir = Path(tmp.name)
            else:
                data_dir = args.data_dir
            prepare_data(data_dir)
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            proc = start_server(data_dir, port)
        url = url.rstrip("/")
        wait_ready(url, proc)
        print(f"server {url}; {len(QUESTIONS)} questions "
              f"({sum(k == 'structured' for k, _ in QUESTIONS)} structured, {sum(k == 'open' for k, _ in QUESTIONS)} open)")
        status = 0
        phases = {"bypass": [True], "use": [False], "both": [True, False]}[args.cache]
        for fresh in phases:
            samples, elapsed = asyncio.run(run_load(url, args.clients, args.duration, args.max_requests,
                                                    args.api_key, args.timeout, fresh))
            title = "computed (Cache-Control: no-cache)" if fresh else "answer cache allowed"
            status |= report(title, samples, elapsed, args.clients, args.per_question)
        return status
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
