"""`jixiao ingest PATH…`: files or folders into the store, one result line per file."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from service.commands._common import cli_settings, die, one_line_errors, short_id
from service.pipeline import IngestResult, Pipeline, expand_paths


def _shown(name: str | None) -> str:
    """A file name as one printable token: control characters and newlines in a name would split or forge
    output lines (and reach the terminal), so they are shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(name or ""))


def result_line(r: IngestResult) -> str:
    return f"{r.status:<9}  {short_id(r.doc_id):<12}  {_shown(r.filename)}  {r.message}"


def error_line(r: IngestResult) -> str:
    return f"error: {_shown(r.path or r.filename)}: {r.message} [{r.error_code}]"


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (folders: .pdf .docx .xlsx .txt .md inside).")],
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit 3 when any document looks like a form but could not be read (unrecognised).")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Worker processes for loading, extraction and checks (default: the machine's cores; "
                          "1 for fewer than 4 files). This process alone writes.")] = None,
    backend: Annotated[Literal["rules", "llm", "auto"] | None, typer.Option(
        "--backend", help="Extraction backend (default JIXIAO_EXTRACTION_BACKEND, auto): rules, llm (the model reads "
                          "every form) or auto (rules first, the model for what they could not read).")] = None,
) -> None:
    """Ingest report files: load, extract, check and store them. Exit code 1 if any file failed; with
    --strict, 3 if none failed but some document was unrecognised."""
    with one_line_errors():
        settings = cli_settings()
        if backend is not None:
            settings = settings.model_copy(update={"extraction_backend": backend})
        if settings.extraction_backend == "llm" and not settings.llm_configured:
            die("--backend llm needs JIXIAO_LLM_BASE_URL and JIXIAO_LLM_MODEL")
        files = expand_paths(paths)
        if not files:
            die("nothing to ingest: no supported files under " + ", ".join(str(p) for p in paths))
        stderr = Console(stderr=True)
        failed = 0
        unrecognised = 0
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        # The bar lives on stderr. Result lines go to stdout; rich's stdout redirect would route them through
        # the stderr console, which is harmless on a terminal but wrong when stdout is a file or a pipe.
        # It refreshes when a result comes, not from a thread of its own: the reading workers fork from this
        # process only while it runs no other thread (Pipeline._WorkerPool._first_context).
        bar = Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal,
                       redirect_stdout=sys.stdout.isatty(), auto_refresh=False)
        from service.writer_lock import writer_lock

        def waiting(holder: str) -> None:
            stderr.print(f"waiting: another jixiao process ({holder}) is writing to {settings.data_dir}")

        # one writer per data directory for the whole run; the index is opened only once the lock is held
        with writer_lock(settings.data_dir, waiting=waiting), Pipeline(settings) as pipe, bar:
            task = bar.add_task("ingesting", total=len(files))
            n_workers = workers if workers is not None else (os.cpu_count() or 1) if len(files) >= 4 else 1
            for r in pipe.iter_ingest(files, max(1, n_workers)):
                bar.update(task, description=r.filename, advance=1, refresh=True)
                if json_out:
                    typer.echo(json.dumps(r.model_dump(mode="json"), ensure_ascii=False))
                elif r.ok:
                    typer.echo(result_line(r))
                if not r.ok:
                    failed += 1
                    typer.echo(error_line(r), err=True)
                for w in r.warnings:
                    typer.echo(f"warning: {r.filename}: {w}", err=True)
                if r.ok and r.unread:
                    # loud on stderr as well: a reader must not take "0 findings" for a clean form
                    unrecognised += r.coverage_status == "unrecognised"
                    typer.echo(f"warning: {r.filename}: {r.coverage_status.upper()}: {r.coverage_reason}", err=True)
            bar.update(task, description="updating the search index", refresh=True)
            pipe.refresh_search_state()
            # the next `jixiao ask` reads the projects' heads from the data dir instead of every stored record
            from service.qa.service import refresh_digest

            refresh_digest(settings)
        if failed:
            raise typer.Exit(1)
        if strict and unrecognised:
            typer.echo(f"error: {unrecognised} document(s) could not be read (--strict)", err=True)
            raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
