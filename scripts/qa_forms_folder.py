"""A folder of generated forms, one file per form, for asking questions about forms no tuning has seen.

    .venv/bin/python scripts/qa_forms_folder.py --out DIR [--count 10] [--seed 90417] [--split heldout]

Generates the forms (eval.forms.generate: every format of each form) in DIR/all and copies one format per form
to DIR/docs, turning through the formats (form i gets FORMATS[i mod 5]), so the folder mixes XLSX, DOCX, ruled
and borderless PDF and text the way a real upload does and each form is stored once. Then:

    jixiao eval qa --docs DIR/docs --gold eval/gold/qa_docs_v.json (set V: --count 10 --seed 90417 --split heldout; set W: --count 20 --seed 77031 --split all, eval/gold/qa_docs_w.json)

Deterministic: the same arguments give the same bytes (set V's gold was written on --seed 90417).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval.forms import generate  # noqa: E402
from eval.forms.render import FORMATS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--seed", type=int, default=90417)
    ap.add_argument("--split", choices=("tuning", "heldout", "all"), default="heldout")
    args = ap.parse_args()
    every, docs = args.out / "all", args.out / "docs"
    shutil.rmtree(docs, ignore_errors=True)
    manifest = generate(every, count=args.count, seed=args.seed, split=args.split)
    docs.mkdir(parents=True)
    for i, form in enumerate(manifest["forms"]):
        fmt = FORMATS[i % len(FORMATS)]
        src = every / next(f["path"] for f in form["files"] if f["format"] == fmt)
        shutil.copy(src, docs / src.name)
    print(f"{len(manifest['forms'])} forms, one format each, in {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
