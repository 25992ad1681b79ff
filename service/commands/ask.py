"""`jixiao ask "…"`: the same Q&A as POST /ask, from the command line."""
from __future__ import annotations

import gc
import json
from typing import Annotated

import typer

from service.commands._common import cli_settings, one_line_errors


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask_command(
        question: Annotated[str, typer.Argument(help="Question in Chinese or English, e.g. 哪些项目未完成绩效目标？")],
        doc: Annotated[str | None, typer.Option("--doc", help="Only this document (id prefix or filename).")] = None,
        project: Annotated[str | None, typer.Option("--project", help="Only projects whose name contains this.")] = None,
        year: Annotated[int | None, typer.Option("--year", help="Only this year.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
        page: Annotated[int, typer.Option("--page", min=1, help="Which page of a list answer.")] = 1,
        page_size: Annotated[int, typer.Option("--page-size", min=1, help="Items per page of a list answer.")] = 20,
        show_all: Annotated[bool, typer.Option("--all", help="Every item of a list answer, not one page.")] = False,
    ) -> None:
        """Answer a question from the ingested reports, with citations to document, page and line."""
        # one question, then the process ends: the cyclic collector would only walk the objects the answer
        # reads in (0.3 s of an open question at 10,000 documents); on again after it, for callers in-process
        gc.disable()
        try:
            _ask(question, doc, project, year, as_json, page, page_size, show_all)
        finally:
            gc.enable()

    def _ask(question, doc, project, year, as_json, page, page_size, show_all) -> None:
        with one_line_errors():
            from retrieval.index import HybridIndex
            from service.qa.service import ask
            from service.store import open_store

            settings = cli_settings()
            llm = None
            if settings.llm_configured:
                from service.llm import build_chat_model

                llm = build_chat_model(settings)
            with open_store(settings) as store:
                filters = {"project": project, "year": year}
                if doc:
                    filters["doc_id"] = store.get_document(doc).doc_id
                answer = ask(question, filters, settings=settings, store=store, index=HybridIndex(settings), llm=llm,
                             page=page, page_size=None if show_all else page_size)
            if as_json:
                typer.echo(json.dumps(answer.model_dump(mode="json"), ensure_ascii=False, indent=2, default=str))
                return
            typer.echo(answer.answer)
            if answer.citations:
                typer.echo("")
                typer.echo("引用 Citations:")
                for n, c in enumerate(answer.citations, 1):
                    span = f"{c.line_start}" if c.line_start == c.line_end else f"{c.line_start}-{c.line_end}"
                    quote = c.quote.replace("\t", " │ ")
                    typer.echo(f"  [{n}] {c.filename or c.doc_id[:12]} 第{c.page}页 第{span}行: {quote}")
            typer.echo(f"\n(route: {answer.route})", err=True)
