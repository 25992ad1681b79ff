"""`jixiao delete DOC… [--yes]`: remove stored documents, everything derived from them, and their chunks in
the search index — the way back from a file that should not have been ingested."""
from __future__ import annotations

from typing import Annotated

import typer

from service.commands._common import cli_settings, die, one_line_errors


def delete(
    docs: Annotated[list[str], typer.Argument(help="Doc ids, unique prefixes or file names.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete documents from the store and the search index."""
    with one_line_errors():
        from service.commands.ingest import _shown
        from service.pipeline import resolve_steps
        from service.store import Store
        from service.writer_lock import writer_lock

        settings = cli_settings()
        with writer_lock(settings.data_dir, waiting=lambda h: typer.echo(f"waiting: another jixiao process ({h}) "
                                                                             f"is writing", err=True)):
            with Store(settings) as store:
                rows = [store.get_document(ref) for ref in docs]  # all resolved before anything is deleted
                if not yes and not typer.confirm("delete " + ", ".join(_shown(r.filename) for r in rows) + "?"):
                    die("nothing deleted")
                steps = resolve_steps()
                index = steps.index(settings) if steps.index is not None else None
                try:
                    for row in rows:
                        in_index = bool(index.delete_document(row.doc_id)) if index is not None else False
                        store.delete_document(row.doc_id)
                        typer.echo(f"deleted  {row.doc_id[:12]}  {_shown(row.filename)}"
                                   + ("" if in_index else "  (it had no search index entry)"))
                finally:
                    close = getattr(index, "close", None)
                    if callable(close):
                        close()


def register(app: typer.Typer) -> None:
    app.command("delete")(delete)
