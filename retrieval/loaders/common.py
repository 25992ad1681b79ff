"""Helpers shared by the loaders: building numbered lines from raw rows and text."""
from __future__ import annotations

import hashlib

from retrieval.loaders.limits import current
from retrieval.normalize import normalize_row, normalize_text, strip_controls
from retrieval.types import CELL_SEP, Cell, Line, Page, Table


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PageBuilder:
    """Accumulates one page's items in reading order and numbers the non-blank lines."""

    def __init__(self, number: int):
        self.page = Page(number=number)
        self._table: Table | None = None

    def add_text(self, raw: str) -> None:
        self._table = None
        text = normalize_text(raw)
        if not text:
            return
        current().count_text(len(text))
        self.page.lines.append(Line(self.page.number, len(self.page.lines) + 1, text, raw=strip_controls(raw)))

    def add_row(self, raw_cells: list[str | None], *, new_table: bool = False,
                bboxes: list | None = None, table_bbox=None,
                grid: list[tuple[int, int] | None] | None = None) -> None:
        """One table row. `grid`, parallel to raw_cells, gives each cell's (first grid column, column span)
        when the format knows the table's grid; cells dropped by normalization (None, trailing empties)
        lose their grid entry with them."""
        cells = normalize_row(raw_cells)
        if not any(cells):
            return
        current().count_text(sum(len(c) for c in cells))
        kept_grid = None
        if grid is not None:
            kept_grid = [g for c, g in zip(raw_cells, grid) if c is not None][: len(cells)]
            if len(kept_grid) != len(cells) or any(g is None for g in kept_grid):
                kept_grid = None
        if self._table is None or new_table:
            self._table = Table(page=self.page.number, index=len(self.page.tables), rows=[], bbox=table_bbox,
                                first_line=len(self.page.lines) + 1)
            self.page.tables.append(self._table)
        row_idx = len(self._table.rows)
        kept_bboxes = [b for c, b in zip(raw_cells, bboxes)] if bboxes else None
        self._table.rows.append([
            Cell(row_idx, col, text, kept_bboxes[col] if kept_bboxes and col < len(kept_bboxes) else None)
            for col, text in enumerate(cells)
        ])
        raw = strip_controls(CELL_SEP.join("" if c is None else c for c in raw_cells))
        self.page.lines.append(Line(self.page.number, len(self.page.lines) + 1, CELL_SEP.join(cells), raw=raw,
                                    kind="row", cells=cells, grid=kept_grid, table_index=self._table.index,
                                    row_index=row_idx))

    def end_table(self) -> None:
        self._table = None
