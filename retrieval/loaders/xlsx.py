"""XLSX (openpyxl, read-only, cached values): one sheet is one page, each non-empty row one row line.

Values are what Excel last computed (`data_only`): a formula cell reads as its result, or empty if the
file was written by a tool that stores no results. Empty sheets stay as empty pages so that page numbers
are sheet numbers.
"""
from __future__ import annotations

import datetime as _dt
import io
import re

from retrieval.loaders.common import PageBuilder
from retrieval.types import Page
from service.errors import InputError


def _shown_value(cell):
    """The value as the sheet shows it where the number format changes its meaning: a rate stored as 0.958
    under a percent format reads 95.8%."""
    value = cell.value
    fmt = getattr(cell, "number_format", None) or ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in fmt:
        places = len(fmt.split(".")[1].rstrip("%")) if "." in fmt else 0
        return f"{value * 100:.{places}f}%"
    return value


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # 15 significant digits is what Excel shows; repr would print binary noise (0.30000000000000004)
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\"")


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n  # 1-based


def merged_ranges(sheet) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col), 1-based, of the sheet's merged cells. Read-only worksheets do
    not expose them, so the `<mergeCells>` element (after the rows) is read from the sheet's XML in chunks."""
    try:
        source = sheet._get_source()
    except Exception:  # not a read-only sheet from an archive: no merge information
        return []
    out: list[tuple[int, int, int, int]] = []
    tail = b""
    with source:
        while chunk := source.read(1 << 20):
            buf = tail + chunk
            last = 0
            for m in _MERGE.finditer(buf):
                c1, r1, c2, r2 = m.groups()
                out.append((int(r1), _col_index(c1), int(r2), _col_index(c2)))
                last = m.end()
            tail = buf[max(last, len(buf) - 64):]
    return out


class _Merges:
    """Where each merged range starts and which cells it covers, for laying rows out on the grid."""

    def __init__(self, ranges: list[tuple[int, int, int, int]]):
        self.top_left: dict[tuple[int, int], int] = {}  # (row, col) -> span
        self.covered: dict[tuple[int, int], int | None] = {}  # (row, col) -> span for the first column, else None
        for r1, c1, r2, c2 in ranges:
            span = c2 - c1 + 1
            self.top_left[(r1, c1)] = span
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        self.covered[(r, c)] = span if c == c1 else None

    def layout(self, row_no: int, values: list) -> tuple[list[str], list[tuple[int, int]]]:
        """One row's cells and grid: a merged range is one cell as wide as the range; the lower rows of a
        vertical merge keep an empty cell over the same columns (as DOCX's vMerge does)."""
        cells: list[str] = []
        grid: list[tuple[int, int]] = []
        for j, value in enumerate(values, start=1):
            if (row_no, j) in self.covered:
                span = self.covered[(row_no, j)]
                if span is not None:
                    cells.append("")
                    grid.append((j - 1, span))
                continue
            cells.append(cell_text(value))
            grid.append((j - 1, self.top_left.get((row_no, j), 1)))
        return cells, grid




def load_xlsx(data: bytes, *, subject: str | None = None) -> list[Page]:
    import openpyxl

    from retrieval.loaders.archive import check_zip

    from retrieval.loaders.limits import current

    check_zip(data, subject=subject, kind="xlsx")
    limits = current()
    rows_read = 0
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"the XLSX is damaged or not an Excel workbook ({type(exc).__name__})",
                         subject=subject, code="corrupt_xlsx") from exc
    pages: list[Page] = []
    try:
        for number, sheet in enumerate(workbook.worksheets, start=1):
            builder = PageBuilder(number)
            merges = _Merges(merged_ranges(sheet))
            first = True
            # a stale <dimension ref="A1:A1"> written by some tools would make read-only iteration stop early
            # and lose rows silently; the sheet's rows are read as they are, whatever the header claims
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()
            for row in sheet.iter_rows():
                cells_in_row = [c for c in row if getattr(c, "row", None) is not None]
                if not cells_in_row:
                    continue
                row_no = cells_in_row[0].row
                rows_read += 1
                if rows_read > limits.rows:
                    raise InputError(f"the workbook has more than {limits.rows:,} non-empty rows (JIXIAO_MAX_ROWS); "
                                     f"split it into smaller files", subject=subject, code="too_many_rows")
                if rows_read % 1000 == 0:
                    limits.check_time(subject, f" (sheet {sheet.title!r}, row {row_no})")
                values = [None] * max(c.column for c in cells_in_row)
                for c in cells_in_row:
                    values[c.column - 1] = _shown_value(c)
                    if isinstance(values[c.column - 1], str) and len(values[c.column - 1]) > limits.cell_chars:
                        raise InputError(f"cell {c.coordinate} of sheet {sheet.title!r} holds more than "
                                         f"{limits.cell_chars:,} characters (JIXIAO_MAX_CELL_CHARS; Excel "
                                         f"allows 32,767 in a cell)",
                                         subject=subject, code="cell_too_long")
                cells, grid = merges.layout(row_no, values)
                before = len(builder.page.lines)
                builder.add_row(cells, new_table=first, grid=grid)
                first = first and len(builder.page.lines) == before
            pages.append(builder.page)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"the XLSX is damaged and cannot be read ({type(exc).__name__})",
                         subject=subject, code="corrupt_xlsx") from exc
    finally:
        workbook.close()
    return pages
