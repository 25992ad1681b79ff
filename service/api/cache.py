"""A read-through cache in front of the Store, for the API only.

Reports change rarely and are read constantly (every question reads every project, its findings and the
cited lines), so the API reads through this cache. It is emptied when the API itself writes (upload,
delete) and whenever the store's fingerprint changes — checked at most once every `ttl_s` seconds, so a
`jixiao ingest` run beside the server shows up within that time.

Entries live in named regions with their own size bound: "store" (rows read from the store and what is
computed from them) and "answers" (finished /ask responses). A value computed while the store changed is not
kept (a generation counter guards the insert), so the cache never serves data older than the store state it
is filed under.

Cached objects are shared between requests: callers must treat what they get as read-only.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import func, select

from service.store import Store
from service.store import schema as t

T = TypeVar("T")
_CACHED = ("list_documents", "get_document", "list_projects", "get_project", "list_findings", "get_lines",
           "get_extraction", "list_artifacts", "get_artifact", "list_units")
REGIONS = {"store": 4096, "answers": 512}


def _key(value: Any) -> Hashable:
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    return value


class CachedStore:
    """The Store's read methods, memoized; everything else is passed through unchanged."""

    def __init__(self, store: Store, *, ttl_s: float = 1.0, regions: dict[str, int] | None = None):
        self.store = store
        self.ttl_s = ttl_s
        self._limits = dict(regions or REGIONS)
        self._lock = threading.Lock()
        self._regions: dict[str, OrderedDict[Hashable, Any]] = {r: OrderedDict() for r in self._limits}
        self._fingerprint: tuple | None = None
        self._checked_at = 0.0
        self._generation = 0

    # plumbing ------------------------------------------------------------------------------------------
    def fingerprint(self) -> tuple:
        """Cheap summary of the store's content: changes whenever a document or a finding is written."""
        q = select(
            select(func.count()).select_from(t.documents).scalar_subquery(),
            select(func.max(t.documents.c.ingested_at)).scalar_subquery(),
            select(func.count()).select_from(t.findings).scalar_subquery(),
            select(func.max(t.findings.c.id)).scalar_subquery(),
            select(func.max(t.artifacts.c.updated_at)).scalar_subquery(),
        )
        with self.store.engine.connect() as conn:
            return tuple(conn.execute(q).one())

    def _clear(self) -> None:  # under self._lock
        for entries in self._regions.values():
            entries.clear()
        self._generation += 1

    def invalidate(self) -> None:
        with self._lock:
            self._clear()
            self._fingerprint = None
            self._checked_at = 0.0

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.ttl_s:
            return
        fp = self.fingerprint()
        with self._lock:
            if fp != self._fingerprint:
                self._clear()
                self._fingerprint = fp
            self._checked_at = now

    def peek(self, key: Hashable, region: str = "store") -> Any | None:
        """The cached value when the store was checked within ttl_s, else None. No I/O: safe on the event
        loop. A None sends the caller down its normal path (memo/put), which also re-checks the store."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self.ttl_s:
                return None
            return self._regions[region].get(key)

    def generation(self) -> int:
        """Check the store (I/O), then the generation to pass to put()."""
        self._fresh()
        with self._lock:
            return self._generation

    def put(self, key: Hashable, value: Any, generation: int, region: str = "store") -> None:
        """Keep value unless the store changed since `generation` was taken."""
        with self._lock:
            if generation != self._generation:
                return
            entries = self._regions[region]
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > self._limits[region]:
                entries.popitem(last=False)

    def memo(self, key: Hashable, compute: Callable[[], T], region: str = "store") -> T:
        """compute() once per store state; exceptions are not cached."""
        self._fresh()
        with self._lock:
            entries = self._regions[region]
            if key in entries:
                entries.move_to_end(key)
                return entries[key]
            generation = self._generation
        value = compute()  # outside the lock: a slow miss never blocks the hits
        self.put(key, value, generation, region)
        return value

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.store, name)
        if name not in _CACHED:
            return attr

        def cached(*args: Any, **kwargs: Any) -> Any:
            return self.memo((name, _key(args), _key(kwargs)), lambda: attr(*args, **kwargs))

        return cached
