"""`jixiao eval forms`: the form reader and the checks on generated forms of many template families.

    jixiao eval forms [--dir DIR] [--count N] [--seed S] [--split tuning|heldout|all] [--formats a,b]
                      [--backend rules|llm] [--format table|json] [--misses N]

Without --dir the forms are generated (eval.forms, deterministic from the seed) into .cache/forms/<seed>-<count>
and reused from there. Every document is loaded, read and checked exactly as `jixiao ingest` would, then
scored by eval.forms_score per split (tuning families vs held-out families, never tuned on), per family and
per format. The held-out split is reported apart and first-class: it is the figure that says whether the
reader generalises.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from service.commands import eval_app
from service.commands._common import cli_settings, die, one_line_errors

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "forms"


def manifest_entries(folder: Path) -> list[dict]:
    """(path, format, family, split, stem, gold) per document, from the generator's manifest.json."""
    path = folder / "manifest.json"
    if not path.is_file():
        die(f"{folder} has no manifest.json (generate forms with scripts/make_forms.py --out {folder})")
    data = json.loads(path.read_text(encoding="utf-8"))
    forms = data.get("forms", data) if isinstance(data, dict) else data
    out = []
    for form in forms:
        files = form.get("files") or []
        if isinstance(files, dict):
            files = [{"format": k, "path": v} for k, v in files.items()]
        gold_path = folder / form["gold"]
        for f in files:
            out.append({"path": folder / f["path"], "format": f.get("format") or Path(f["path"]).suffix[1:],
                        "family": form.get("family", "?"), "split": form.get("split", "?"),
                        "stem": form.get("stem") or Path(form["gold"]).stem, "gold": gold_path,
                        "variant": f.get("variant") or f.get("flatten")})
    return out


def ensure_forms(count: int, seed: int, split: str) -> Path:
    folder = CACHE / f"{seed}-{count}-{split}"
    if not (folder / "manifest.json").is_file():
        try:
            from eval.forms import generate
        except ImportError as exc:  # pragma: no cover - the generator ships with eval/
            die(f"the form generator is not installed ({exc})")
        typer.echo(f"generating {count} forms (seed {seed}, split {split}) into {folder} …", err=True)
        generate(folder, count=count, seed=seed, split=split)
    return folder


def evaluate(folder: Path, backend: str = "rules", formats: list[str] | None = None,
             split: str = "all") -> tuple[dict, list]:
    from eval.extraction import to_gold_shape
    from eval.forms_score import report, score_form
    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.errors import JixiaoError
    from service.extraction import extract_document
    from service.extraction.coverage import assess_coverage

    settings = cli_settings() if backend == "llm" else None
    if backend == "llm" and not settings.llm_configured:
        die("--backend llm needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
    from eval.naive_reader import flag_low_rates, flag_nothing, naive_read

    scores, naive, nothing, low = [], [], [], []
    golds: dict[Path, dict] = {}
    started = time.perf_counter()
    for e in manifest_entries(folder):
        if formats and e["format"] not in formats:
            continue
        if split != "all" and e["split"] != split:
            continue
        gold = golds.setdefault(e["gold"], json.loads(e["gold"].read_text(encoding="utf-8")))
        try:
            doc = load_path(e["path"], max_bytes=100_000_000)
            extraction = extract_document(doc, settings)
            findings = run_checks(extraction, doc)
            shape, cov = to_gold_shape(extraction), assess_coverage(doc, extraction).status
            base_shape, low_flags = naive_read(doc), flag_low_rates(extraction)
        except JixiaoError as exc:
            shape, findings, cov = {"projects": []}, [], f"error:{exc.code}"
            base_shape, low_flags, extraction = {"projects": []}, [], None
        key = (e["stem"], e["family"], e["format"], e["split"])
        scores.append(score_form(*key, gold, shape, findings, cov))
        # baselines in the same pass: a header-less positional reader, and the two naive check strategies
        naive.append(score_form(*key, gold, base_shape, [], None))
        nothing.append(score_form(*key, gold, shape, flag_nothing(extraction) if extraction else [], None))
        low.append(score_form(*key, gold, shape, low_flags, None))
    rep = report(scores)
    rep["baselines"] = {"naive_reader": report(naive), "flag_nothing": report(nothing),
                        "flag_low_rates": report(low)}
    rep["seconds"] = round(time.perf_counter() - started, 1)
    rep["backend"] = backend
    return rep, scores


@eval_app.command("forms")
def eval_forms(
    folder: Annotated[Path | None, typer.Option("--dir", help="A folder made by scripts/make_forms.py.")] = None,
    count: Annotated[int, typer.Option(help="Forms to generate when --dir is not given.")] = 300,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 2026,
    split: Annotated[Literal["tuning", "heldout", "all"], typer.Option(help="Which families to score.")] = "all",
    formats: Annotated[str | None, typer.Option(help="Comma-separated formats to score (default: all).")] = None,
    backend: Annotated[Literal["rules", "llm"], typer.Option(help="rules: the offline reader; llm: the configured "
                                                                  "endpoint as well.")] = "rules",
    fmt: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    misses: Annotated[int, typer.Option(help="Show this many misses per split (table format).")] = 0,
) -> None:
    """Score the form reader and the checks on generated forms: project recall, header fields, indicator rows,
    exact fields, check precision/recall on injected errors — per split, family and format."""
    with one_line_errors():
        folder = folder or ensure_forms(count, seed, "all")
        rep, scores = evaluate(folder, backend, formats.split(",") if formats else None, split)
        if fmt == "json":
            typer.echo(json.dumps(rep, ensure_ascii=False, indent=1))
            return
        from eval.forms_score import format_table

        typer.echo(f"backend={rep['backend']}  documents={rep['overall']['documents']}  seconds={rep['seconds']}")
        typer.echo(format_table(rep, rep["baselines"]))
        if misses:
            for split_name in rep["splits"]:
                shown = 0
                for s in scores:
                    if s.split != split_name:
                        continue
                    for m in s.misses:
                        if shown >= misses:
                            break
                        typer.echo(f"  [{split_name}] {s.stem} {s.fmt}: {json.dumps(m, ensure_ascii=False)[:300]}")
                        shown += 1


def register(app: typer.Typer) -> None:  # eval commands attach to eval_app at import
    return None


@eval_app.command("make-forms")
def make_forms(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the forms, their gold and manifest.json.")],
    count: Annotated[int, typer.Option(help="How many forms.")] = 300,
    seed: Annotated[int, typer.Option(help="Generator seed (same arguments, same bytes).")] = 2026,
    split: Annotated[Literal["tuning", "heldout", "all"], typer.Option(help="Which template families.")] = "all",
    families: Annotated[str | None, typer.Option(help="Comma-separated family names (eval/forms/SPLIT.md).")] = None,
    formats: Annotated[str | None, typer.Option(help="Comma-separated: xlsx,docx,pdf_ruled,pdf_plain,txt.")] = None,
) -> None:
    """Generate self-evaluation forms of many template families with their gold (the same as
    scripts/make_forms.py), for `jixiao eval forms --dir` or as documents to try the product on."""
    with one_line_errors():
        from eval.forms import FAMILIES, FORMATS, generate

        fams = families.split(",") if families else None
        fmts = formats.split(",") if formats else None
        for name, given, known in (("family", fams, FAMILIES), ("format", fmts, FORMATS)):
            bad = [x for x in given or [] if x not in known]
            if bad:
                die(f"unknown {name} {', '.join(bad)} (known: {', '.join(known)})")
        started = time.perf_counter()
        manifest = generate(out, count=count, seed=seed, split=split, families=fams, formats=fmts)
        files = [f for form in manifest["forms"] for f in form["files"]]
        typer.echo(f"{len(manifest['forms'])} forms, {len(files)} files in {out} "
                   f"({time.perf_counter() - started:.1f} s)")
