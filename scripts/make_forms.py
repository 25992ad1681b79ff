#!/usr/bin/env python3
"""Generate self-evaluation forms of many template families, with gold, for `jixiao eval forms`.

    scripts/make_forms.py --out .cache/forms/mine --count 300 --seed 2026 [--split tuning|heldout|all]
                          [--families national,direction] [--formats xlsx,docx,pdf_ruled,pdf_plain,txt]

Deterministic: the same arguments write the same bytes. The families and their split are in eval/forms
(SPLIT.md); prints the time taken and what was written.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.forms import FAMILIES, FORMATS, generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / ".cache" / "forms" / "generated")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--split", choices=("tuning", "heldout", "all"), default="all")
    ap.add_argument("--families", help="comma-separated; known: " + ", ".join(FAMILIES))
    ap.add_argument("--formats", help="comma-separated; known: " + ", ".join(FORMATS))
    args = ap.parse_args(argv)
    started = time.perf_counter()
    manifest = generate(args.out, count=args.count, seed=args.seed, split=args.split,
                        families=args.families.split(",") if args.families else None,
                        formats=args.formats.split(",") if args.formats else None)
    seconds = time.perf_counter() - started
    files = sum(len(f["files"]) for f in manifest["forms"])
    injected = Counter(name for f in manifest["forms"] for name in f["injected"])
    print(f"{len(manifest['forms'])} forms, {files} files in {args.out} ({seconds:.1f} s, "
          f"{seconds / max(1, len(manifest['forms'])):.2f} s per form)")
    print("families: " + ", ".join(f"{k}={v}" for k, v in Counter(f["family"] for f in manifest["forms"]).items()))
    print("injected: " + (", ".join(f"{k}={v}" for k, v in sorted(injected.items())) or "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
