"""Q&A at scale: ingest N generated forms (distinct projects, names and amounts) into a fresh data dir with
`jixiao ingest --workers W`, then time questions in-process and one `jixiao ask` from the command line.

    python scripts/bench_scale_qa.py [--n 1000] [--workers 2] [--dir DIR] [--keep]

Prints ingest wall time and documents/s, the ingest's and this process's peak RSS, p50/p95 of ~20
structured and 5 open questions (each asked twice: the first call warms the per-store caches, the
figures are of the warm second round, the cold first call is printed on its own), search p50/p95, and the
CLI's wall time. Questions go through the API's CachedStore (the server's path) unless --raw-store.
The targets of issue 13 are printed next to the figures; they live here, not in timed tests."""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STRUCTURED = [
    "执行率低于90%的项目有哪些？", "评价等级为良的项目", "评价等级为优的项目有哪些？", "自评等级为中的项目有哪些？",
    "预算执行率低于80%的项目有哪些？", "预算执行率最低的5个项目", "自评得分最高的5个项目", "全年预算数最高的3个项目",
    "执行数最高的3个项目", "哪些项目未完成绩效目标？", "哪些项目自评得分高于复核得分？", "已入库的报告包含哪些项目？",
    "预算执行率低于95%的项目有哪些？", "自评得分最低的5个项目", "共有多少个项目？", "项目的平均预算执行率是多少？",
    "预算执行率低于60%的项目有哪些？", "评价等级为差的项目", "全年预算数最低的3个项目", "Which projects executed less than 90% of their budget?",
]
OPEN = ["项目存在哪些主要问题？", "下一步改进措施有哪些？", "绩效目标完成情况如何？", "资金管理方面有什么问题？",
        "项目取得了哪些效益？"]
SEARCH = ["预算执行率", "绩效目标完成情况", "资金管理 问题", "满意度", "改进措施", "产出指标 数量指标", "项目资金使用",
          "成本指标", "社会效益", "自评得分"]
TARGETS = {"structured_p95_ms": 300, "open_p95_ms": 300, "search_p95_ms": 100, "cli_s": 2.0}


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p * (len(xs) - 1))))]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", type=Path, default=None, help="work dir (forms/ and data/); a fresh temp dir by default")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--raw-store", action="store_true",
                    help="read the store directly (as one CLI process) instead of through the API's cache")
    ap.add_argument("--reuse", action="store_true", help="skip generation and ingest if DIR/data exists")
    args = ap.parse_args()
    from eval.forms import generate

    work = args.dir or Path(tempfile.mkdtemp(prefix="jixiao-scaleqa-"))
    forms, data = work / "forms", work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    if not (args.reuse and data.exists()):
        shutil.rmtree(data, ignore_errors=True)
        t = time.perf_counter()
        generate(forms, count=args.n, seed=13, formats=["txt"])
        print(f"generated {args.n} txt forms in {time.perf_counter() - t:.1f} s", flush=True)
        files = sorted(p for p in forms.rglob("*.txt") if "gold" not in p.parts)
        t = time.perf_counter()
        # /usr/bin/time -v reports the ingest's peak RSS (the largest of its processes) when it is installed
        timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
        proc = subprocess.run([*timer, sys.executable, "-m", "service.cli", "ingest", "--workers", str(args.workers),
                               *map(str, files)], cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            return 1
        peak = next((ln.split(":")[-1].strip() for ln in proc.stderr.splitlines() if "Maximum resident" in ln), None)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"ingest: {len(files)} documents, workers={args.workers}: {wall:.1f} s wall, "
              f"{len(files) / wall:.2f} docs/s, {wall / len(files) * 1000:.0f} ms/doc; peak RSS "
              f"{(int(peak) / 1024 if peak else ru):.0f} MB (largest child process)", flush=True)

    from retrieval.index import HybridIndex
    from service.api.cache import CachedStore
    from service.qa.service import ask
    from service.settings import Settings
    from service.store import open_store

    settings = Settings(_env_file=None, data_dir=data)
    index = HybridIndex(settings)
    results: dict[str, list[float]] = {}
    with open_store(settings) as raw:
        # the API reads the store through its CachedStore (service/api/cache.py): the server's path
        store = CachedStore(raw, ttl_s=1.0) if not args.raw_store else raw
        print(f"store: {'raw Store (as one CLI process)' if args.raw_store else 'CachedStore (as the API server)'}",
              flush=True)
        t = time.perf_counter()
        index.search(SEARCH[0], k=10)
        cold_search = (time.perf_counter() - t) * 1000
        times = []
        for q in SEARCH * 2:
            t = time.perf_counter()
            index.search(q, k=10)
            times.append((time.perf_counter() - t) * 1000)
        print(f"search: {len(SEARCH)} queries, first (cold) {cold_search:.0f} ms; warm p50 {_pct(times, .5):.0f} ms, "
              f"p95 {_pct(times, .95):.0f} ms (target p95 < {TARGETS['search_p95_ms']} ms)", flush=True)
        for label, qs in (("structured", STRUCTURED), ("open", OPEN)):
            cold = None
            warm = []
            for round_ in (0, 1):
                for q in qs:
                    t = time.perf_counter()
                    a = ask(q, settings=settings, store=store, index=index)
                    ms = (time.perf_counter() - t) * 1000
                    if round_ == 0 and cold is None:
                        cold = ms
                    if round_ == 1:
                        warm.append(ms)
                        if label == "structured" and q == STRUCTURED[0]:
                            print(f"  e.g. {q} → {a.route}, {len(a.answer)} chars, total={a.total}, "
                                  f"{len(a.citations)} citations", flush=True)
            results[label] = warm
            slow = max(range(len(qs)), key=lambda k: warm[k])
            print(f"  slowest warm: {qs[slow]} {warm[slow]:.0f} ms", flush=True)
            print(f"{label}: {len(qs)} questions, first (cold) {cold:.0f} ms; warm p50 {_pct(warm, .5):.0f} ms, "
                  f"p95 {_pct(warm, .95):.0f} ms, max {max(warm):.0f} ms "
                  f"(target p95 < {TARGETS[label + '_p95_ms']} ms)", flush=True)
    print(f"in-process peak RSS {_rss_mb():.0f} MB", flush=True)
    # three runs, the median: one process's wall time varies with what the page cache holds
    walls, codes = [], []
    for _ in range(3):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "service.cli", "ask", STRUCTURED[0]], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        walls.append(time.perf_counter() - t)
        codes.append(proc.returncode)
    print(f"CLI `jixiao ask {STRUCTURED[0]}`: median {sorted(walls)[1]:.1f} s wall of 3 runs "
          f"({', '.join(f'{w:.1f}' for w in walls)} s), exit {max(codes)} (target < {TARGETS['cli_s']} s)", flush=True)
    if not args.keep and args.dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
