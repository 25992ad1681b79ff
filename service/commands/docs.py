"""`jixiao docs`: the stored documents."""
from __future__ import annotations

import json
from typing import Annotated

import typer

from service.commands._common import cli_settings, one_line_errors, short_id
from service.store import Store


def docs(json_out: Annotated[bool, typer.Option("--json", help="JSON array on stdout.")] = False) -> None:
    """List stored documents: id, kind, pages, lines, projects, findings (error/warning/info), what was read
    (read / PARTIAL / UNRECOGNISED / not_applicable), file name."""
    with one_line_errors(), Store(cli_settings()) as store:
        rows = store.list_documents()
        if json_out:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=1))
            return
        if not rows:
            typer.echo("no documents yet: run `jixiao ingest PATH` or `jixiao demo`", err=True)
            return
        typer.echo(f"{'id':<12}  {'kind':<4}  {'pages':>5}  {'lines':>5}  {'proj':>4}  {'err/warn/info':>13}  "
                   f"{'read':<12}  file")
        for r in rows:
            sev = "/".join(str(r.findings.get(s, 0)) for s in ("error", "warning", "info"))
            status = (r.coverage_status or "unknown").upper() if r.unread else (r.coverage_status or "unknown")
            typer.echo(f"{short_id(r.doc_id):<12}  {r.kind:<4}  {r.page_count:>5}  {r.line_count:>5}  "
                       f"{r.projects:>4}  {sev:>13}  {status:<12}  {r.filename}")
        unread = [r for r in rows if r.unread]
        if unread:
            typer.echo(f"warning: {len(unread)} document(s) not (fully) read — their findings are incomplete; "
                       "`jixiao check DOC` says why", err=True)


def register(app: typer.Typer) -> None:
    app.command("docs")(docs)
