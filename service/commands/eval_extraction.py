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


def load_golds(gold_dir: Path) -> list[tuple[Path, dict]]:
    """Every gold file, validated; all problems of all files in one error (file: field: problem)."""
    from eval.gold_format import read_golds, validate_extraction_gold

    good, problems = read_golds(gold_files(gold_dir), validate_extraction_gold)
    if problems:
        die("invalid gold:\n" + "\n".join(problems))
    return good


def evaluate(backend: str = "rules", rendering: str = "txt", gold_dir: Path = GOLD_DIR,
             docs: Path | None = None) -> dict:
    """Score the extraction against every gold file. With `docs`, each gold names its document in that folder
    (eval/README.md); otherwise gold stems are bundled reports and `rendering` picks which rendering to read.
    The naive positional reader (eval.naive_reader) is scored on the same documents as the baseline, and gold
    marked "split": "heldout" is reported apart from the rest."""
    from eval.extraction import score_document, summarize, to_gold_shape
    from eval.gold_format import find_document
    from eval.naive_reader import naive_read
    from retrieval.loaders import load_path
    from service.extraction import extract_document
    from service.extraction.rules import extract_rules

    settings = cli_settings()
    if backend == "llm" and not settings.llm_configured:
        die("--backend llm needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
    renderings = ["docs"] if docs is not None else (list(RENDERINGS) if rendering == "all" else [rendering])
    golds = load_golds(gold_dir)
    paths: dict[tuple[str, str], Path] = {}
    missing = []
    for gp, g in golds:
        for r in renderings:
            try:
                paths[(str(gp), r)] = find_document(g, docs) if docs is not None else source_path(g.get("stem", ""), r)
            except FileNotFoundError as exc:
                missing.append(f"{gp}: {exc}")
                continue
            if not paths[(str(gp), r)].exists():
                missing.append(str(paths[(str(gp), r)]))
    if missing:
        die("missing document(s): " + "; ".join(missing[:5]) + ("" if docs else " (run scripts/make_corpus.py)"))

    results, baseline, splits = [], [], {}
    shapes: dict[str, dict[str, dict]] = {}
    seconds = 0.0
    for r in renderings:
        for gp, g in golds:
            stem = g.get("stem") or Path(g.get("document", gp.stem)).stem
            g = {**g, "stem": stem}
            doc = load_path(paths[(str(gp), r)], max_bytes=settings.max_upload_bytes)
            t0 = time.perf_counter()
            if backend == "llm":
                x = extract_document(doc, settings)
            else:
                x = extract_rules(doc, settings_hash=settings.settings_hash())
            seconds += time.perf_counter() - t0
            shape = to_gold_shape(x)
            shapes.setdefault(stem, {})[r] = shape
            res = score_document(g, shape)
            base = score_document(g, naive_read(doc))
            if len(renderings) > 1:
                res.stem = base.stem = f"{r}/{stem}"
            results.append(res)
            baseline.append(base)
            splits.setdefault(g.get("split", "tuning"), []).append(res)
    report = summarize(results)
    report["baseline"] = {k: v for k, v in summarize(baseline).items() if k != "documents"}
    if len(splits) > 1 or "heldout" in splits:
        report["splits"] = {k: {f: summarize(v)[f] for f in ("unit_recall", "indicator_f1", "numeric_exact")}
                            | {"documents": len(v)} for k, v in sorted(splits.items())}
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
    report["run"] = {"backend": backend, "rendering": "docs" if docs else rendering, "commit": report["commit"],
                     "settings_hash": report["settings_hash"], "extract_seconds": round(seconds, 3)}
    return report


def baseline_lines(report: dict) -> list[str]:
    b = report["baseline"]
    lines = [f"baseline (naive positional reader, same documents): unit_recall={b['unit_recall']:.4f}  "
             f"indicator_f1={b['indicator_f1']:.4f}  numeric_exact={b['numeric_exact']:.4f}"]
    for name, v in (report.get("splits") or {}).items():
        label = "held-out gold (written before tuning)" if name == "heldout" else "gold written while tuning"
        lines.append(f"{label}: {v['documents']} document(s)  unit_recall={v['unit_recall']:.4f}  "
                     f"indicator_f1={v['indicator_f1']:.4f}  numeric_exact={v['numeric_exact']:.4f}")
    if not report.get("splits"):
        lines.append("all gold here was written while the rules were tuned (none marked \"split\": \"heldout\")")
    return lines


def eval_extraction(
    backend: Annotated[Literal["rules", "llm"], typer.Option("--backend", help="rules, or llm (rules + the configured endpoint).")] = "rules",
    fmt: Annotated[Literal["table", "json", "md"], typer.Option("--format", help="table, json or md.")] = "table",
    rendering: Annotated[Literal["txt", "pdf", "docx", "all", "seed"], typer.Option("--rendering", help="Which rendering of each report to read (all = the three).")] = "txt",
    gold: Annotated[Path, typer.Option("--gold", help="Folder of gold extraction files.")] = GOLD_DIR,
    docs: Annotated[Path | None, typer.Option("--docs", help="Folder of your own documents; each gold file names "
                                                             "its document (eval/README.md).")] = None,
) -> None:
    """Per-field precision/recall/F1, unit recall, indicator-row F1 and numeric exact match against the gold."""
    with one_line_errors():
        from eval.extraction import format_md, format_table

        if not gold_files(gold):
            die(f"no gold extraction files under {gold}")
        if docs is not None and not docs.is_dir():
            die(f"--docs {docs}: not a folder")
        report = evaluate(backend, rendering, gold, docs)
        if fmt == "json":
            typer.echo(json.dumps(report, ensure_ascii=False, indent=1, default=str))
        elif fmt == "md":
            typer.echo(format_md(report))
            typer.echo("")
            for line in baseline_lines(report):
                typer.echo(f"- {line}")
        else:
            typer.echo(format_table(report))
            typer.echo("")
            for line in baseline_lines(report):
                typer.echo(line)
            if "identical_across_renderings" in report:
                same = report["identical_across_renderings"]
                typer.echo("")
                typer.echo("identical records across renderings: "
                           + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in same.items()))


def register(app: typer.Typer) -> None:
    eval_app.command("extraction")(eval_extraction)
