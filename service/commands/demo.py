"""`jixiao demo`: ingest the bundled sample reports (PDF renderings) offline and say what was found."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.commands._common import cli_settings, die, one_line_errors, short_id
from service.pipeline import Pipeline
from service.store import FindingRow

# Editable install / source checkout: the corpus sits beside the packages.
BUNDLED_CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "rendered" / "pdf"


def _finding_line(f: FindingRow) -> str:
    where = f" (p{f.finding.refs[0].page}:{f.finding.refs[0].line_start})" if f.finding.refs else ""
    project = f" {f.project}:" if f.project else ""
    return f"    [{f.severity}] {f.rule_id}{project} {f.finding.message_zh}{where}"


def demo(
    corpus: Annotated[Path, typer.Option(help="Folder of PDFs to ingest.")] = BUNDLED_CORPUS,
    top: Annotated[int, typer.Option(min=0, help="Findings to show per document.")] = 3,
) -> None:
    """Ingest one rendering of each bundled report into the data dir; re-running says unchanged."""
    with one_line_errors():
        settings = cli_settings()
        files = sorted(corpus.glob("*.pdf"))
        if not files:
            die(f"no PDFs in {corpus} (the bundled corpus is made by scripts/make_corpus.py)")
        typer.echo(f"data dir: {settings.data_dir.resolve()}")
        failed = 0
        with Pipeline(settings) as pipe:
            for note in pipe.steps.skipped:
                typer.echo(f"skipped step {note}")
            for f in files:
                r = pipe.ingest_path(f)
                if not r.ok:
                    failed += 1
                    typer.echo(f"error: {f.name}: {r.message} [{r.error_code}]", err=True)
                    continue
                sev = ", ".join(f"{n} {s}" for s, n in r.by_severity.items()) or "none"
                typer.echo(f"{f.name}  {r.status}  {short_id(r.doc_id)}")
                typer.echo(f"  pages {r.pages}, lines {r.lines}, projects {r.projects}, "
                           f"findings {r.findings} ({sev})")
                for w in r.warnings:
                    typer.echo(f"  warning: {w}")
                for fr in pipe.store.list_findings(doc_id=r.doc_id)[:top]:
                    typer.echo(_finding_line(fr))
        if failed:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
