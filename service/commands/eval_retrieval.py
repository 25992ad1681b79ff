"""`jixiao eval retrieval`: the retrieval benchmark (eval/retrieval.py), hybrid against the naive baseline."""
from __future__ import annotations

import json
from typing import Annotated

import typer

from service.commands import eval_app
from service.commands._common import cli_settings, one_line_errors


def eval_retrieval(
    fmt: Annotated[str, typer.Option("--format", help="table or json (one object per system).")] = "table",
    systems: Annotated[str, typer.Option("--systems", help="Comma list of hybrid, baseline, vector, bm25.")] = "hybrid,baseline",
    detail: Annotated[bool, typer.Option("--detail", help="With --format json: the rank of the first hit per question.")] = False,
    split: Annotated[str, typer.Option("--split", help="dev, test or all. Tune on dev; score test once, at the end.")] = "all",
) -> None:
    """Recall@5, recall@10 and MRR on eval/gold/retrieval.json over the bundled corpus (scratch index),
    per split (dev: tuned on; test: held out) and overall; json gives one object per system with a
    "splits" breakdown."""
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
        results = bench.run(settings, systems=[s.strip() for s in systems.split(",") if s.strip()], embedder=embedder,
                            splits=splits)
        if fmt == "json":
            stamp = bench.stamp(settings)
            typer.echo(json.dumps([{**r.to_dict(detail=detail), **stamp} for r in results], ensure_ascii=False, indent=2))
        else:
            typer.echo(bench.format_table(results))


def register(app: typer.Typer) -> None:  # noqa: ARG001 - `jixiao eval …` commands hang off eval_app
    eval_app.command("retrieval")(eval_retrieval)
