"""`jixiao eval extraction [--backend rules|llm] [--format table|json|md] [--rendering txt|pdf|docx|all|seed]`.

Each gold file (eval/gold/extraction/<stem>.json) names a report; its rendering (corpus/rendered/<r>/<stem>.*,
or the seed with `--rendering seed`) is loaded, extracted, and scored by eval.extraction. `all` scores the
three renderings together and says, per report, whether they gave identical records. The run is stamped
with the git commit and the settings hash. `--backend llm` runs the configured endpoint after the rules.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from service.commands import eval_app
from service.commands._common import cli_settings, die, one_line_errors

ROOT = Path(__file__).resolve().parents[2]
GOLD_DIR = ROOT / "eval" / "gold" / "extraction"
RENDERED = ROOT / "corpus" / "rendered"
SEEDS = ROOT / "corpus" / "seeds"
RENDERINGS = ("txt", "pdf", "docx")


def gold_files(gold_dir: Path = GOLD_DIR) -> list[Path]:
    return sorted(gold_dir.glob("*.json"))


def source_path(stem: str, rendering: str) -> Path:
    if rendering == "seed":
        return SEEDS / f"{stem}.txt"
    return RENDERED / rendering / f"{stem}.{rendering}"


def git_commit(root: Path = ROOT) -> str:
    """The commit the run used, `+dirty` when the work tree has changes; `unknown` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def evaluate(backend: str = "rules", rendering: str = "txt", gold_dir: Path = GOLD_DIR) -> dict:
    from eval.extraction import score_document, summarize, to_gold_shape
    from retrieval.loaders import load_path
    from service.extraction import extract_document
    from service.extraction.rules import extract_rules

    settings = cli_settings()
    if backend == "llm" and not settings.llm_configured:
        die("--backend llm needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
    renderings = list(RENDERINGS) if rendering == "all" else [rendering]
    golds = [json.loads(p.read_text(encoding="utf-8")) for p in gold_files(gold_dir)]
    missing = [str(source_path(g.get("stem", ""), r)) for g in golds for r in renderings
               if not source_path(g.get("stem", ""), r).exists()]
    if missing:
        die(f"missing rendering(s): {', '.join(missing[:5])} (run scripts/make_corpus.py)")

    results = []
    shapes: dict[str, dict[str, dict]] = {}
    seconds = 0.0
    for r in renderings:
        for g in golds:
            stem = g.get("stem", "?")
            doc = load_path(source_path(stem, r), max_bytes=settings.max_upload_bytes)
            t0 = time.perf_counter()
            if backend == "llm":
                x = extract_document(doc, settings)
            else:
                x = extract_rules(doc, settings_hash=settings.settings_hash())
            seconds += time.perf_counter() - t0
            shape = to_gold_shape(x)
            shapes.setdefault(stem, {})[r] = shape
            res = score_document(g, shape)
            if len(renderings) > 1:
                res.stem = f"{r}/{stem}"
            results.append(res)
    report = summarize(results)
    if len(renderings) > 1:
        report["renderings"] = {}
        for r in renderings:
            part = summarize([x for x in results if x.stem.startswith(f"{r}/")])
            report["renderings"][r] = {k: part[k] for k in ("unit_recall", "indicator_f1", "numeric_exact")}
        report["identical_across_renderings"] = {
            stem: all(s == by[renderings[0]] for s in by.values()) for stem, by in shapes.items()
        }
    report["commit"] = git_commit()
    report["settings_hash"] = settings.settings_hash()
    report["run"] = {"backend": backend, "rendering": rendering, "commit": report["commit"],
                     "settings_hash": report["settings_hash"], "extract_seconds": round(seconds, 3)}
    return report


def eval_extraction(
    backend: Annotated[Literal["rules", "llm"], typer.Option("--backend", help="rules, or llm (rules + the configured endpoint).")] = "rules",
    fmt: Annotated[Literal["table", "json", "md"], typer.Option("--format", help="table, json or md.")] = "table",
    rendering: Annotated[Literal["txt", "pdf", "docx", "all", "seed"], typer.Option("--rendering", help="Which rendering of each report to read (all = the three).")] = "txt",
    gold: Annotated[Path, typer.Option("--gold", help="Folder of gold extraction files.")] = GOLD_DIR,
) -> None:
    """Per-field precision/recall/F1, unit recall, indicator-row F1 and numeric exact match against the gold."""
    with one_line_errors():
        from eval.extraction import format_md, format_table

        if not gold_files(gold):
            die(f"no gold extraction files under {gold}")
        report = evaluate(backend, rendering, gold)
        if fmt == "json":
            typer.echo(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        elif fmt == "md":
            typer.echo(format_md(report))
        else:
            typer.echo(format_table(report))
            if "identical_across_renderings" in report:
                same = report["identical_across_renderings"]
                typer.echo("")
                typer.echo("identical records across renderings: "
                           + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in same.items()))


def register(app: typer.Typer) -> None:
    eval_app.command("extraction")(eval_extraction)
