"""`jixiao` command line. Sub-commands live in service/commands/*; this file only assembles them."""
from __future__ import annotations

import importlib
import pkgutil

import typer

from service.commands import eval_app

app = typer.Typer(help="jixiao (绩效): read, check and question budget-performance reports.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _load_commands() -> None:
    import service.commands as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"service.commands.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load_commands()

if __name__ == "__main__":
    app()
