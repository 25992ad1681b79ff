"""`jixiao serve`: the HTTP API (uvicorn)."""
from __future__ import annotations

from typing import Annotated

import typer

from service.commands._common import cli_settings, one_line_errors

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def bind_host(requested: str, api_keys: list[str]) -> tuple[str, str | None]:
    """Without API keys anyone who can reach the port can read every report, so stay on loopback."""
    if api_keys or requested in LOOPBACK:
        return requested, None
    return "127.0.0.1", (f"no API keys configured (JIXIAO_API_KEYS): binding to 127.0.0.1 only, not {requested}")


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default JIXIAO_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default JIXIAO_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Server processes. More than one wants a store and an "
                                                     "index that several processes share well: PostgreSQL "
                                                     "(JIXIAO_DATABASE_URL) and a Chroma server (JIXIAO_CHROMA_URL).")] = 1,
) -> None:
    """Serve the API. With no API keys configured it listens on 127.0.0.1 only."""
    with one_line_errors():
        import uvicorn

        from service.api import create_app

        settings = cli_settings()
        bound, note = bind_host(host or settings.host, settings.api_keys)
        if note:
            typer.echo(note, err=True)
        elif not settings.api_keys:
            typer.echo("no API keys configured (JIXIAO_API_KEYS): loopback only", err=True)
        if workers > 1:
            if not (settings.database_url and settings.chroma_url):
                typer.echo(f"{workers} workers on the embedded SQLite store and Chroma index: they take turns to "
                           "write; set JIXIAO_DATABASE_URL and JIXIAO_CHROMA_URL to share servers instead", err=True)
            # each process builds its own app from the same environment (settings are not pickled across)
            create_app(settings)  # a misconfiguration fails here, once, with its message
            uvicorn.run("service.api:app_from_env", factory=True, workers=workers, host=bound,
                        port=port or settings.port, log_level="info")
            return
        uvicorn.run(create_app(settings), host=bound, port=port or settings.port, log_level="info")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
