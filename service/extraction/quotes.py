"""Quote verification (pure): a model's quote in the form SourceRef quotes take, and where it is in a unit's
lines. Shared by the narrative chain (llm_chain) and the whole-form reader (llm_form)."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.normalize import join_broken, normalize_cell, normalize_text
from retrieval.types import CELL_SEP, Line

# Longest run of lines one quote may span (prose wraps every ~25 characters in the Henan PDFs).
MAX_QUOTE_LINES = 20
_MIN_QUOTE_CHARS = 2

_MARKER_ANY = re.compile(r"\[\d+:\d+\]\s*")
_CELL_SPLIT = re.compile(r"\s*\|\s*")


def canonical_quote(quote: str) -> str:
    """A model's quote in the form SourceRef quotes take: normalized text, table cells joined by TAB.
    Undoes what display_text did (' | ' between cells, full-width angle brackets) and drops any
    [page:line] markers the model copied."""
    quote = _MARKER_ANY.sub("", quote).strip()
    pieces = _CELL_SPLIT.split(quote)
    if len(pieces) > 1:
        return CELL_SEP.join(normalize_cell(p) for p in pieces)
    return normalize_text(quote)


@dataclass(frozen=True)
class Located:
    page: int
    line_start: int
    line_end: int
    quote: str


def locate_quote(quote: str, lines: Sequence[Line]) -> Located | None:
    """Where the quote is in these lines: one line, or a run of consecutive prose lines on one page
    joined as join_broken joins them (the SourceRef contract). The smallest such run wins."""
    q = canonical_quote(quote)
    if len(q) < _MIN_QUOTE_CHARS:
        return None
    for ln in lines:
        if q in ln.text:
            return Located(ln.page, ln.line_no, ln.line_no, q)
    for i, first in enumerate(lines):
        if first.kind != "text":
            continue
        run = [first.text]
        for j in range(i + 1, min(len(lines), i + MAX_QUOTE_LINES)):
            ln, prev = lines[j], lines[j - 1]
            if ln.kind != "text" or ln.page != first.page or ln.line_no != prev.line_no + 1:
                break
            run.append(ln.text)
            if q in join_broken(run):
                if q in join_broken(run[1:]):
                    break  # also found starting later: a later start gives the smaller run
                return Located(first.page, first.line_no, ln.line_no, q)
    return None
