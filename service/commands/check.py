"""`jixiao check [DOC]`: run the rulebook and print the findings.

DOC is a stored document (doc id, unique prefix or file name) — its checks are re-run and its stored
findings replaced — or a path to a report file, which is loaded and extracted directly without touching the
store. Without DOC every stored document is re-checked."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from service.commands._common import cli_settings, die, one_line_errors, short_id
from service.models import Coverage, Finding

_RANK = {"error": 0, "warning": 1, "info": 2}


def check_file(path: Path, settings) -> tuple[str, list[Finding], Coverage | None]:
    """Load, extract and check one file without the store. Returns (doc_id, findings, coverage)."""
    from retrieval.loaders import load_path
    from service.checks import run_checks
    from service.extraction import extract_document

    doc = load_path(path, max_bytes=settings.max_upload_bytes)
    extraction = extract_document(doc, settings)
    return doc.doc_id, run_checks(extraction, doc), extraction.coverage


def coverage_lines(coverage: Coverage | None) -> list[str]:
    """What the reader understood, said before the findings: loud when the form was not (fully) read."""
    if coverage is None:
        return ["coverage: unknown (stored before coverage verdicts; ingest again to get one)"]
    if coverage.unread:
        return [f"{coverage.status.upper()}: {coverage.reason_zh}",
                f"{coverage.status.upper()}: {coverage.reason_en} — the findings below cover only what was read"]
    return [f"coverage: {coverage.status} — {coverage.reason_zh}"]


def finding_line(f: Finding, name: str) -> str:
    where = ", ".join(f"p{r.page}:{r.line_start}" + (f"-{r.line_end}" if r.line_end != r.line_start else "")
                      for r in f.refs[:3])
    return (f"{f.severity:<7}  {f.rule_id:<19}  {name}  {f.project or '-'}  [{where}]\n"
            f"         {f.message_zh}\n         {f.message_en}\n         variant: {f.variant}")


def _emit(findings: list[Finding], name: str, fmt: str, min_sev: str, coverage: Coverage | None) -> None:
    shown = [f for f in findings if _RANK[f.severity] <= _RANK[min_sev]]
    shown.sort(key=lambda f: _RANK[f.severity])
    if fmt == "json":
        status = coverage.status if coverage is not None else None
        if coverage is not None and coverage.unread:
            # one extra record, before the findings, so a consumer cannot miss that they are incomplete
            typer.echo(json.dumps({"document": name, "type": "coverage", **coverage.model_dump(mode="json")},
                                  ensure_ascii=False))
        for f in shown:
            typer.echo(json.dumps({"document": name, "type": "finding", "coverage_status": status,
                                   **f.model_dump(mode="json")}, ensure_ascii=False))
        return
    for line in coverage_lines(coverage):
        typer.echo(f"{name}: {line}")
    for f in shown:
        typer.echo(finding_line(f, name))
    counts = {s: sum(1 for f in findings if f.severity == s) for s in _RANK}
    tail = f" — NOT A CLEAN RESULT: the document was {coverage.status}" if coverage is not None and coverage.unread else ""
    typer.echo(f"{name}: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info{tail}")


def check(
    doc: Annotated[str | None, typer.Argument(help="Stored doc id / prefix / file name, or a path to a report "
                                                   "file. Omit to re-check every stored document.")] = None,
    fmt: Annotated[Literal["text", "json"], typer.Option("--format", help="text, or one JSON object per finding.")] = "text",
    severity: Annotated[Literal["error", "warning", "info"], typer.Option(
        "--severity", help="Show findings at this level and above.")] = "info",
    fail_on: Annotated[Literal["error", "warning", "never"], typer.Option(
        "--fail-on", help="Exit 1 when a finding at this level or above exists.")] = "never",
) -> None:
    """Run the check engine (rulebook: docs/RULEBOOK.md) and print its findings."""
    with one_line_errors():
        settings = cli_settings()
        results: list[tuple[str, list[Finding], Coverage | None]] = []
        if doc is not None and Path(doc).is_file():
            _, findings, coverage = check_file(Path(doc), settings)
            results.append((Path(doc).name, findings, coverage))
        else:
            from service.pipeline import Pipeline

            with Pipeline(settings) as pipe:
                docs = [pipe.store.get_document(doc)] if doc is not None else pipe.store.list_documents()
                if not docs:
                    die("no stored documents; ingest some first or give a file path")
                for d in docs:
                    r = pipe.run_checks_for(d.doc_id)
                    for s in r.skipped:
                        typer.echo(f"warning: {d.filename}: skipped {s}", err=True)
                    results.append((f"{d.filename} ({short_id(d.doc_id)})", r.findings, r.coverage))
        worst = 3
        for name, findings, coverage in results:
            _emit(findings, name, fmt, severity, coverage)
            worst = min([worst] + [_RANK[f.severity] for f in findings])
            if coverage is not None and coverage.unread:
                worst = 0  # an unread form fails any --fail-on: its missing findings are unknown, not absent
        if fail_on != "never" and worst <= _RANK[fail_on]:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
