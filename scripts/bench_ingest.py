"""Ingest throughput: the full pipeline against bare pdfplumber on the same pages. Prints figures; not a test.

    .venv/bin/python scripts/bench_ingest.py [--corpus corpus/rendered/pdf] [--no-index]

The pipeline run goes into a fresh temporary data dir (load -> extract -> check -> store -> index, whatever
steps are available). The baseline opens the same PDFs with pdfplumber and calls page.extract_text() and
page.extract_tables() on every page, which is the least any PDF reader of these reports must do. The ratio
says what everything on top of that costs.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pdfplumber

from service.pipeline import Pipeline, resolve_steps
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def bare_pdfplumber(files: list[Path]) -> tuple[int, float]:
    pages = 0
    start = time.perf_counter()
    for f in files:
        with pdfplumber.open(f) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.extract_tables()
                pages += 1
    return pages, time.perf_counter() - start


def full_pipeline(files: list[Path], with_index: bool) -> tuple[list, float]:
    with tempfile.TemporaryDirectory(prefix="jixiao-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        steps = resolve_steps()
        if not with_index:
            steps.index = None
        start = time.perf_counter()
        with Pipeline(settings, steps=steps) as pipe:
            results = [pipe.ingest_path(f) for f in files]
        return results, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus" / "rendered" / "pdf")
    ap.add_argument("--no-index", action="store_true", help="Leave the retrieval index out of the pipeline run.")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    files = sorted(args.corpus.glob("*.pdf"))
    if not files:
        print(f"no PDFs in {args.corpus}", file=sys.stderr)
        return 1

    results, full_s = full_pipeline(files, with_index=not args.no_index)
    bare_pages, bare_s = bare_pdfplumber(files)

    print(f"{'file':<40} {'status':<9} {'pages':>5} {'lines':>6} {'proj':>4} {'find':>4} {'seconds':>8}")
    for f, r in zip(files, results):
        print(f"{f.name:<40} {r.status:<9} {r.pages:>5} {r.lines:>6} {r.projects:>4} {r.findings:>4} {r.seconds:>8.2f}")
    if results and results[0].skipped:
        print("steps skipped: " + "; ".join(results[0].skipped))
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"error: {r.filename}: {r.message} [{r.error_code}]", file=sys.stderr)
    pages = sum(r.pages for r in results)
    full_rate, bare_rate = pages / full_s, bare_pages / bare_s
    what = "full pipeline" + ("" if not args.no_index else " (no index)")
    print(f"{what:<28} {pages:>5} pages in {full_s:7.2f} s = {full_rate:7.2f} pages/s")
    print(f"{'bare pdfplumber text+tables':<28} {bare_pages:>5} pages in {bare_s:7.2f} s = {bare_rate:7.2f} pages/s")
    print(f"ratio (pipeline / bare pdfplumber throughput): {full_rate / bare_rate:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
