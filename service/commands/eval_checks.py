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


def _checked(path: Path):
    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.extraction import extract_document

    doc = load_path(path, max_bytes=10**8)
    extraction = extract_document(doc, None)
    return extraction, run_checks(extraction, doc)


def findings_for_seed(stem: str, seeds: Path = SEEDS):
    return _checked(seeds / f"{stem}.txt")[1]


def load_golds(gold_dir: Path) -> list[tuple[Path, dict]]:
    """Every gold file, validated; all problems of all files in one error (file: field: problem)."""
    from eval.gold_format import read_golds, validate_findings_gold

    good, problems = read_golds(gold_files(gold_dir), validate_findings_gold)
    if problems:
        die("invalid gold:\n" + "\n".join(problems))
    return good


def evaluate(gold_dir: Path = GOLD_DIR, seeds: Path = SEEDS, docs: Path | None = None) -> dict:
    """The engine's findings against the gold, with the two naive strategies scored on the same documents
    ("flag nothing", "flag every rate below 100%") and held-out gold reported apart."""
    from eval.checks import score_document, summarize
    from eval.gold_format import find_document
    from eval.naive_reader import flag_low_rates, flag_nothing

    scores, nothing, low, splits = [], [], [], {}
    for path, gold in load_golds(gold_dir):
        stem = gold.get("stem") or Path(gold.get("document", path.stem)).stem
        gold = {**gold, "stem": stem}
        try:
            source = find_document(gold, docs) if docs is not None else seeds / f"{stem}.txt"
        except FileNotFoundError as exc:
            die(f"{path}: {exc}")
        if not source.exists():
            die(f"{path}: document {source} not found")
        extraction, findings = _checked(source)
        scores.append(score_document(gold, findings))
        nothing.append(score_document(gold, flag_nothing(extraction)))
        low.append(score_document(gold, flag_low_rates(extraction)))
        splits.setdefault(gold.get("split", "tuning"), []).append(scores[-1])
    result = summarize(scores)
    result["baselines"] = {name: {k: v for k, v in summarize(x).items() if k in ("precision", "recall", "tp", "fp", "fn")}
                           for name, x in (("flag_nothing", nothing), ("flag_low_rates", low))}
    if len(splits) > 1 or "heldout" in splits:
        result["splits"] = {k: {f: summarize(v)[f] for f in ("precision", "recall", "tp", "fp", "fn")}
                            for k, v in sorted(splits.items())}
    return result


def baseline_lines(result: dict) -> list[str]:
    def pr(v: dict) -> str:
        p = "-" if v["precision"] is None else f"{v['precision']:.3f}"
        r = "-" if v["recall"] is None else f"{v['recall']:.3f}"
        return f"P {p} R {r} (tp {v['tp']}, fp {v['fp']}, fn {v['fn']})"

    lines = [f"baseline, flag nothing:            {pr(result['baselines']['flag_nothing'])}",
             f"baseline, flag every rate < 100%:  {pr(result['baselines']['flag_low_rates'])}"]
    for name, v in (result.get("splits") or {}).items():
        label = "held-out gold (written before tuning)" if name == "heldout" else "gold written while tuning"
        lines.append(f"{label}: {pr(v)}")
    if not result.get("splits"):
        lines.append("all gold here was written while the rules were tuned (none marked \"split\": \"heldout\")")
    return lines


def eval_checks(
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", help="table or json.")] = "table",
    gold: Annotated[Path, typer.Option("--gold", help="Folder of gold findings files.")] = GOLD_DIR,
    docs: Annotated[Path | None, typer.Option("--docs", help="Folder of your own documents; each gold file names "
                                                             "its document (eval/README.md).")] = None,
) -> None:
    """Precision and recall of the check engine (warning and above) against the gold findings."""
    with one_line_errors():
        from eval.checks import format_table

        if not gold_files(gold):
            die(f"no gold findings under {gold}")
        if docs is not None and not docs.is_dir():
            die(f"--docs {docs}: not a folder")
        result = evaluate(gold, docs=docs)
        if fmt == "json":
            typer.echo(json.dumps(result, ensure_ascii=False, indent=1))
        else:
            typer.echo(format_table(result))
            for line in baseline_lines(result):
                typer.echo(line)


def register(app: typer.Typer) -> None:
    eval_app.command("checks")(eval_checks)
