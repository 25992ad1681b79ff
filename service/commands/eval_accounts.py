"""`jixiao eval accounts`: the 部门决算 benchmark (eval/accounts.py) from the command line."""
from __future__ import annotations

from pathlib import Path

import typer

from service.commands import eval_app
from service.commands._common import one_line_errors


def accounts(
    format: str = typer.Option("table", "--format", help="table | json"),
    gold_dir: Path | None = typer.Option(None, "--gold-dir", help="directory of gold JSON files (default eval/gold/accounts)"),
) -> None:
    """Parse + check every 部门决算 with gold (seed and renderings); print table/row recall, value exact-match,
    check and narrative agreement."""
    with one_line_errors():
        if format not in ("table", "json"):
            raise typer.BadParameter("format must be table or json")
        from eval.accounts import GOLD_DIR, report, run

        typer.echo(report(run(gold_dir or GOLD_DIR), format))


def register(app: typer.Typer) -> None:
    # eval commands attach to eval_app (service.commands); register once even if called twice
    if not any(getattr(c, "name", None) == "accounts" for c in eval_app.registered_commands):
        eval_app.command("accounts")(accounts)
