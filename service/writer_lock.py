"""One writer at a time per data directory, across processes.

The embedded Chroma index keeps state in each process's memory; two processes writing to one persistent
directory corrupt it ("Error finding id", "Error getting embedding", a segfault on the next search — measured
with two `jixiao ingest` at once). So every process that writes (a CLI ingest for its whole run, each API
upload or delete) first takes an exclusive lock on <data_dir>/writer.lock, and the index re-opens its Chroma
client when another process wrote since it last looked (retrieval.index.HybridIndex.refresh_if_stale).
Readers do not lock. The lock is an OS file lock (fcntl.flock): it is released when the process dies, so a
crash never leaves the data directory locked.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from service.errors import JixiaoError


class WriterBusy(JixiaoError):
    code = "writer_busy"  # HTTP 503 (service.api.errors)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "?"
    except OSError:
        return "?"


@contextlib.contextmanager
def writer_lock(data_dir: str | Path, *, timeout: float | None = None,
                waiting: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the data directory's writer lock. Waits for the current writer (calling `waiting(holder)` once),
    forever when timeout is None, else raises WriterBusy after `timeout` seconds."""
    root = Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "writer.lock"
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the lifetime of the context
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting(_holder(path))
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise WriterBusy(f"another jixiao process ({_holder(path)}) is writing to this data "
                                         f"directory; try again when it has finished") from None
                    time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


__all__ = ["WriterBusy", "writer_lock"]
