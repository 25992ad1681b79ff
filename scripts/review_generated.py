"""Every generated form's 审核意见, 发文版: the DOCX opens, is A4 with one section (no appendix), has the four
numbered sections, leaks no rule id, scheme, unit id or file name, lists every project it read in the score
table; the PDF rendering opens and has pages. Prints how many passed, per format, and every failure.

    python scripts/review_generated.py [--count 300] [--seed 2026] [--formats xlsx,docx,txt]

The same checks as tests/test_review.py's generated-forms test (8 forms), over as many forms as asked."""
from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTIONS = ("一、总体评价", "二、存在的主要问题", "三、复核得分与等级调整表", "四、整改要求与时限")
INTERNAL = re.compile(r"R-[A-Z]+(?:-[A-Z0-9]+)*|jixiao|RULEBOOK|docs/|规则库")


def problems_of(path: Path) -> list[str]:
    from docx import Document
    import pdfplumber

    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.extraction import extract_document
    from service.review import build_review, render

    doc = load_path(path, max_bytes=10**8)
    ex = extract_document(doc, None)
    fs = run_checks(ex, doc)
    rv = build_review(ex, fs, document=path.name)
    out: list[str] = []
    d = Document(io.BytesIO(render(rv, "docx", "issue")))
    sec = d.sections[0]
    if (round(sec.page_width.mm), round(sec.page_height.mm)) != (210, 297):
        out.append("not A4")
    if len(d.sections) != 1:
        out.append("more than one section (appendix in the 发文版)")
    h1 = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    if h1 != list(SECTIONS):
        out.append(f"sections {h1}")
    text = "\n".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for row in t.rows for c in row.cells])
    if (m := INTERNAL.search(text)):
        out.append(f"internal id {m.group(0)}")
    if any(u.unit_id in text for u in ex.units) or path.name in text or ex.doc_id[:12] in text:
        out.append("unit id or file name in the text")
    if any(f.variant and f.variant in text for f in fs):
        out.append("a scheme name in the text")
    table = next((t for t in d.tables if t.rows[0].cells[0].text == "序号"), None)
    if ex.projects and (table is None or [r.cells[1].text for r in table.rows[1:]] != [p.project for p in ex.projects]):
        out.append("score table does not list every project read")
    with pdfplumber.open(io.BytesIO(render(rv, "pdf", "issue"))) as pdf:
        first = pdf.pages[0] if pdf.pages else None
        if first is None or (round(first.width * 25.4 / 72), round(first.height * 25.4 / 72)) != (210, 297):
            out.append("PDF missing or not A4")
        elif "总体评价" not in (first.extract_text() or ""):
            out.append("PDF first page lacks 总体评价")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--formats", default="xlsx,docx,txt")
    a = ap.parse_args(argv)
    from eval.forms import generate

    fmts = a.formats.split(",")
    passed: Counter = Counter()
    failed: list[tuple[str, list[str]]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        m = generate(tmp, count=a.count, seed=a.seed, formats=fmts)
        for form in m["forms"]:
            for f in form["files"]:
                probs = problems_of(Path(tmp) / f["path"])
                if probs:
                    failed.append((f["path"], probs))
                else:
                    passed[f["format"]] += 1
    total = sum(passed.values()) + len(failed)
    print(f"{a.count} generated forms × {len(fmts)} formats = {total} 审核意见 (发文版, DOCX + PDF) in "
          f"{time.perf_counter() - started:.0f} s: {sum(passed.values())} pass "
          f"({', '.join(f'{k} {v}' for k, v in sorted(passed.items()))}), {len(failed)} fail")
    for path, probs in failed[:50]:
        print(f"  FAIL {path}: {'; '.join(probs)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
