"""`jixiao search "…"`: hybrid retrieval over the indexed reports, ranked chunks with their sources.

The store is the source of truth: before searching, the index is reconciled with the store's documents
(orphans dropped, missing or half-written documents re-indexed from the stored lines), so a crash during
an earlier ingest never shows up as a missing or phantom result. `--path` indexes files on the fly
instead (no store needed), which is handy for a quick look at a folder of reports.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.commands._common import cli_settings, one_line_errors


def _index_paths(index, paths: list[Path], settings) -> list[str]:
    from retrieval.loaders import SUPPORTED, load_path

    files: list[Path] = []
    for p in paths:
        files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SUPPORTED) if p.is_dir() else [p])
    doc_ids = []
    for f in files:
        doc = load_path(f, max_bytes=settings.max_upload_bytes)
        index.upsert_document(doc)  # idempotent: an unchanged file costs one manifest read
        doc_ids.append(doc.doc_id)
    return doc_ids


def _sync_with_store(index, settings) -> object | None:
    """Reconcile the index with the store; returns the store (None when there is none yet)."""
    try:
        from service.store import open_store
    except ImportError:
        return None
    from service.writer_lock import WriterBusy, writer_lock

    store = open_store(settings)

    def fetch(doc_id: str):
        return store.get_loaded(doc_id), (store.list_units(doc_id) or None)

    # Reconcile writes (drops orphans, re-adds what is missing), so it is a writer: it runs only with the
    # data dir's writer lock, and the store's list is read inside it. A list read before another process
    # stored and indexed a document would make that document look orphaned and delete it from the index.
    # While someone else writes, search the index as it is.
    try:
        with writer_lock(settings.data_dir, timeout=0):
            report = index.reconcile([d.doc_id for d in store.list_documents()], fetch)
    except WriterBusy:
        return store
    for doc_id, why in getattr(report, "failed", []):
        typer.echo(f"warning: document {doc_id[:12]} could not be indexed and is left out of search ({why})",
                   err=True)
    return store


def search(
    query: Annotated[str, typer.Argument(help="The question, Chinese or English.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="How many chunks.")] = 10,
    doc: Annotated[list[str] | None, typer.Option("--doc", help="Only this document (id, id prefix or file name); repeatable.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Only chunks of projects whose name contains this.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Only this evaluated year.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this unit kind: project, summary, department, accounts, framework, other.")] = None,
    section: Annotated[str | None, typer.Option("--section", help="Only sections whose heading path contains this.")] = None,
    path: Annotated[list[Path] | None, typer.Option("--path", exists=True, help="Index these files or folders on the fly instead of using the store.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object with the ranked hits.")] = False,
) -> None:
    """Search the reports: hybrid (vector + BM25) retrieval, fused by reciprocal rank."""
    with one_line_errors():
        from service.embeddings import open_index

        settings = cli_settings()
        index = open_index(settings)
        doc_ids: list[str] | None = None
        if path:
            indexed = _index_paths(index, list(path), settings)
            doc_ids = indexed
            if doc:
                doc_ids = [d for d in indexed if any(d.startswith(r.lower()) for r in doc)] or \
                    [d for d, e in index.documents().items() if d in indexed and Path(e.get("filename", "")).name in doc]
        else:
            store = _sync_with_store(index, settings)
            if doc:
                if store is not None:
                    doc_ids = [store.get_document(r).doc_id for r in doc]
                else:
                    docs = index.documents()
                    doc_ids = [d for d, e in docs.items()
                               if any(d.startswith(r.lower()) or Path(e.get("filename", "")).name == r for r in doc)]
        if doc and not doc_ids:
            from service.errors import NotFoundError

            raise NotFoundError("no indexed document matches", subject=", ".join(doc))
        filters = {"doc_ids": doc_ids, "project": project, "year": year, "unit_kind": kind, "section": section}
        hits = index.search(query, k=k, filters={key: v for key, v in filters.items() if v is not None})
        if as_json:
            typer.echo(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False, indent=2))
            return
        if not hits:
            typer.echo("no results" + ("" if index.count() else " (the index is empty: ingest reports, or pass --path)"))
            return
        for h in hits:
            c = h.chunk
            where = " · ".join(p for p in (c.project or c.label, c.section) if p)
            typer.echo(f"{h.rank:>2}. {h.source}  [{c.kind}{', ' + where if where else ''}]  score {h.score:.4f}")
            text = c.text.replace("\t", " │ ")
            typer.echo("    " + (text if len(text) <= 300 else text[:300] + "…"))


def register(app: typer.Typer) -> None:
    app.command("search")(search)
