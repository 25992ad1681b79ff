"""FastAPI app factory. Routers live in service/api/routers/, one module per resource, each exposing
`router`; a module that sets `PUBLIC = True` is served without an API key (health check, the web page).
The web page's static files are mounted at /static, also without a key: they hold no data."""
from __future__ import annotations

import gc
import importlib
import pkgutil
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from service.api.deps import KeyedLocks, require_api_key
from service.api.errors import install_error_handlers
from service.api.limits import BodyLimit
from service.errors import ConfigError
from service.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
MIN_KEY_CHARS = 16
GC_THRESHOLDS = (100_000, 50, 100)
PLACEHOLDER_KEYS = {"changeme", "change-me", "change_me", "secret", "password", "apikey", "api-key", "api_key",
                    "your-api-key", "your_api_key", "test", "dev", "default", "xxx", "key"}

DESCRIPTION = """\
Reads Chinese budget-performance reports (绩效自评报告, 部门决算), extracts their figures with page/line
provenance, checks the arithmetic, answers questions and drafts 审核意见.

**Authentication**: when API keys are configured (`JIXIAO_API_KEYS`), every route except `/health` and the
web page needs the header `X-API-Key` (401 `unauthorized` when missing, 403 `forbidden` when wrong). Without
keys `jixiao serve` binds to 127.0.0.1 only.

**Errors** are always `{"error": {"code", "message"}}` with a stable code: `invalid_input`, `invalid_request`
(422, a malformed parameter or body), `invalid_question`, `not_found`, `ambiguous_document`, `too_large` (413),
`unsupported_type` (415), `empty_file`, `corrupt_pdf`, `no_text_layer`, …, `unauthorized`, `forbidden`.
"""


def check_api_keys(keys: list[str]) -> None:
    """Refuse to start with a key left at a placeholder or too short to be a secret."""
    for k in keys:
        if k.strip().lower() in PLACEHOLDER_KEYS or len(k.strip()) < MIN_KEY_CHARS:
            raise ConfigError(f"JIXIAO_API_KEYS holds a placeholder or short key ({len(k)} characters); "
                              f"use random keys of at least {MIN_KEY_CHARS} characters "
                              "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")


def app_from_env() -> FastAPI:
    """The app as each of several server processes builds it (`jixiao serve --workers N`, or
    `uvicorn --factory service.api:app_from_env`): settings from the environment (JIXIAO_*, .env)."""
    from service.settings import get_settings

    return create_app(get_settings())


def create_app(settings: Settings) -> FastAPI:
    check_api_keys(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The read cache keeps tens of thousands of long-lived objects; with the default thresholds every
        # full collection walks them all (~100 ms, more than once a second under load, stopping every
        # thread). Young garbage is still collected, just in larger batches. Restored when the app stops.
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
        index = getattr(app.state, "index", None)
        close = getattr(index, "close", None)
        if callable(close):
            close()
        store = getattr(app.state, "store", None)
        if store is not None:
            store.close()

    app = FastAPI(title="jixiao (绩效)", version="0.1.0", lifespan=lifespan, description=DESCRIPTION,
                  summary="Chinese budget-performance reports: extracted figures with provenance, and checks.")
    app.state.settings = settings
    # opened on first use, so building the app touches no disk (see service.api.deps)
    app.state.store = None
    app.state.steps = None
    app.state.index = None
    app.state.llm = None
    app.state.ask_lanes = None
    app.state.lock = threading.Lock()
    app.state.upload_locks = KeyedLocks()
    app.state.ingest_limiter = None
    install_error_handlers(app)

    import service.api.routers as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"service.api.routers.{info.name}")
        router = getattr(module, "router", None)
        if router is None:
            continue
        deps = [] if getattr(module, "PUBLIC", False) else [Depends(require_api_key)]
        app.include_router(router, dependencies=deps)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimit)
    if not settings.api_keys:  # keyless: loopback Host only, same-origin writes only (service.api.origin)
        from service.api.origin import LocalOnly

        app.add_middleware(LocalOnly, allowed_hosts={settings.host})
    return app
