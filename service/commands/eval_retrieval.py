"""`jixiao eval retrieval`: the retrieval benchmark (eval/retrieval.py), hybrid against the naive baseline."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.commands import eval_app
from service.commands._common import cli_settings, one_line_errors


def eval_retrieval(
    fmt: Annotated[str, typer.Option("--format", help="table or json (one object per system).")] = "table",
    systems: Annotated[str, typer.Option("--systems", help="Comma list of hybrid, baseline, vector, bm25.")] = "hybrid,baseline",
    detail: Annotated[bool, typer.Option("--detail", help="With --format json: the rank of the first hit per question.")] = False,
    split: Annotated[str, typer.Option("--split", help="dev, test or all. Tune on dev; score test once, at the end.")] = "all",
    docs: Annotated[Path | None, typer.Option("--docs", help="Your own folder of documents (with --gold).")] = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="With --docs: a retrieval gold file or folder (eval/README.md).")] = None,
) -> None:
    """Recall@5, recall@10 and MRR on eval/gold/retrieval.json over the bundled corpus (scratch index),
    per split (dev: tuned on; test: held out) and overall; json gives one object per system with a
    "splits" breakdown. With --docs DIR --gold FILE_OR_DIR: your own documents and gold (eval/README.md)."""
    with one_line_errors():
        if fmt not in ("table", "json"):
            raise typer.BadParameter("--format must be table or json")
        from eval import retrieval as bench

        try:
            splits = bench.parse_splits(split)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        settings = cli_settings()
        embedder = None
        if settings.embedding_backend != "hashed":
            from service.embeddings import make_embedder

            embedder = make_embedder(settings)
        names = [s.strip() for s in systems.split(",") if s.strip()]
        if (docs is None) != (gold is None):
            raise typer.BadParameter("--docs and --gold go together")
        if docs is not None:
            from eval.gold_format import GoldError

            try:
                results = bench.run_docs(settings, docs=docs, gold=gold, systems=names, embedder=embedder, splits=splits)
            except (GoldError, FileNotFoundError) as exc:
                raise typer.BadParameter(str(exc)) from exc
        else:
            results = bench.run(settings, systems=names, embedder=embedder, splits=splits)
        if fmt == "json":
            stamp = bench.stamp(settings)
            typer.echo(json.dumps([{**r.to_dict(detail=detail), **stamp} for r in results], ensure_ascii=False, indent=2))
        else:
            typer.echo(bench.format_table(results))


def register(app: typer.Typer) -> None:  # noqa: ARG001 - `jixiao eval …` commands hang off eval_app
    eval_app.command("retrieval")(eval_retrieval)
