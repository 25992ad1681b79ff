"""`jixiao eval init-gold FILE [--out DIR] [--split heldout|tuning]`: a gold skeleton from what the product read.

Writes DIR/extraction/<stem>.json (the extraction in the gold format) and DIR/findings/<stem>.json (the findings
at warning level and above, one `expected` entry each, with the message as `why`). A person then corrects
the skeleton against the document — every value the reader got wrong, every finding that is not a real
problem, every problem it missed — and scores with
`jixiao eval extraction --docs <folder of FILE> --gold DIR/extraction` (and `eval checks … DIR/findings`).
A skeleton that nobody corrected scores 100% by construction: it is a starting point, not gold.
`--task qa` writes DIR/qa/<stem>.json instead: score, grade and execution-rate questions about the first projects
read, with the values the product read, for `jixiao eval qa --docs … --gold DIR/qa`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from service.commands import eval_app
from service.commands._common import die, one_line_errors


def skeletons(path: Path, split: str = "tuning") -> tuple[dict, dict]:
    from eval.extraction import to_gold_shape
    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.extraction import extract_document
    from service.extraction.coverage import assess_coverage

    doc = load_path(path, max_bytes=10**8)
    extraction = extract_document(doc, None)
    findings = run_checks(extraction, doc)
    cov = assess_coverage(doc, extraction)
    method = (f"Skeleton written by `jixiao eval init-gold` from what the product read (coverage: {cov.status}); "
              "NOT YET CORRECTED: check every value against the document, then replace this sentence with how "
              "you checked it.")
    shape = to_gold_shape(extraction)
    extraction_gold = {"document": path.name, "stem": path.stem, "split": split, "method": method, **shape}
    units: dict[str, dict] = {}
    for p in extraction.projects:
        units.setdefault(p.project, {"project": p.project, "expected": [], "consistent": True})
    depts: dict[str, dict] = {}
    for f in findings:
        if f.severity not in ("error", "warning"):
            continue
        is_dept = any(d.unit_id == f.unit_id for d in extraction.departments)
        if is_dept:
            name = f.project or "部门整体"
            u = depts.setdefault(name, {"department": name, "expected": [], "consistent": False})
        else:
            u = units.setdefault(f.project or f.unit_id, {"project": f.project or f.unit_id, "expected": [],
                                                          "consistent": False})
        u["consistent"] = False
        if not any(e["rule_id"] == f.rule_id for e in u["expected"]):
            u["expected"].append({"rule_id": f.rule_id, "severity": f.severity, "why": f.message_zh})
    findings_gold = {"document": path.name, "stem": path.stem, "split": split, "method": method,
                     "units": list(units.values())}
    if depts:
        findings_gold["departments"] = list(depts.values())
    return extraction_gold, findings_gold


QA_PER_PROJECT = (("reported_total", "{p}自评得了多少分？"), ("reported_grade", "{p}的评价等级是什么？"),
                  ("reported_rate", "{p}的预算执行率是多少？"))


def qa_skeleton(path: Path, split: str = "tuning", projects: int = 3) -> dict:
    """Q&A gold skeleton (the everyday format, eval/README.md): for the first few projects read, their score,
    grade and execution rate as the product read them, and one question the document cannot answer. The
    expected values are the product's reading, so the file says NOT YET CORRECTED until a person checks them."""
    ex, _ = skeletons(path, split)
    questions: list[dict] = []
    for rec in ex["projects"][:projects]:
        name = rec.get("project")
        for key, text in QA_PER_PROJECT:
            value = (rec.get("funds") or {}).get(key) if key == "reported_rate" else rec.get(key)
            if name and value not in (None, ""):
                questions.append({"id": f"q{len(questions) + 1}", "kind": "value", "question": text.format(p=name),
                                  "expected_value": str(value), "document": path.name,
                                  "why": f"{key} as the product read it: NOT YET CORRECTED"})
    questions.append({"id": f"q{len(questions) + 1}", "kind": "refuse", "question": "2019年火星基地建设项目的预算是多少？",
                      "why": "nothing in the document supports an answer"})
    return {"split": split, "written": ex["method"], "questions": questions}


@eval_app.command("init-gold")
def init_gold(
    file: Annotated[Path, typer.Argument(help="The document to write gold for.")],
    out: Annotated[Path, typer.Option("--out", help="Gold folder; extraction/ and findings/ are made in it.")] = Path("gold"),
    split: Annotated[Literal["tuning", "heldout"], typer.Option(
        help="heldout when this gold is written before anyone tunes the rules on the document.")] = "tuning",
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing gold files.")] = False,
    task: Annotated[Literal["extraction", "qa"], typer.Option(
        "--task", help="extraction: extraction/ and findings/ skeletons; qa: a qa/ question skeleton.")] = "extraction",
) -> None:
    """Write a gold skeleton for FILE from what the product read, for a person to correct."""
    with one_line_errors():
        if not file.is_file():
            die(f"{file}: no such file")
        if task == "qa":
            targets = [(out / "qa" / f"{file.stem}.json", qa_skeleton(file, split))]
        else:
            ex, fi = skeletons(file, split)
            targets = [(out / "extraction" / f"{file.stem}.json", ex), (out / "findings" / f"{file.stem}.json", fi)]
        existing = [str(t) for t, _ in targets if t.exists()]
        if existing and not force:
            die(f"{', '.join(existing)} already exist: corrected gold is not overwritten (use --force)")
        for target, data in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            typer.echo(f"wrote {target}")
        if task == "qa":
            typer.echo(f"next: correct every expected_value against {file.name}, then run "
                       f"`jixiao eval qa --docs {file.parent} --gold {out / 'qa'}`")
            return
        typer.echo(f"next: correct both files against {file.name}, then run "
                   f"`jixiao eval extraction --docs {file.parent} --gold {out / 'extraction'}` and "
                   f"`jixiao eval checks --docs {file.parent} --gold {out / 'findings'}`")


def register(app: typer.Typer) -> None:  # attaches to eval_app at import
    return None
