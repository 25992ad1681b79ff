"""Citation verification: a citation stands only if its quote is found at the place it names."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel

from retrieval.normalize import join_broken, normalize_text
from retrieval.types import Line


class Citation(BaseModel):
    doc_id: str
    filename: str | None = None
    page: int
    line_start: int
    line_end: int
    quote: str
    verified: bool = False


def span_text(lines: Sequence[Line]) -> str:
    """The text a SourceRef's quote is matched against: lines joined as a renderer broke them."""
    return join_broken([ln.text for ln in lines])


def quote_found(quote: str, lines: Sequence[Line]) -> bool:
    if not quote or not lines:
        return False
    text = span_text(lines)
    if quote in text or any(quote in ln.text for ln in lines):
        return True
    # quotes typed by a person or a model may differ in spacing only (TABs between cells included)
    q = _squash(normalize_text(quote))
    return bool(q) and (q in _squash(text) or any(q in _squash(ln.text) for ln in lines))


def _squash(text: str) -> str:
    return "".join(text.split())


LinesFetcher = Callable[[str, int, int, int], Sequence[Line]]


def verify(citations: Sequence[Citation], fetch_lines: LinesFetcher) -> list[Citation]:
    """Mark each citation verified or not; the caller drops or flags the unverified ones."""
    out = []
    for c in citations:
        try:
            lines = fetch_lines(c.doc_id, c.page, c.line_start, c.line_end)
        except Exception:  # an unknown document or page is simply not verifiable
            lines = []
        out.append(c.model_copy(update={"verified": quote_found(c.quote, lines)}))
    return out
