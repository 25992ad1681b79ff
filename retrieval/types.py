"""The document as loaded: pages of numbered lines, and tables with cell positions.

A *line* is the unit of provenance. Prose lines are visual lines as the document shows them; a table row
is one line whose cells are joined by TAB (its `cells` keep them apart). Line numbers are 1-based per page
and count non-blank lines only, so the text, PDF and DOCX renderings of a report number their lines alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LineKind = Literal["text", "row"]
CELL_SEP = "\t"


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    text: str  # normalized
    bbox: tuple[float, float, float, float] | None = None  # PDF points (x0, top, x1, bottom)


@dataclass
class Table:
    page: int
    index: int  # 0-based order of the table on its page
    rows: list[list[Cell]]
    bbox: tuple[float, float, float, float] | None = None
    first_line: int = 0  # line number of its first row on the page

    def texts(self) -> list[list[str]]:
        return [[c.text for c in r] for r in self.rows]


@dataclass
class Line:
    page: int
    line_no: int
    text: str  # normalized; rows are cells joined by CELL_SEP
    raw: str = ""  # as extracted, before normalization
    kind: LineKind = "text"
    cells: list[str] | None = None  # normalized cells for rows
    # per cell (first grid column, column span) when the loader knows the table's grid (DOCX gridSpan, XLSX
    # merged ranges, PDF cell edges); None for flattened text, where only the cell order is known
    grid: list[tuple[int, int]] | None = None
    table_index: int | None = None  # which table on the page
    row_index: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.page, self.line_no)


@dataclass
class Page:
    number: int
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class LoadedDocument:
    """What a loader returns: pure data, no handles."""

    filename: str
    kind: Literal["pdf", "docx", "xlsx", "txt", "md"]
    sha256: str
    size_bytes: int
    pages: list[Page]
    title: str | None = None

    @property
    def doc_id(self) -> str:
        return self.sha256

    def iter_lines(self):
        for p in self.pages:
            yield from p.lines

    def line(self, page: int, line_no: int) -> Line:
        return self.pages[page - 1].lines[line_no - 1]

    @property
    def line_count(self) -> int:
        return sum(len(p.lines) for p in self.pages)
