"""`jixiao eval checks [--format table|json]`: the check engine against eval/gold/findings.

Each gold file names a seed report (corpus/seeds/<stem>.txt); the seed is loaded, extracted with the
deterministic extractor and checked, and the findings are scored by eval.checks (warning and above)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from service.commands import eval_app
from service.commands._common import die, one_line_errors

ROOT = Path(__file__).resolve().parents[2]
GOLD_DIR = ROOT / "eval" / "gold" / "findings"
SEEDS = ROOT / "corpus" / "seeds"


def gold_files(gold_dir: Path = GOLD_DIR) -> list[Path]:
    return sorted(p for p in gold_dir.glob("*.json"))


def findings_for_seed(stem: str, seeds: Path = SEEDS):
    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.extraction import extract_document

    doc = load_path(seeds / f"{stem}.txt", max_bytes=10**8)
    return run_checks(extract_document(doc, None), doc)


def evaluate(gold_dir: Path = GOLD_DIR, seeds: Path = SEEDS) -> dict:
    from eval.checks import score_document, summarize

    scores = []
    for path in gold_files(gold_dir):
        gold = json.loads(path.read_text(encoding="utf-8"))
        stem = gold.get("stem") or path.stem
        scores.append(score_document(gold, findings_for_seed(stem, seeds)))
    return summarize(scores)


def eval_checks(
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", help="table or json.")] = "table",
    gold: Annotated[Path, typer.Option("--gold", help="Folder of gold findings files.")] = GOLD_DIR,
) -> None:
    """Precision and recall of the check engine (warning and above) against the gold findings."""
    with one_line_errors():
        from eval.checks import format_table

        if not gold_files(gold):
            die(f"no gold findings under {gold}")
        result = evaluate(gold)
        if fmt == "json":
            typer.echo(json.dumps(result, ensure_ascii=False, indent=1))
        else:
            typer.echo(format_table(result))


def register(app: typer.Typer) -> None:
    eval_app.command("checks")(eval_checks)
