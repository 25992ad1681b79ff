"""What one document may expand to while it is read, and how long reading it may take.

The values come from settings (JIXIAO_MAX_EXPANDED_MB, JIXIAO_MAX_ROWS, JIXIAO_MAX_PAGES, JIXIAO_MAX_CELL_CHARS,
JIXIAO_MAX_LOAD_SECONDS, JIXIAO_MAX_LINE_CHARS, JIXIAO_MAX_TEXT_CHARS); load_bytes sets them for the duration of one load (a context variable, so
concurrent loads in threads each see their own), and each loader checks them as it reads, not after.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass, field

from service.errors import InputError


@dataclass(frozen=True)
class Limits:
    expanded_bytes: int = 384 * 1024 * 1024  # all parts of one DOCX/XLSX, inflated
    rows: int = 200_000  # non-empty XLSX rows per workbook; text lines are allowed 2.5× as many
    pages: int = 3000  # PDF pages
    cell_chars: int = 32_767  # Excel's own limit for one cell
    load_seconds: float = 300.0  # wall time to read one document
    line_chars: int = 200_000  # one line or row: a page of prose is a few thousand characters
    text_chars: int = 50_000_000  # all the text of one document
    started: float = field(default_factory=lambda: time.monotonic(), compare=False)
    seen: list = field(default_factory=lambda: [0], compare=False)  # characters read so far (mutable box)

    @classmethod
    def from_settings(cls, settings) -> Limits:
        if settings is None:
            return cls()
        return cls(expanded_bytes=int(settings.max_expanded_mb * 1024 * 1024), rows=settings.max_rows,
                   pages=settings.max_pages, cell_chars=settings.max_cell_chars,
                   load_seconds=settings.max_load_seconds, line_chars=settings.max_line_chars,
                   text_chars=settings.max_text_chars)

    def count_text(self, n: int, subject: str | None = None) -> None:
        """Called for every line a loader keeps: refuses an overlong line, and a document whose text passes
        the total, as they are read."""
        if n > self.line_chars:
            raise InputError(f"a line of {n:,} characters, over the {self.line_chars:,} a line may have",
                             subject=subject, code="line_too_long")
        self.seen[0] += n
        if self.seen[0] > self.text_chars:
            raise InputError(f"the document's text passes {self.text_chars:,} characters; split it into smaller "
                             f"files", subject=subject, code="too_much_text")

    def check_time(self, subject: str | None, where: str = "") -> None:
        if time.monotonic() - self.started > self.load_seconds:
            raise InputError(f"reading the file took longer than {self.load_seconds:g} s{where}; it is refused "
                             f"so that one file cannot hold up the rest", subject=subject, code="too_slow")


_CURRENT: contextvars.ContextVar[Limits] = contextvars.ContextVar("jixiao_load_limits", default=Limits())


def current() -> Limits:
    return _CURRENT.get()


@contextlib.contextmanager
def applied(limits: Limits):
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


__all__ = ["Limits", "applied", "current"]
