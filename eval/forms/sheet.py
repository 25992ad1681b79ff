"""A form as a grid: rows of cells and merged ranges, independent of the output format, plus the prose
around it. The layout module fills it; eval/forms/render.py writes it as XLSX, DOCX, PDF and text."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Num:
    """A number cell: written as a number in XLSX (`as_text` keeps it text), shown as `shown` elsewhere."""

    value: Decimal
    shown: str
    as_text: bool = False
    percent: bool = False  # XLSX: stored as a fraction under a percent number format


@dataclass
class Sheet:
    width: int
    rows: list[list[object]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2 (0-based, inclusive)
    prose: list[str] = field(default_factory=list)  # paragraphs before the table
    name: str = "表1"

    def add(self, cells: list[object], spans: list[int] | None = None) -> int:
        """Append a row. `spans` gives each cell's width; the last cell stretches to the sheet's width."""
        r = len(self.rows)
        row: list[object] = [None] * self.width
        spans = list(spans or [1] * len(cells))
        col = 0
        for k, (cell, span) in enumerate(zip(cells, spans)):
            if k == len(cells) - 1:
                span = max(span, self.width - col)
            if col >= self.width:
                break
            row[col] = cell
            span = min(span, self.width - col)
            if span > 1:
                self.merges.append((r, col, r, col + span - 1))
            col += span
        self.rows.append(row)
        return r

    def vmerge(self, col: int, r1: int, r2: int, width: int = 1) -> None:
        if r2 > r1:
            # drop horizontal merges of the rows being covered in these columns, then merge the block
            self.merges = [m for m in self.merges if not (r1 <= m[0] <= r2 and m[1] == col and m[3] == col + width - 1)]
            self.merges.append((r1, col, r2, col + width - 1))

    @staticmethod
    def text(cell: object) -> str:
        if cell is None:
            return ""
        if isinstance(cell, Num):
            return cell.shown
        return str(cell)


__all__ = ["Num", "Sheet"]
