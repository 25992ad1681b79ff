"""`jixiao eval accounts`: the 部门决算 benchmark (eval/accounts.py) from the command line."""
from __future__ import annotations

from pathlib import Path

import typer

from service.commands import eval_app
from service.commands._common import one_line_errors


def accounts(
    format: str = typer.Option("table", "--format", help="table | json"),
    gold_dir: Path | None = typer.Option(None, "--gold-dir", help="directory of gold JSON files (default eval/gold/accounts)"),
    docs: Path | None = typer.Option(None, "--docs", help="your own folder of 部门决算 documents (with --gold)"),
    gold: Path | None = typer.Option(None, "--gold", help="with --docs: a gold file or folder (eval/README.md)"),
) -> None:
    """Parse + check every 部门决算 with gold (seed and renderings); print table/row recall, value exact-match,
    check and narrative agreement."""
    with one_line_errors():
        if format not in ("table", "json"):
            raise typer.BadParameter("format must be table or json")
        from eval.accounts import GOLD_DIR, report, run, run_docs

        if (docs is None) != (gold is None):
            raise typer.BadParameter("--docs and --gold go together")
        if docs is not None:
            from eval.gold_format import GoldError

            try:
                scores = run_docs(docs, gold)
            except (GoldError, FileNotFoundError) as exc:
                raise typer.BadParameter(str(exc)) from exc
        else:
            scores = run(gold_dir or GOLD_DIR)
        typer.echo(report(scores, format))


def register(app: typer.Typer) -> None:
    # eval commands attach to eval_app (service.commands); register once even if called twice
    if not any(getattr(c, "name", None) == "accounts" for c in eval_app.registered_commands):
        eval_app.command("accounts")(accounts)
