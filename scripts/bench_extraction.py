"""Time the deterministic extractor over the whole corpus (prints figures; not a test).

    .venv/bin/python scripts/bench_extraction.py [--rendering txt|pdf|docx|seed|all] [--repeat 5]

Loading (pdfplumber, python-docx) is timed separately: the budget (whole corpus under 2 s on 2 cores)
is for segmentation + extraction, which is what runs again when the rules change.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval.loaders import load_path  # noqa: E402
from service.extraction import extract_document  # noqa: E402

BUDGET_S = 2.0


def corpus_paths(rendering: str) -> list[Path]:
    stems = sorted(p.stem for p in (ROOT / "corpus" / "seeds").glob("*.txt"))
    kinds = ["txt", "pdf", "docx"] if rendering == "all" else [rendering]
    out = []
    for kind in kinds:
        for stem in stems:
            out.append(ROOT / "corpus" / "seeds" / f"{stem}.txt" if kind == "seed"
                       else ROOT / "corpus" / "rendered" / kind / f"{stem}.{kind}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rendering", default="txt", choices=["txt", "pdf", "docx", "seed", "all"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    paths = [p for p in corpus_paths(args.rendering) if p.exists()]
    if not paths:
        print(f"no files for rendering {args.rendering}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    docs = [load_path(p, max_bytes=10**9) for p in paths]
    load_s = time.perf_counter() - t0

    extract_document(docs[0])  # warm imports and regex caches
    runs = []
    per_doc: dict[str, list[float]] = {p.name: [] for p in paths}
    counts = (0, 0)
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        n_proj = n_ind = 0
        for p, doc in zip(paths, docs):
            t = time.perf_counter()
            x = extract_document(doc)
            per_doc[p.name].append(time.perf_counter() - t)
            n_proj += len(x.projects)
            n_ind += sum(len(r.indicators) for r in x.projects)
        runs.append(time.perf_counter() - start)
        counts = (n_proj, n_ind)

    print(f"rendering={args.rendering} documents={len(docs)} lines={sum(d.line_count for d in docs)} "
          f"projects={counts[0]} indicators={counts[1]}")
    print(f"load: {load_s:.3f} s (not in the budget)")
    for name, ts in per_doc.items():
        print(f"  {name:44} {min(ts) * 1000:8.1f} ms")
    best, mean = min(runs), statistics.mean(runs)
    print(f"extract whole corpus: best {best:.3f} s, mean {mean:.3f} s over {len(runs)} runs "
          f"(budget {BUDGET_S:.1f} s: {'OK' if mean < BUDGET_S else 'OVER'})")
    return 0 if mean < BUDGET_S else 2


if __name__ == "__main__":
    raise SystemExit(main())
