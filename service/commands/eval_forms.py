"""`jixiao eval forms`: the form reader and the checks on generated forms of many template families.

    jixiao eval forms [--dir DIR] [--count N] [--seed S] [--split tuning|heldout|all] [--formats a,b]
                      [--backend rules|llm|auto] [--format table|json] [--misses N]

Without --dir the forms are generated (eval.forms, deterministic from the seed) into .cache/forms/<seed>-<count>-<split>-<generator digest>
and reused from there. Every document is loaded, read and checked exactly as `jixiao ingest` would, then
scored by eval.forms_score per split (tuning families vs held-out families, never tuned on), per family and
per format. The held-out split is reported apart and first-class: it is the figure that says whether the
reader generalises.

With --backend llm (or auto) the same forms are read twice, by the rules and by the configured endpoint, and
the same figures are printed side by side, with what the model calls cost (characters sent per form, calls,
the token counts the endpoint reported, values dropped because their quote was not in the form).
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


def _generator_version() -> str:
    """A digest of the generator's source: a cached folder made by an older generator is never scored as if
    it were this one's (new injections would silently be missing)."""
    import hashlib

    import eval.forms

    h = hashlib.sha256()
    for p in sorted(Path(eval.forms.__file__).parent.glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:10]


def ensure_forms(count: int, seed: int, split: str) -> Path:
    folder = CACHE / f"{seed}-{count}-{split}-{_generator_version()}"
    if not (folder / "manifest.json").is_file():
        try:
            from eval.forms import generate
        except ImportError as exc:  # pragma: no cover - the generator ships with eval/
            die(f"the form generator is not installed ({exc})")
        typer.echo(f"generating {count} forms (seed {seed}, split {split}) into {folder} …", err=True)
        generate(folder, count=count, seed=seed, split=split)
    return folder


def evaluate(folder: Path, backend: str = "rules", formats: list[str] | None = None,
             split: str = "all", settings=None) -> tuple[dict, list]:
    from eval.extraction import to_gold_shape
    from eval.forms_score import report, score_form
    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.errors import JixiaoError
    from service.extraction import extract_document
    from service.extraction.coverage import assess_coverage

    if backend != "rules":
        settings = settings or cli_settings()
        if not settings.llm_configured:
            die(f"--backend {backend} needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
    usages: list = []
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
            extraction = extract_document(doc, settings, backend=backend if settings is not None else None)
            if extraction.llm_usage is not None:
                usages.append(extraction.llm_usage)
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
    if backend != "rules":
        rep["llm_usage"] = usage_summary(usages, len(scores))
    return rep, scores


def usage_summary(usages: list, documents: int) -> dict:
    """What the model calls cost over a benchmark: totals and characters sent per document."""
    sent = sorted(u.chars_sent for u in usages)
    reported = [u.prompt_tokens for u in usages if u.prompt_tokens is not None]
    return {
        "documents": documents, "calls": sum(u.calls + u.narrative_calls for u in usages),
        "attempts": sum(u.attempts for u in usages), "failed_calls": sum(u.failed_calls for u in usages),
        "chars_sent": sum(sent), "chars_received": sum(u.chars_received for u in usages),
        "schema_chars_sent": sum(u.schema_chars_sent for u in usages),
        "chars_sent_per_document": {
            "mean": round(sum(sent) / len(sent), 1) if sent else 0, "median": sent[len(sent) // 2] if sent else 0,
            "max": sent[-1] if sent else 0},
        "prompt_tokens_reported": sum(reported) if reported else None,
        "kept_values": sum(u.kept_values for u in usages), "dropped_values": sum(u.dropped_values for u in usages),
        "filled_fields": sum(u.filled_fields for u in usages), "disagreements": sum(u.disagreements for u in usages),
    }


_FIGURES = (("project_recall", "proj"), ("header_fields", "header"), ("indicator_rows", "rows"),
            ("exact_fields", "fields"))


def format_side_by_side(rules: dict, other: dict) -> str:
    """The same figures for the rules and the model backend, one pair of columns per figure."""
    name = other["backend"]
    head = f"{'':26} {'docs':>5} " + " ".join(f"{c:>13}" for _, short in _FIGURES
                                              for c in (f"{short}:rules", f"{short}:{name}"))

    def pair(a: dict, b: dict) -> str:
        cells = []
        for key, _ in _FIGURES:
            cells += [f"{a[key]:13.4f}", f"{b[key]:13.4f}"]
        ca, cb = a["checks"], b["checks"]
        cells += [f"{ca['precision']:.3f}/{ca['recall']:.3f}".rjust(13), f"{cb['precision']:.3f}/{cb['recall']:.3f}".rjust(13),
                  f"{a['unread_documents']:>6d}", f"{b['unread_documents']:>6d}"]
        return " ".join(cells)

    head += f" {'chkP/R:rules':>13} {'chkP/R:' + name:>13} {'unread':>6} {name[:6]:>6}"
    lines = []
    for split in sorted(set(rules["splits"]) | set(other["splits"])):
        a, b = rules["splits"].get(split), other["splits"].get(split)
        if a is None or b is None:
            continue
        lines += [f"== split: {split}", head, f"{'ALL':26} {a['all']['documents']:5d} " + pair(a["all"], b["all"])]
        lines.append("-- per family")
        for fam in a["families"]:
            if fam in b["families"]:
                lines.append(f"{'  ' + fam:26} {a['families'][fam]['documents']:5d} "
                             + pair(a["families"][fam], b["families"][fam]))
        lines.append("-- per format")
        for fmt in a["formats"]:
            if fmt in b["formats"]:
                lines.append(f"{'  ' + fmt:26} {a['formats'][fmt]['documents']:5d} "
                             + pair(a["formats"][fmt], b["formats"][fmt]))
        lines.append("")
    u = other.get("llm_usage")
    if u:
        per = u["chars_sent_per_document"]
        lines.append(f"{name}: {u['calls']} calls ({u['attempts']} requests, {u['failed_calls']} failed) for "
                     f"{u['documents']} documents; characters sent per document: mean {per['mean']}, median "
                     f"{per['median']}, max {per['max']}; total sent {u['chars_sent']}, received "
                     f"{u['chars_received']}; output schema sent beside the messages {u['schema_chars_sent']}; "
                     f"prompt tokens reported by the endpoint: {u['prompt_tokens_reported']}")
        lines.append(f"{name}: cited values kept {u['kept_values']}, dropped {u['dropped_values']} (quote not in "
                     f"the form); fields filled where the rules had none {u['filled_fields']}; disagreements "
                     f"{u['disagreements']}")
    return "\n".join(lines)


@eval_app.command("forms")
def eval_forms(
    folder: Annotated[Path | None, typer.Option("--dir", help="A folder made by scripts/make_forms.py.")] = None,
    count: Annotated[int, typer.Option(help="Forms to generate when --dir is not given.")] = 300,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 2026,
    split: Annotated[Literal["tuning", "heldout", "all"], typer.Option(help="Which families to score.")] = "all",
    formats: Annotated[str | None, typer.Option(help="Comma-separated formats to score (default: all).")] = None,
    backend: Annotated[Literal["rules", "llm", "auto"], typer.Option(
        help="rules: the offline reader; llm: the configured endpoint reads every form; auto: rules first, the "
             "endpoint for what they could not read. llm/auto print the rules' figures beside theirs.")] = "rules",
    fmt: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    misses: Annotated[int, typer.Option(help="Show this many misses per split (table format).")] = 0,
) -> None:
    """Score the form reader and the checks on generated forms: project recall, header fields, indicator rows,
    exact fields, check precision/recall on injected errors — per split, family and format."""
    with one_line_errors():
        folder = folder or ensure_forms(count, seed, "all")
        fmts = formats.split(",") if formats else None
        rep, scores = evaluate(folder, backend, fmts, split)
        rules_rep = evaluate(folder, "rules", fmts, split)[0] if backend != "rules" else None
        if fmt == "json":
            typer.echo(json.dumps(rep if rules_rep is None else {"rules": rules_rep, backend: rep},
                                  ensure_ascii=False, indent=1))
            return
        from eval.forms_score import format_table

        if rules_rep is not None:
            typer.echo(f"backend=rules vs {backend}  documents={rep['overall']['documents']}  "
                       f"seconds={rules_rep['seconds']} / {rep['seconds']}")
            typer.echo(format_side_by_side(rules_rep, rep))
            return

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
