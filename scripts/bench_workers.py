"""`jixiao ingest --workers 2` against `--workers 1` on one folder (issue 13: at least 1.6x faster on 100
documents). Prints figures; not a test.

    .venv/bin/python scripts/bench_workers.py [--rounds 5] [--count 100] [--formats pdf_ruled] [--base TREE]

Generates the folder with scripts/make_forms.py (deterministic: --count, --seed, --formats), then runs the
CLI ingest into a fresh data dir per run, alternating one worker and two so that drift of the machine falls
on both. With --base (another checkout, e.g. a `git worktree` of the last landed commit) that tree's code is
run the same way, interleaved, as the baseline of the same run. Prints every run's wall time, the medians
and their ratio.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.6


def ingest(tree: Path, files: list[Path], workers: int, data: Path) -> float:
    shutil.rmtree(data, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATA_DIR=str(data), PYTHONPATH=str(tree))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "service.cli", "ingest", "--workers", str(workers), *map(str, files)],
                          cwd=tree, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed in {tree} (--workers {workers}): {proc.stderr[-800:]}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--formats", default="pdf_ruled")
    ap.add_argument("--base", type=Path, default=None, help="another checkout to run alternately as the baseline")
    ap.add_argument("--dir", type=Path, default=None, help="work dir (forms/ and data/); a temp dir by default")
    args = ap.parse_args()

    work = args.dir or Path(tempfile.mkdtemp(prefix="jixiao-workers-"))
    forms = work / "forms"
    if not forms.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_forms.py"), "--out", str(forms),
                        "--count", str(args.count), "--seed", str(args.seed), "--formats", args.formats],
                       check=True, capture_output=True)
    files = sorted(p for p in forms.rglob("*") if p.is_file() and "gold" not in p.parts
                   and p.suffix in (".pdf", ".docx", ".xlsx", ".txt"))
    print(f"{len(files)} files ({args.formats}) in {forms}")
    trees = [("this", ROOT)] + ([("base", args.base.resolve())] if args.base else [])
    times: dict[tuple[str, int], list[float]] = {(name, w): [] for name, _ in trees for w in (1, 2)}
    for r in range(1, args.rounds + 1):
        for name, tree in trees:
            for w in (1, 2):
                took = ingest(tree, files, w, work / "data")
                times[(name, w)].append(took)
                print(f"round {r}  {name:<4}  --workers {w}  {took:6.2f} s", flush=True)
    for name, _ in trees:
        one, two = statistics.median(times[(name, 1)]), statistics.median(times[(name, 2)])
        print(f"{name}: median --workers 1 {one:.2f} s, --workers 2 {two:.2f} s: {one / two:.2f}x "
              f"(target >= {TARGET}x)")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
