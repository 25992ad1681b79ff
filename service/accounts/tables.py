"""Find the public tables 公开01–09 of a 部门决算 and parse them into rows of codes, names and values.

Tables are found from content: the `公开NN表` marker line (or the table's standard title), then every row
line until the table's 注/说明 note or the next table. Rows on later pages (a table continued over a page
break, with its header printed again) belong to the same table: a row equal to a header row is skipped.

Columns are named from the header rows, whatever the table: empty header cells under a spanning header
inherit its text (`本年支出` over `小计 | 基本支出 | 项目支出`), and the header path joined by '/' is the
column key. Which cells hold codes, names, 行次 or values is read from the headers too (编码/代码, 科目名称,
项目, 行次), so the two halves of the summary tables 01/04 and the three groups of 公开06 fall out of the
same code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from retrieval.types import CELL_SEP, LoadedDocument, Line
from service.accounts.models import AccountsColumn, AccountsRow, AccountsTable, AccountsValue
from service.models import SourceRef

MARKER = re.compile(r"^公开\s*(0[1-9]|1[0-9])\s*表")
# standard titles (财政部 部门决算公开 template), used when a marker line is missing
TITLES: list[tuple[str, re.Pattern]] = [
    ("04", re.compile(r"^财政拨款收入支出决算总表$")),
    ("01", re.compile(r"^收入支出决算总表$")),
    ("02", re.compile(r"^收入决算表$")),
    ("03", re.compile(r"^支出决算表$")),
    ("05", re.compile(r"^一般公共预算财政拨款支出决算表$")),
    ("06", re.compile(r"^一般公共预算财政拨款基本支出决算(明细)?表$")),
    ("07", re.compile(r"^政府性基金预算财政拨款(收入)?支出决算表$")),
    ("08", re.compile(r"^国有资本经营预算财政拨款(收入)?支出决算表$")),
    ("09", re.compile(r"^财政拨款.?三公.?经费支出决算表$")),
]
_END = re.compile(r"^(注[:：]|说明[:：]|第[一二三四五六七八九十]+部分)")
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十百]+、|\(?[一二三四五六七八九十]+\)|\d+[、.．])\s*")
_AMOUNT = re.compile(r"^[-−]?\d[\d,]*(?:\.\d+)?$")
_EMPTY_VALUE = {"-", "—", "－", "/", "——", "…"}
_CODE = re.compile(r"^\d{3}(?:\d{2}){0,2}$")
_TOTAL_NAMES = re.compile(r"(合计|总计|小计)$")


def parse_amount(text: str) -> Decimal | None:
    t = text.replace(",", "").replace(" ", "").replace("−", "-")
    if t.endswith("%"):
        t = t[:-1]
    if not t or t in _EMPTY_VALUE or not _AMOUNT.match(t.replace(",", "")):
        return None
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def strip_numbering(name: str) -> str:
    return _NUMBERING.sub("", name).strip()


def cells_of(line: Line) -> list[str]:
    return list(line.cells) if line.cells is not None else line.text.split(CELL_SEP)


@dataclass
class _RawTable:
    table_id: str
    title: str
    marker: Line | None
    unit: str = "万元"
    rows: list[Line] = field(default_factory=list)


def title_table_id(text: str) -> str | None:
    for tid, pat in TITLES:
        if pat.match(text):
            return tid
    return None


_HEADER_WORD = re.compile(r"(编码|代码|科目名称|^项目$|合计|支出|收入|行次|栏次|金额|决算数|年初|结转|结余|小计)")
_TOTAL_CELL = re.compile(r"^(合计|总计|小计)$")


def _stream_rows(lines: list[Line], start: int) -> tuple[list[Line], int] | None:
    """A functional table copied one cell per line (text from a PDF or a web page): the header is the run of
    header words after the title, each row starts at a subject code (or a 合计/总计 name, whose code cell is
    empty) and takes cells up to the header's width. Returns the rebuilt row lines — one Line per row, on the
    row's first line, its raw text keeping the cells' own lines — and where the table ends; None when no such
    header follows."""
    k = start
    header: list[str] = []
    while k < len(lines) and lines[k].kind == "text" and _HEADER_WORD.search(lines[k].text) \
            and not _CODE.match(lines[k].text.strip()) and not _TOTAL_CELL.match(lines[k].text.strip()) \
            and parse_amount(lines[k].text) is None and len(header) < 12:
        header.append(lines[k].text.strip())
        k += 1
    if len(header) < 3 or not any(re.search(r"(编码|代码)$", h) for h in header):
        return None
    width = len(header)
    out: list[Line] = [Line(lines[start].page, lines[start].line_no, CELL_SEP.join(header),
                            raw="\n".join(header), kind="row", cells=header)]
    cur: list[Line] = []

    def flush() -> None:
        cells = [x.text.strip() for x in cur]
        if _TOTAL_CELL.match(cells[0]):
            cells = [""] + cells  # the total row leaves its code cell empty
        cells = (cells + [""] * width)[:width]
        out.append(Line(cur[0].page, cur[0].line_no, CELL_SEP.join(cells), raw="\n".join(x.text for x in cur),
                        kind="row", cells=cells))

    while k < len(lines) and lines[k].kind == "text":
        t = lines[k].text.strip()
        starts = bool(_CODE.match(t)) or bool(_TOTAL_CELL.match(t))
        if not starts and not cur:
            break  # past the table
        if starts and cur:
            flush()
            cur = []
        if not starts and (len(cur) >= width or (parse_amount(t) is None and len(cur) >= 2)):
            break  # a cell that is neither a name nor an amount: the table is over
        cur.append(lines[k])
        k += 1
    if cur:
        flush()
    return (out, k) if len(out) > 1 else None


def _with_stream_rows(lines: list[Line]) -> list[Line]:
    """The document's lines with every table copied one cell per line after a 公开NN表 marker or a standard
    title replaced by row lines; other lines unchanged."""
    out: list[Line] = []
    k = 0
    while k < len(lines):
        ln = lines[k]
        out.append(ln)
        k += 1
        text = ln.text.strip()
        if ln.kind != "text" or not (MARKER.match(text) or title_table_id(text)):
            continue
        j = k  # the title and unit lines between the marker and the header
        while j < len(lines) and j - k < 3 and lines[j].kind == "text" and (
                title_table_id(lines[j].text.strip()) or re.search(r"单位[:：]", lines[j].text)):
            j += 1
        got = _stream_rows(lines, j) if j < len(lines) else None
        if got is None:
            continue
        rows, end = got
        out.extend(lines[k:j])
        out.extend(rows)
        k = end
    return out


def collect_tables(doc: LoadedDocument) -> list[_RawTable]:
    """Group row lines into tables 01–09 by marker/title lines; pure over the loaded lines."""
    out: list[_RawTable] = []
    cur: _RawTable | None = None
    prev_text: Line | None = None
    all_lines = list(doc.iter_lines())
    if not any(ln.kind == "row" for ln in all_lines):
        all_lines = _with_stream_rows(all_lines)  # a document without rows: its tables were copied cell by cell
    for ln in all_lines:
        filled = [c for c in (ln.cells or []) if c.strip()] if ln.kind == "row" else []
        if ln.kind == "row" and len(filled) != 1:
            if cur is not None:
                cur.rows.append(ln)
            continue
        # a spreadsheet prints the marker, the title and the unit line as one-cell rows: read them as text
        text = (filled[0] if ln.kind == "row" else ln.text).strip()
        m = MARKER.match(text)
        tid = m.group(1) if m else (title_table_id(text) if len(text) <= 30 else None)
        if tid:
            if cur is not None and cur.table_id == tid:
                if m and cur.marker is None:
                    cur.marker = ln
                prev_text = ln
                continue  # a continuation page repeating the marker/title
            if cur is not None and not cur.rows and m and title_table_id(cur.title or "") == tid:
                cur.marker = ln  # the title started it, the marker confirms it
                prev_text = ln
                continue
            title = ""
            if m and prev_text is not None and title_table_id(prev_text.text.strip()):
                title = prev_text.text.strip()
            elif not m:
                title = text
            cur = _RawTable(table_id=tid, title=title, marker=ln if m else None)
            if not m:
                cur.marker = ln
            out.append(cur)
            prev_text = ln
            continue
        if cur is not None:
            if cur.rows and text.endswith("表") and "续表" not in text and title_table_id(text) is None:
                cur = None  # another table's title (a self-evaluation form after the accounts)
            elif cur.rows and (_END.match(text) or len(text) > 40 or text.endswith("。")):
                # the table's note, or prose: the table is over (page furniture between the pages of a
                # continued table — 部门/单位 lines, page numbers — is short and has no full stop)
                cur = None
            elif not cur.rows and (len(text) > 40 or text.endswith("。")):
                cur = None  # a title in running text, not a table
            elif not cur.rows:
                um = re.search(r"单位[:：]\s*(万元|元|千元|亿元)", text)
                if um:
                    cur.unit = um.group(1)
        prev_text = ln
    # the 09 table's title is usually the standard one; fill titles from markers' previous lines
    return [t for t in out if t.rows]


# ---------------------------------------------------------------- headers

def _is_lanci_row(cells: list[str]) -> bool:
    if any(c == "栏次" for c in cells):
        return True
    nums = [c for c in cells if c]
    if len(nums) >= 3 and all(c.isdigit() for c in nums):
        return [int(c) for c in nums] == list(range(1, len(nums) + 1))
    return False


def _header_labels(header: list[list[str]], width: int) -> list[list[str]]:
    """Spanning headers: an empty header cell takes its left neighbour's text when every header row above
    it also spans into this column (so a span never leaks past the end of its parent)."""
    grid = [[(r[c] if c < len(r) else "") for c in range(width)] for r in header]
    labels = [[""] * width for _ in grid]
    fresh = [[bool(grid[r][c]) for c in range(width)] for r in range(len(grid))]
    for r in range(len(grid)):
        for c in range(width):
            if grid[r][c]:
                labels[r][c] = grid[r][c]
            elif c > 0 and all(not fresh[u][c] for u in range(r)) and labels[r][c - 1]:
                labels[r][c] = labels[r][c - 1]
    return labels


def _role(path: list[str]) -> str:
    leaf = path[-1] if path else ""
    if re.search(r"(编码|代码)$", leaf):
        return "code"
    if leaf in ("科目名称", "项目", "项目名称") or leaf.endswith("科目名称"):
        return "name"
    if leaf == "行次":
        return "line"
    if leaf == "栏次":
        return "skip"
    return "value"


def _kind(header_text: str, table_id: str) -> str:
    if "经济分类" in header_text:
        return "economic"
    if "因公出国" in header_text or "三公" in header_text:
        return "sangong"
    if "行次" in header_text:
        return "summary"
    if re.search(r"功能分类|科目编码|科目代码", header_text):
        return "functional"
    return "other"


def _is_data_row(cells: list[str], roles: list[str] | None) -> bool:
    if _is_lanci_row(cells):
        return False
    if roles is None:
        return any(parse_amount(c) is not None for c in cells)
    for c, role in zip(cells, roles):
        if role in ("value", "code", "line") and c and parse_amount(c) is not None:
            return True
    return False


# ---------------------------------------------------------------- parse

def _value(doc_id: str, line: Line, cells: list[str], idx: int) -> AccountsValue:
    raw = cells[idx]
    n = _stream_span(line)
    # join_broken strips a line, so a row starting with empty cells is quoted without its leading TABs; a row
    # rebuilt from one cell per line is cited by its lines, quoting the value itself (its own line)
    quote = CELL_SEP.join(cells[: idx + 1]).strip() if n == 1 else raw
    return AccountsValue(raw=raw, value=parse_amount(raw),
                         ref=SourceRef(doc_id=doc_id, page=line.page, line_start=line.line_no,
                                       line_end=line.line_no + n - 1, quote=quote))


def _stream_span(line: Line) -> int:
    """How many document lines a rebuilt row covers (1 for a real row line)."""
    return line.raw.count("\n") + 1 if line.kind == "row" and line.raw and "\n" in line.raw else 1


def _row_ref(doc_id: str, line: Line) -> SourceRef:
    n = _stream_span(line)
    return SourceRef(doc_id=doc_id, page=line.page, line_start=line.line_no, line_end=line.line_no + n - 1,
                     quote=line.text.strip() if n == 1 else line.raw.split("\n")[0].strip())


def _level(code: str | None, kind: str) -> str | None:
    if not code:
        return None
    return {3: "类", 5: "款", 7: "项"}.get(len(code))


def parse_table(doc_id: str, raw: _RawTable) -> AccountsTable:
    rows = [cells_of(ln) for ln in raw.rows]
    width = max((len(r) for r in rows), default=0)
    # header rows: everything before the first data row; the 栏次 row is kept apart
    header: list[list[str]] = []
    header_texts: set[str] = set()
    lanci: list[str] | None = None
    first_data = len(rows)
    for i, cells in enumerate(rows):
        if _is_lanci_row(cells):
            lanci = cells
            header_texts.add(raw.rows[i].text)
            continue
        if _is_data_row(cells, None):
            first_data = i
            break
        header.append(cells)
        header_texts.add(raw.rows[i].text)
    header_text = " ".join(c for r in header for c in r)
    kind = _kind(header_text, raw.table_id)
    labels = _header_labels(header, width)
    paths: list[list[str]] = []
    for c in range(width):
        p: list[str] = []
        for r in range(len(labels)):
            lab = labels[r][c]
            if lab and (not p or p[-1] != lab):
                p.append(lab)
        paths.append(p)
    roles = [_role(p) for p in paths]
    if kind == "sangong":
        roles = ["value"] * width
    # groups (06) and halves (01/04): a new group starts at each code/name column after a value column
    group_of: list[int] = []
    g = 0
    seen_value = False
    for c in range(width):
        if roles[c] in ("code", "name") and seen_value:
            g += 1
            seen_value = False
        if roles[c] == "value":
            seen_value = True
        group_of.append(g)
    n_groups = g + 1
    sides: list[str | None] = [None] * width
    if kind == "summary" and n_groups == 2:
        sides = ["income" if group_of[c] == 0 else "expense" for c in range(width)]
    columns: list[AccountsColumn] = []
    col_key: dict[int, str] = {}
    for c in range(width):
        if roles[c] != "value":
            continue
        path = [x for x in paths[c] if not (kind != "summary" and x == "项目")] or [f"col{c + 1}"]
        key = "/".join(path)
        if kind == "summary" and path[0] not in ("收入", "支出"):
            key = ("收入/" if sides[c] == "income" else "支出/") + key
        if kind == "economic":
            key = path[-1]  # the three groups share the 决算数 column name
        col_key[c] = key
        lc = lanci[c] if lanci is not None and c < len(lanci) and lanci[c] not in ("", "栏次") else None
        if kind != "economic" or group_of[c] == 0:
            columns.append(AccountsColumn(key=key, label=path[-1], path=path, index=c, lanci=lc,
                                          side=sides[c], group=None))
    if kind == "economic":
        columns = [AccountsColumn(key="决算数", label="决算数", path=["决算数"],
                                  index=min(col_key) if col_key else 2, group=None)]

    out_rows: list[AccountsRow] = []
    for line, cells in zip(raw.rows[first_data:], rows[first_data:]):
        if line.text in header_texts or _is_lanci_row(cells):
            continue  # a header repeated on a continuation page
        if n_groups == 1 and roles[:2] == ["code", "name"] and len(cells) == width - 1 and cells \
                and _TOTAL_NAMES.search(cells[0]) and not _CODE.match(cells[0]):
            # text aligned by spaces loses the total row's empty code cell: put it back so columns line up
            cells = [""] + cells
        for grp in range(n_groups):
            idxs = [c for c in range(width) if group_of[c] == grp]
            code = name = lno = None
            vals: dict[str, AccountsValue] = {}
            for c in idxs:
                cell = cells[c] if c < len(cells) else ""
                if roles[c] == "code":
                    code = cell or None
                elif roles[c] == "name":
                    name = cell or None
                elif roles[c] == "line":
                    lno = cell or None
                elif roles[c] == "value" and cell:
                    vals[col_key[c]] = _value(doc_id, line, cells, c)
            if code and not _CODE.match(code):
                # a name in the code column (merged cells): treat as the name
                name, code = (name or code), None
            if kind in ("summary", "functional", "economic") and not name and not code:
                continue
            if kind == "sangong":
                name = name or "三公经费"
            if not vals and kind != "summary":
                continue
            if kind == "summary" and not name:
                continue
            raw_name = name or ""
            clean = strip_numbering(raw_name) if raw_name else ""
            side = sides[idxs[0]] if idxs else None
            out_rows.append(AccountsRow(
                name=clean or (code or ""), raw_name=raw_name, code=code,
                level=_level(code, kind) if kind in ("functional", "economic") else None,
                side=side, group=grp if kind == "economic" else None, line_no=lno,
                is_total=bool(_TOTAL_NAMES.search(clean)) and not code,
                values=vals, ref=_row_ref(doc_id, line)))
    _qualify_duplicates(out_rows)
    pages = sorted({ln.page for ln in raw.rows})
    ref = _row_ref(doc_id, raw.marker) if raw.marker is not None else None
    title = raw.title or (raw.marker.text if raw.marker is not None else "")
    return AccountsTable(table_id=raw.table_id, title=title, kind=kind, unit=raw.unit, columns=columns,
                         rows=out_rows, pages=pages, ref=ref)


def _qualify_duplicates(rows: list[AccountsRow]) -> None:
    """04's 年初财政拨款结转和结余 lists the three fund types again under it: name those rows
    `年初财政拨款结转和结余/一般公共预算财政拨款` so a name finds one row."""
    seen: dict[tuple, int] = {}
    for i, row in enumerate(rows):
        key = (row.side, row.group, row.code, row.name)
        if key in seen and row.code is None:
            parent = next((r for r in reversed(rows[:i]) if r.side == row.side and "/" not in r.name and
                           ("结转" in r.name or "结余" in r.name) and r.name != row.name), None)
            if parent is not None:
                row.name = f"{parent.name}/{row.name}"
        else:
            seen[key] = i


def parse_tables(doc: LoadedDocument) -> list[AccountsTable]:
    tables = [parse_table(doc.doc_id, raw) for raw in collect_tables(doc)]
    # a table id appearing twice (e.g. an appendix reprint) keeps the first
    out: list[AccountsTable] = []
    seen: set[str] = set()
    for t in tables:
        if t.table_id in seen:
            continue
        seen.add(t.table_id)
        out.append(t)
    return out
