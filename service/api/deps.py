"""Request dependencies, as Annotated aliases for the routers.

The app holds one Store (behind a read-through cache), one set of pipeline steps, one index and (when
configured) one chat model, each opened on first use so that building the app touches no disk. The
dependencies are async: on every request after the first they return the object at once, without the
thread hop FastAPI makes for a sync dependency; the first use opens it in a worker thread, so the event loop
never waits for disk or network.
"""
from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Header, Request

from service.api.cache import CachedStore
from service.errors import JixiaoError
from service.settings import Settings
from service.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class Unauthorized(JixiaoError):
    code = "unauthorized"


class Forbidden(JixiaoError):
    code = "forbidden"


def _once(request: Request, attr: str, make: Callable[[], T]) -> T:
    """app.state.<attr>, made by make() under the app's lock the first time (blocking; call in a thread)."""
    state = request.app.state
    value = getattr(state, attr)
    if value is None:
        with state.lock:
            value = getattr(state, attr)
            if value is None:
                value = make()
                setattr(state, attr, value)
    return value


async def _opened(request: Request, attr: str, opener: Callable[[Request], T]) -> T:
    value = getattr(request.app.state, attr)
    if value is not None:
        return value
    return await anyio.to_thread.run_sync(opener, request)


# blocking openers (worker threads) ------------------------------------------------------------------------

def open_store(request: Request) -> CachedStore:
    return _once(request, "store", lambda: CachedStore(Store(request.app.state.settings)))


def open_steps(request: Request):
    from service.pipeline import resolve_steps

    return _once(request, "steps", resolve_steps)


def open_index(request: Request) -> Any | None:
    """The retrieval index (None while retrieval.index is not available). On first use it is reconciled
    with the store, the source of truth, so a crash during an earlier ingest leaves no phantom hits."""
    steps = open_steps(request)
    if steps.index is None:
        return None
    store = open_store(request)

    def make():
        index = steps.index(request.app.state.settings)
        reconcile = getattr(index, "reconcile", None)
        if callable(reconcile):
            from service.writer_lock import WriterBusy, writer_lock

            raw = store.store
            # a writer: only with the data dir's writer lock, the store's list read inside it (a list read
            # before another process stored and indexed a document would delete that document as an orphan);
            # skipped while another process writes
            try:
                with writer_lock(request.app.state.settings.data_dir, timeout=0):
                    reconcile([d.doc_id for d in raw.list_documents()],
                              lambda doc_id: (raw.get_loaded(doc_id), raw.list_units(doc_id) or None))
            except WriterBusy:
                log.info("index reconcile skipped: another process is writing")
            except Exception:  # searching a slightly stale index beats not answering at all
                log.warning("index reconcile failed", exc_info=True)
        return index

    return _once(request, "index", make)


def open_llm(request: Request) -> Any:
    from service.llm import build_chat_model

    return _once(request, "llm", lambda: build_chat_model(request.app.state.settings))


# dependencies -----------------------------------------------------------------------------------------------

async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> CachedStore:
    return await _opened(request, "store", open_store)


async def get_steps(request: Request):
    """The pipeline's analysis steps, resolved once per app."""
    return await _opened(request, "steps", open_steps)


async def get_index(request: Request) -> Any | None:
    """The index, or None when it is not available or cannot be opened: the store is the source of truth,
    so uploads still store (the pipeline reports "stored, but not indexed") and structured questions are
    still answered. Opening is retried on the next request."""
    steps = await get_steps(request)
    if steps.index is None:
        return None
    try:
        return await _opened(request, "index", open_index)
    except Exception:
        log.warning("search index unavailable", exc_info=True)
        return None


async def get_llm(request: Request) -> Any | None:
    """The chat model for open answers when one is configured (JIXIAO_LLM_*), else None (offline)."""
    if not request.app.state.settings.llm_configured:
        return None
    return await _opened(request, "llm", open_llm)


async def require_api_key(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> None:
    keys = request.app.state.settings.api_keys
    if not keys:
        return  # `jixiao serve` binds to loopback when no keys are configured
    if not x_api_key:
        raise Unauthorized("this server needs an API key: send it in the X-API-Key header")
    given = x_api_key.encode("utf-8")
    if not any(hmac.compare_digest(given, k.encode("utf-8")) for k in keys):
        raise Forbidden("the X-API-Key header does not hold a valid key")


class KeyedLocks:
    """One lock per key (the sha256 of an upload), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list[Any]] = {}  # key -> [lock, users]

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            slot = self._locks.setdefault(key, [threading.Lock(), 0])
            slot[1] += 1
        try:
            with slot[0]:
                yield
        finally:
            with self._guard:
                slot[1] -= 1
                if slot[1] == 0:
                    del self._locks[key]


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
StoreDep = Annotated[CachedStore, Depends(get_store)]
IndexDep = Annotated[Any | None, Depends(get_index)]
StepsDep = Annotated[Any, Depends(get_steps)]
LLMDep = Annotated[Any | None, Depends(get_llm)]
