"""`jixiao show DOC`: a stored document as numbered lines, the way citations point into it."""
from __future__ import annotations

from typing import Annotated

import typer

from service.commands._common import CELL_DISPLAY_SEP, cli_settings, one_line_errors
from service.store import Store


def show(
    doc: Annotated[str, typer.Argument(help="Doc id, unique id prefix, or file name.")],
    page: Annotated[int | None, typer.Option("--page", "-p", min=1, help="Only this page.")] = None,
) -> None:
    """Print `page:line  text`; table rows show their cells separated by ' │ '."""
    with one_line_errors(), Store(cli_settings()) as store:
        for line in store.get_lines(store.get_document(doc).doc_id, page=page):
            text = CELL_DISPLAY_SEP.join(line.cells) if line.kind == "row" and line.cells is not None else line.text
            typer.echo(f"{line.page}:{line.line_no}  {text}")


def register(app: typer.Typer) -> None:
    app.command("show")(show)
