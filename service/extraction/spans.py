"""Joined text over consecutive lines, with an offset map back to (page, line) for citations.

Renderings wrap prose at ~40 characters and tables may be cut by a page break, so a sentence or a table
cell is rarely on one line. Regexes run over the lines joined as `retrieval.normalize.join_broken` joins
them (nothing at a CJK boundary, one space otherwise); `Stream.ref(start, end)` turns a match back into a
SourceRef whose quote is an exact substring of the cited lines joined the same way. A citation never spans
two pages (SourceRef has one page): a match across a page break cites its larger part.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from retrieval.normalize import is_cjk, join_broken
from retrieval.types import Line
from service.models import SourceRef


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    line: Line


class Stream:
    """Lines joined into one string; `pieces` map character ranges back to lines."""

    def __init__(self, doc_id: str, lines: list[Line]):
        self.doc_id = doc_id
        self.lines = lines
        parts: list[str] = []
        pieces: list[_Piece] = []
        pos = 0
        prev = ""
        for line in lines:
            text = line.text.strip()
            if not text:
                continue
            if parts and not (is_cjk(prev[-1]) or is_cjk(text[0])):
                parts.append(" ")
                pos += 1
            pieces.append(_Piece(pos, pos + len(text), line))
            parts.append(text)
            pos += len(text)
            prev = text
        self.text = "".join(parts)
        self.pieces = pieces
        self._starts = [p.start for p in pieces]

    def __len__(self) -> int:
        return len(self.text)

    def piece_index(self, offset: int) -> int:
        """Index of the piece holding `offset` (a separator space belongs to the piece before it)."""
        return max(0, bisect_right(self._starts, offset) - 1)

    def line_at(self, offset: int) -> Line:
        return self.pieces[self.piece_index(offset)].line

    def line_starts(self, start: int, end: int) -> list[int]:
        """Offsets in [start, end) where a new line begins."""
        return [p.start for p in self.pieces if start <= p.start < end]

    def ref(self, start: int, end: int) -> SourceRef | None:
        """Cite text[start:end]: the quote is that text cut to one run of consecutive lines on one page."""
        if end <= start or not self.pieces:
            return None
        first = self.piece_index(start)
        last = self.piece_index(max(start, end - 1))
        runs: list[list[_Piece]] = []
        for p in self.pieces[first : last + 1]:
            if runs:
                prev = runs[-1][-1].line
                if prev.page == p.line.page and p.line.line_no == prev.line_no + 1:
                    runs[-1].append(p)
                    continue
            runs.append([p])

        def overlap(run: list[_Piece]) -> int:
            return min(end, run[-1].end) - max(start, run[0].start)

        best = max(runs, key=overlap)  # max keeps the first of equals: deterministic
        s = max(start, best[0].start)
        e = min(end, best[-1].end)
        quote = self.text[s:e].strip()
        if not quote:
            return None
        return SourceRef(
            doc_id=self.doc_id,
            page=best[0].line.page,
            line_start=best[0].line.line_no,
            line_end=best[-1].line.line_no,
            quote=quote,
        )

    def ref_all(self) -> SourceRef | None:
        return self.ref(0, len(self.text))


def line_ref(doc_id: str, line: Line, quote: str | None = None) -> SourceRef:
    """Cite one line (a row or a prose line); the quote defaults to the whole line."""
    text = line.text.strip()
    q = (quote if quote is not None else text).strip() or text
    if q not in text:
        q = text
    return SourceRef(doc_id=doc_id, page=line.page, line_start=line.line_no, line_end=line.line_no, quote=q)


def lines_ref(doc_id: str, lines: list[Line], quote: str | None = None) -> SourceRef | None:
    """Cite consecutive lines on one page (the first page's run when they cross a page break)."""
    if not lines:
        return None
    run = [lines[0]]
    for line in lines[1:]:
        if line.page == run[-1].page and line.line_no == run[-1].line_no + 1:
            run.append(line)
        else:
            break
    joined = join_broken([ln.text for ln in run])
    q = quote.strip() if quote else joined
    if not q or q not in joined:
        q = joined
    return SourceRef(doc_id=doc_id, page=run[0].page, line_start=run[0].line_no, line_end=run[-1].line_no, quote=q)


def quote_is_valid(doc_lines: dict[tuple[int, int], Line], ref: SourceRef) -> bool:
    """True when ref.quote is found in the cited lines joined as join_broken joins them."""
    texts = []
    for n in range(ref.line_start, ref.line_end + 1):
        line = doc_lines.get((ref.page, n))
        if line is None:
            return False
        texts.append(line.text)
    return ref.quote in join_broken(texts) or (len(texts) == 1 and ref.quote in texts[0])
