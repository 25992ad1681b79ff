"""`jixiao` command line. Sub-commands live in service/commands/*; this file only assembles them."""
from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from service.commands import eval_app

app = typer.Typer(help="jixiao (绩效): read, check and question budget-performance reports.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _load_commands(argv: list[str]) -> None:
    """Every command module, or only the one the command line names (`jixiao ask …` → commands/ask.py):
    importing all of them (the pipeline, the web server) was a quarter of a 2-second `jixiao ask`."""
    import service.commands as pkg

    mods = sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name)
    wanted = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else None
    if wanted and wanted != "eval" and any(m.name == wanted for m in mods):
        mods = [m for m in mods if m.name == wanted]
    for mod in mods:
        module = importlib.import_module(f"service.commands.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load_commands(sys.argv)

if __name__ == "__main__":
    app()
