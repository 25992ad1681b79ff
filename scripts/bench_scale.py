"""Retrieval past SQLite's bound-variable limit: index copies of the bundled reports until the collection
holds more than 32,766 chunks (where one unpaginated Chroma get failed with "too many SQL variables"), then
time a search and a reconcile, and print peak RSS.

    python scripts/bench_scale.py [--chunks 34000] [--dir DIR]

Each copy is the same report under another doc id (a changed first line), so chunk texts and vectors are
realistic. Run under /usr/bin/time -v for the process's peak memory."""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from retrieval.index import HybridIndex, _segment
    from retrieval.loaders import load_path
    from service.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chunks", type=int, default=34_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--unpaginated", action="store_true",
                    help="baseline: one Chroma get for everything, as before pagination")
    args = ap.parse_args()
    if args.unpaginated:
        import retrieval.index as ix

        ix.GET_PAGE = 10**9
    data = args.dir or Path(tempfile.mkdtemp(prefix="jixiao-scale-"))
    idx = HybridIndex(Settings(_env_file=None, data_dir=data))
    base = [load_path(p, max_bytes=10**8) for p in sorted((ROOT / "corpus" / "rendered" / "txt").glob("*.txt"))]
    started = time.perf_counter()
    n, copies = idx.count(), 0
    known = set(idx.documents())
    while n < args.chunks:
        src = base[copies % len(base)]
        sha = hashlib.sha256(f"{src.sha256}-{copies}".encode()).hexdigest()
        doc = dataclasses.replace(src, sha256=sha, filename=f"copy{copies:04d}-{src.filename}")
        known.add(doc.doc_id)
        if doc.doc_id not in idx.documents():
            n += idx.upsert_document(doc, _segment(doc)).chunks
        copies += 1
    index_s = time.perf_counter() - started
    n = idx.count()
    t = time.perf_counter()
    try:
        hits = idx.search("劳动监察专项资金 日常检查企业数", k=10)
    except Exception as exc:  # the baseline's failure, printed as the figure it is
        print(f"documents={copies} chunks={n}: search FAILED after {time.perf_counter() - t:.1f} s: "
              f"{type(exc).__name__}: {str(exc)[:120]}")
        return 1
    first_search = time.perf_counter() - t
    t = time.perf_counter()
    idx.search("城乡居民基本养老保险费财政补助资金的执行率", k=10)
    second_search = time.perf_counter() - t
    t = time.perf_counter()
    report = idx.reconcile(known)
    reconcile_s = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"documents={copies} chunks={n} index_seconds={index_s:.1f}")
    print(f"first search (loads state) {first_search:.2f} s, next search {second_search:.3f} s, hits={len(hits)}")
    print(f"reconcile {reconcile_s:.2f} s clean={report.clean} ok={report.ok}")
    print(f"peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
