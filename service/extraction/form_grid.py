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
    line: Line | None = None  # the cell's own line when it is not its row's (one cell per line)

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
# a total or a grade right after its label, the space between them lost (`评价等级优秀`, `自评总分 95.5`)
_KV_SPACED = re.compile(r"^(?P<label>" + "|".join(re.escape(x) for x in sorted({*TOTAL_SCORE_LABELS, *GRADE_LABELS},
                                                                                key=len, reverse=True))
                        + r") ?(?P<value>\d{1,3}(?:\.\d{1,2})?|优秀|良好|中等|较差|合格|不合格|优|良|中|差)$")


def kv_cells(text: str) -> list[str] | None:
    """`项目名称：X 主管部门：Y` → [项目名称, X, 主管部门, Y]; None when the line holds no `label：` pair at
    its start. A colon is required (prose mentions these words too), except for a line that is only a total
    or grade label and its value (`评价等级优秀`, a two-cell row flattened to text)."""
    matches = list(_KV.finditer(text))
    if not matches or matches[0].start() != 0:
        m = _KV_SPACED.match(text.strip())
        return [m.group("label"), m.group("value")] if m else None
    out: list[str] = []
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        out.extend([m.group("label"), text[m.end():end].strip()])
    return out


def _header_word(ln: Line) -> bool:
    from service.extraction.vocabulary import (
        FUNDS_BLOCK_LABELS,
        GROUP_HEADERS,
        INDICATOR_BLOCK_LABELS,
        classify_header,
        header_key,
    )

    from service.extraction.vocabulary import is_instruction

    if ln.kind != "text" or len(ln.text) > 24 or is_instruction(ln.text):
        return False
    key = header_key(ln.text)[0]
    return classify_header(ln.text).field is not None or key in GROUP_HEADERS or key in FUNDS_BLOCK_LABELS \
        or key in INDICATOR_BLOCK_LABELS


def header_runs(lines: list[Line]) -> dict[int, int]:
    """Runs of one-cell lines that are all header words (a table copied one cell per line): start → end."""
    from service.extraction.vocabulary import classify_header

    runs: dict[int, int] = {}
    i = 0
    while i < len(lines):
        if not _header_word(lines[i]):
            i += 1
            continue
        j = i
        while j < len(lines) and _header_word(lines[j]):
            j += 1
        if j - i >= 3 and len({classify_header(ln.text).field for ln in lines[i:j]} - {None}) >= 2:
            runs[i] = j
        i = j
    return runs


def grid_rows(lines: list[Line]) -> list[GRow]:
    rows: list[GRow] = []
    runs = header_runs(lines)
    skip_to = -1
    for k, ln in enumerate(lines):
        if k < skip_to:
            continue
        if k in runs:
            # one header row made of the run's lines, each cell keeping its own line
            run = lines[k : runs[k]]
            rows.append(GRow(ln, [GCell(x.text, n, 1, x) for n, x in enumerate(run)]))
            skip_to = runs[k]
            continue
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


__all__ = ["GCell", "GRow", "grid_rows", "header_runs", "kv_cells"]
