"""`jixiao review DOC [--project NAME] --format md|docx|pdf|xlsx [--issue] -o FILE`: the 审核意见.

DOC is a stored document (doc id, prefix, file name) or a path to a report file. With --llm and an LLM
configured (JIXIAO_LLM_*), a prose summary is added when every number in it checks out."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from service.commands._common import cli_settings, die, one_line_errors


def _load(doc: str, settings):
    """(document name, extraction, findings) for a path or a stored document."""
    from service.checks import run_checks

    if Path(doc).is_file():
        from retrieval.loaders import load_path
        from service.extraction import extract_document

        from service.extraction.coverage import assess_coverage

        loaded = load_path(Path(doc), max_bytes=settings.max_upload_bytes)
        extraction = extract_document(loaded, settings)
        return Path(doc).name, extraction, run_checks(extraction, loaded), assess_coverage(loaded, extraction)
    from service.store import Store

    with Store(settings) as store:
        row = store.get_document(doc)
        extraction = store.get_extraction(row.doc_id)
        stored = [r.finding for r in store.list_findings(doc_id=row.doc_id)]
        if not stored:
            stored = run_checks(extraction, store.get_loaded(row.doc_id))
        coverage = store.get_coverage(row.doc_id)
    return row.filename, extraction, stored, coverage


def review(
    doc: Annotated[str, typer.Argument(help="Stored doc id / prefix / file name, or a path to a report file.")],
    project: Annotated[str | None, typer.Option("--project", help="Only this project (name or unit id).")] = None,
    fmt: Annotated[Literal["md", "docx", "pdf", "xlsx"], typer.Option("--format", help="md, docx, pdf or xlsx.")] = "md",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (md goes to stdout if omitted).")] = None,
    llm: Annotated[bool, typer.Option("--llm", help="Add a model-written summary (needs JIXIAO_LLM_*).")] = False,
    issue: Annotated[bool, typer.Option("--issue", help="发文版: leave out the reviewer's appendix (rule ids, "
                                                       "schemes, units).")] = False,
) -> None:
    """Write the 审核意见: problems grouped by root cause, reported vs reviewed scores, 整改要求, 落款."""
    with one_line_errors():
        from service.review import attach_summary, build_review, render

        settings = cli_settings()
        if fmt != "md" and out is None:
            die(f"--format {fmt} needs -o FILE")
        name, extraction, findings, coverage = _load(doc, settings)
        rv = build_review(extraction, findings, document=name, project=project, coverage=coverage)
        if rv.unread:
            typer.echo(f"warning: {name} was not fully read ({rv.coverage.status}); the draft says so and cannot "
                       f"vouch for the unread tables", err=True)
        if project is not None and not rv.projects:
            die(f"no project matching {project!r} in {name}")
        if llm:
            if not settings.llm_configured:
                die("--llm needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
            from service.llm import build_chat_model

            result = attach_summary(rv, build_chat_model(settings))
            if result is not None and result.text is None:
                typer.echo(f"warning: summary dropped: {result.dropped_reason}", err=True)
        data = render(rv, fmt, "issue" if issue else "working")
        if out is None:
            typer.echo(data.decode("utf-8"), nl=False)
            return
        out.write_bytes(data)
        c = rv.counts()
        typer.echo(f"wrote {out} ({fmt}, {len(rv.projects)} projects, {c['error']} errors, {c['warning']} warnings, "
                   f"{c['info']} info)")


def register(app: typer.Typer) -> None:
    app.command("review")(review)
