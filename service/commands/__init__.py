"""CLI sub-commands. Each module here exposes `register(app: typer.Typer)`; `jixiao eval …` commands attach
to `eval_app` instead. service.cli imports every module in this package, so adding a command never
touches another team's file."""
from __future__ import annotations

import typer

eval_app = typer.Typer(help="Benchmarks against the gold annotations in eval/gold.", no_args_is_help=True)
