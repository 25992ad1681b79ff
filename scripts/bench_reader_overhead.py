"""What the general form reader and the coverage verdict add to ingest time per page on the bundled corpus,
against the version before them, in the same run.

    python scripts/bench_reader_overhead.py [--baseline c06318e] [--rounds 3] [--corpus corpus/rendered/pdf]

The baseline commit (the last one before the form reader) is checked out into a temporary git worktree;
both trees ingest the same files through the full pipeline (load, extract, check, store, index) in fresh
data dirs, alternating, each in its own process. CPU seconds of that process (user + system) are compared,
not wall time, so that other work on the machine does not decide the figure. Prints seconds per page for
each round and the median ratio."""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import os, resource, sys, tempfile, logging
sys.path.insert(0, sys.argv[1])
logging.disable(logging.WARNING)
from pathlib import Path
from service.pipeline import Pipeline
from service.settings import Settings
files = sorted(Path(sys.argv[1], sys.argv[2]).glob("*.*"))
with tempfile.TemporaryDirectory() as d:
    settings = Settings(_env_file=None, data_dir=Path(d))
    before = resource.getrusage(resource.RUSAGE_SELF)
    with Pipeline(settings) as p:
        results = [p.ingest_path(f) for f in files]
    after = resource.getrusage(resource.RUSAGE_SELF)
pages = sum(r.pages or 0 for r in results)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(pages, cpu)
"""


def run(tree: Path, corpus: str) -> tuple[int, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tree), corpus], capture_output=True, text=True,
                         timeout=1800, cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    pages, cpu = out.stdout.split()[-2:]
    return int(pages), float(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--baseline", default="c06318e")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", default="corpus/rendered/pdf")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline],
                       check=True, capture_output=True)
        try:
            ratios = []
            for k in range(args.rounds):
                bp, bc = run(base, args.corpus)
                np_, nc = run(ROOT, args.corpus)
                ratios.append((nc / np_) / (bc / bp))
                print(f"round {k + 1}: baseline {bc / bp * 1000:.1f} ms/page ({bp} pages), "
                      f"now {nc / np_ * 1000:.1f} ms/page ({np_} pages), ratio {ratios[-1]:.3f}")
            print(f"median CPU time per page, now / {args.baseline}: {statistics.median(ratios):.3f} "
                  f"(+{(statistics.median(ratios) - 1) * 100:.1f}%)")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
