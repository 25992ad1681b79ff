"""What every command shares: settings, the store, and the one-line error exit."""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError

from service.errors import ConfigError, JixiaoError
from service.settings import Settings, get_settings

log = logging.getLogger("jixiao.cli")

CELL_DISPLAY_SEP = " │ "


def cli_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise ConfigError(f"invalid setting JIXIAO_{where.upper()}: {first.get('msg')}") from exc


def die(message: str, exit_code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(exit_code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn any failure into one line on stderr and exit code 1 (typer keeps 2 for usage errors)."""
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        # `jixiao show … | head`: the reader left; say nothing, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except JixiaoError as exc:
        die(f"{exc} [{exc.code}]")
    except typer.BadParameter as exc:  # an option the caller got wrong is no internal error: usage, exit 2
        die(f"{exc.format_message()} [invalid_input]", 2)
    except Exception as exc:
        log.debug("command failed", exc_info=True)
        die(f"{type(exc).__name__}: {exc} [internal_error]")


def short_id(doc_id: str | None) -> str:
    return (doc_id or "")[:12]


def fmt_num(value) -> str:
    return "-" if value is None else f"{value:f}" if hasattr(value, "is_finite") else str(value)
