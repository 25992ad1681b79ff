"""Rows of cells with their place on the form's grid (pure): what the form reader walks over.

Every input kind arrives as numbered lines (retrieval.types.Line). Table rows carry their cells and, when the
format knows it, each cell's grid column and span (DOCX, XLSX, ruled PDF). Flattened text keeps only the
order of the cells (`positional=False`), so the reader aligns those by what the cells look like instead.
A prose line that holds `label：value` pairs (`项目名称：城乡医疗救助 主管部门：区民政局`) becomes a row of
label and value cells, so header fields read the same from a table and from text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from retrieval.types import Line
from service.extraction.vocabulary import (
    DEPARTMENT_LABELS,
    GRADE_LABELS,
    IMPLEMENTER_LABELS,
    PROJECT_LABELS,
    TOTAL_SCORE_LABELS,
    YEAR_LABELS,
)


@dataclass
class GCell:
    text: str
    col: int  # first grid column (the cell's index when the grid is unknown)
    span: int = 1

    @property
    def end(self) -> int:
        return self.col + self.span


@dataclass
class GRow:
    line: Line
    cells: list[GCell] = field(default_factory=list)
    positional: bool = False  # True when col/span come from the document's grid

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.cells]

    def nonempty(self) -> list[GCell]:
        return [c for c in self.cells if c.text.strip()]


_KV_LABELS = sorted({*PROJECT_LABELS, *DEPARTMENT_LABELS, *IMPLEMENTER_LABELS, *YEAR_LABELS, *TOTAL_SCORE_LABELS,
                     *GRADE_LABELS, "联系人", "联系电话", "填报人", "填表人", "填报日期", "单位负责人", "财务负责人"},
                    key=len, reverse=True)
_KV = re.compile(r"(?P<label>" + "|".join(re.escape(x) for x in _KV_LABELS) + r")\s*[:：]\s*")


def kv_cells(text: str) -> list[str] | None:
    """`项目名称：X 主管部门：Y` → [项目名称, X, 主管部门, Y]; None when the line holds no `label：` pair at
    its start. A colon is required: prose mentions these words too."""
    matches = list(_KV.finditer(text))
    if not matches or matches[0].start() != 0:
        return None
    out: list[str] = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        out.extend([m.group("label"), text[m.end():end].strip()])
    return out


def grid_rows(lines: list[Line]) -> list[GRow]:
    rows: list[GRow] = []
    for ln in lines:
        if ln.kind == "row" and ln.cells:
            if ln.grid and len(ln.grid) == len(ln.cells):
                cells = [GCell(t, c, s) for t, (c, s) in zip(ln.cells, ln.grid)]
                rows.append(GRow(ln, cells, positional=True))
            else:
                rows.append(GRow(ln, [GCell(t, k) for k, t in enumerate(ln.cells)]))
            continue
        kv = kv_cells(ln.text)
        if kv is not None:
            rows.append(GRow(ln, [GCell(t, k) for k, t in enumerate(kv)]))
        else:
            rows.append(GRow(ln, [GCell(ln.text, 0)]))
    return rows


__all__ = ["GCell", "GRow", "grid_rows", "kv_cells"]
