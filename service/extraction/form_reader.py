"""The general form reader (pure): one self-evaluation form, any template, any input kind.

A form is read by what its headers and labels say (service.extraction.vocabulary), never by column positions
or by which report it came from:

  1. rows of cells with their grid place (service.extraction.form_grid);
  2. header rows: a row whose cells mostly name known columns (年初预算数, 全年执行数, 执行率, 分值, 得分 … or
     一级指标, 三级指标, 年度指标值, 实际完成值 …). A header cell spanning sub-columns (年度指标值 over 指标性质 /
     指标值 / 度量单位) takes its sub-headers from the row below;
  3. the rows under a funds header: a 年度资金总额 / 合计 row (the totals, the execution weight and score) and
     its source rows (其中：本年财政拨款 / 上年结转 / 其他资金 …);
  4. the rows under an indicator header: first- and second-level names carried down merged cells, points in
     a first-level name (产出指标(50分)) as category weights, target assembled from 指标性质 / 指标方向 / 指标值
     / 度量单位 when the template splits it, 复核分 kept apart from the self-score, template placeholders
     (指标1、……、(主要填写…)) skipped, and the 总分 / 合计 row's total and grade;
  5. label/value pairs anywhere else (项目名称, 主管部门, 实施单位, 自评总分, 自评等级, 年度 …) and the prose
     around the table (stated totals, grades, amounts: narrative claims).

Where the document knows the grid (DOCX, XLSX, ruled PDF) a value belongs to the header column over its grid
column. Flattened text only keeps the cells' order and drops empty ones, so there the cells are aligned to the
header columns by what they look like (a number under 分值, an operator under 指标性质 …): a small dynamic
programme over (cells × columns).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from retrieval.types import Line
from service.extraction.form_grid import GCell, GRow, grid_rows
from service.extraction.prose import canonical_grade, claims_in, find_grade, find_total
from service.extraction.spans import Stream, line_ref, lines_ref
from service.extraction.targets import NUMBER_RE, UNIT_RE, odd_score, parse_target
from service.extraction.vocabulary import (
    DEPARTMENT_LABELS,
    FUNDS_BLOCK_LABELS,
    FUNDS_TOTAL_LABELS,
    GOAL_ACTUAL,
    GOAL_BLOCK_LABELS,
    GOAL_PLANNED,
    GRADE_LABELS,
    GROUP_HEADERS,
    LEVEL2_NAMES,
    IMPLEMENTER_LABELS,
    INDICATOR_BLOCK_LABELS,
    PROJECT_LABELS,
    TOTAL_SCORE_LABELS,
    YEAR_LABELS,
    HeaderMeaning,
    classify_header,
    header_key,
    is_level1,
    is_level2,
    is_instruction,
    is_placeholder,
    label_in,
    level1_with_points,
)
from service.models import (
    DepartmentEvaluation,
    ExtractionStamp,
    Figure,
    Funds,
    FundsSource,
    Indicator,
    ProjectEvaluation,
    SourceRef,
    TextField,
)

LAYOUT = "form"
FUNDS_FIELDS = {"initial_budget", "adjusted_budget", "available", "executed", "rate", "balance"}
INDICATOR_FIELDS = {"level1", "level2", "level3", "target", "actual", "op", "direction", "target_unit", "note", "core"}
NUMERIC_FIELDS = {"initial_budget", "adjusted_budget", "available", "executed", "rate", "balance", "weight", "score",
                  "review_score", "coefficient"}
GRADE_WORDS = ("优秀", "良好", "中等", "合格", "不合格", "较差", "优", "良", "中", "差")
_GRADE_CELL = re.compile(r"^(?:(?:自评|评价|绩效)?等级[:：]?)?\s*[“\"]?(优秀|良好|中等|不合格|合格|较差|优|良|中|差)[”\"]?$")
_NUMBER_CELL = re.compile(rf"^[¥￥]?\s*(?P<num>-?(?:{NUMBER_RE}))\s*(?P<unit>万元|元|分|%|％)?$")
_OPERATOR = {"≥": ">=", "≧": ">=", ">=": ">=", "大于等于": ">=", "大于或等于": ">=", "不低于": ">=", "不少于": ">=",
             "≤": "<=", "≦": "<=", "<=": "<=", "小于等于": "<=", "小于或等于": "<=", "不高于": "<=", "不超过": "<=",
             "=": "=", "＝": "=", "﹦": "=", "等于": "=", ">": ">", "大于": ">", "<": "<", "小于": "<"}
_SENSE = {"正向": ">=", "正向指标": ">=", "反向": "<=", "反向指标": "<="}
_OP_SYMBOL = {">=": "≥", "<=": "≤", "=": "=", ">": ">", "<": "<"}
_YEAR = re.compile(r"(20\d{2})\s*年")
_TITLE_UNIT = re.compile(r"(?:金额)?单位[:：]\s*(万元|元)")
_STOP_LABELS = ("填报人", "填表人", "联系电话", "联系人", "审核人", "单位负责人", "财务负责人", "填报日期", "说明",
                "备注:", "注:", "注：")


# --- small readers ----------------------------------------------------------------------------------------

def _cref(doc_id: str, row: GRow, cell: GCell) -> SourceRef:
    """Cite the line a cell is on (its own line when the table was copied one cell per line)."""
    return line_ref(doc_id, cell.line or row.line, cell.text)


def _row_ref(doc_id: str, row: GRow) -> SourceRef:
    lines = sorted({(c.line.page, c.line.line_no): c.line for c in row.cells if c.line is not None}.items())
    if len(lines) > 1:
        ref = lines_ref(doc_id, [ln for _, ln in lines])
        if ref is not None:
            return ref
    return line_ref(doc_id, row.line)

def number(text: str | None) -> Decimal | None:
    """A cell that is one number (`1,082.23`, `95.8%`, `10分`, `¥5`), else None (`—`, `优`, `有效保障`)."""
    if text is None:
        return None
    t = text.strip().replace(" ", "")
    m = _NUMBER_CELL.match(t)
    if not m:
        return None
    try:
        return Decimal(m.group("num").replace(",", ""))
    except InvalidOperation:  # pragma: no cover
        return None


def is_number(text: str) -> bool:
    return number(text) is not None


def operator_of(text: str) -> str | None:
    t = re.sub(r"\s+", "", text or "")
    return _OPERATOR.get(t)


def grade_of(text: str) -> str | None:
    m = _GRADE_CELL.match(re.sub(r"\s+", "", text or ""))
    return canonical_grade(m.group(1)) if m else None


def _fig(cell_text: str, ref: SourceRef, unit: str | None) -> Figure | None:
    value = number(cell_text)
    if value is None:
        return None
    return Figure(raw=cell_text.strip(), value=value, unit=unit, ref=ref)


def rate_figure(text: str, ref: SourceRef, percent_header: bool, budget: Decimal | None,
                executed: Decimal | None) -> Figure | None:
    """A rate written 95.8%, 95.8 or 0.958, always returned in percent. A bare number at most 1 is a fraction
    unless the amounts say the rate really is below 1% (executed / budget)."""
    value = number(text)
    if value is None:
        return None
    raw = text.strip()
    if "%" in raw or "％" in raw or percent_header:
        return Figure(raw=raw, value=value, unit="%", ref=ref)
    real = executed / budget * 100 if budget and executed is not None and budget > 0 else None
    fraction = abs(real - value * 100) < abs(real - value) if real is not None else value <= Decimal("1.5")
    if fraction:
        # a fraction (0.958, or 1.0531 when over budget): the figure is kept in percent, and so is its raw text
        # (the citation's quote keeps the cell as printed), so that its precision reads in percent too:
        # 0.982 is 98.2%, good to a tenth of a percent
        places = max(0, -value.as_tuple().exponent - 2)
        value = (value * 100).quantize(Decimal(1).scaleb(-places))
        return Figure(raw=f"{value}%", value=value, unit="%", ref=ref)
    return Figure(raw=raw, value=value, unit="%", ref=ref)


# --- headers ----------------------------------------------------------------------------------------------

@dataclass
class Column:
    field: str
    col: int
    end: int
    unit: str | None = None
    percent: bool = False
    text: str = ""


@dataclass
class Header:
    kind: str  # funds | indicators
    columns: list[Column]
    rows: int  # rows the header takes (2 for a two-row header)
    positional: bool
    unit: str | None = None  # money unit stated in a header cell (项目资金(万元))

    def field_columns(self, *fields: str) -> list[Column]:
        return [c for c in self.columns if c.field in fields]

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.columns}


def _meanings(row: GRow) -> list[tuple[GCell, HeaderMeaning]]:
    return [(c, classify_header(c.text)) for c in row.nonempty()]


def _headerish(row: GRow) -> tuple[int, int]:
    """(cells naming a column, cells that are neither a column name nor a group/block label)."""
    named = other = 0
    for c, m in _meanings(row):
        key = m.key
        if m.field:
            named += 1
        elif key in GROUP_HEADERS or key in FUNDS_BLOCK_LABELS or key in INDICATOR_BLOCK_LABELS or \
                label_in(c.text, FUNDS_BLOCK_LABELS + INDICATOR_BLOCK_LABELS):
            continue
        else:
            other += 1
    return named, other


def _kind(fields: set[str]) -> str | None:
    if fields & {"level3", "level1", "level2"} or {"target", "actual"} <= fields:
        return "indicators"
    if len(fields & FUNDS_FIELDS) >= 2 or (fields & {"adjusted_budget", "initial_budget", "executed"}
                                           and fields & {"weight", "score", "rate"}):
        return "funds"
    return None


def header_at(rows: list[GRow], i: int) -> Header | None:
    row = rows[i]
    named, other = _headerish(row)
    if named < 2 or other > named:
        return None
    if any(is_number(c.text) for c in row.nonempty()):
        return None
    meanings = _meanings(row)
    fields = {m.field for _, m in meanings if m.field}
    kind = _kind(fields)
    if kind is None:
        return None
    unit = next((m.unit for _, m in meanings if m.unit), None)
    columns: list[Column] = []
    for c, m in meanings:
        if m.field:
            columns.append(Column(m.field, c.col, c.end, m.unit, m.percent, c.text))
        elif columns and not (label_in(c.text, FUNDS_BLOCK_LABELS + INDICATOR_BLOCK_LABELS)
                              or m.key in GROUP_HEADERS):
            # a column the vocabulary does not know (评分说明, 序号 …): kept so its cells have a place
            columns.append(Column("other", c.col, c.end, m.unit, m.percent, c.text))
    used = 1
    # a second header row: sub-columns under a spanning (positional) or group (flattened) header cell
    if i + 1 < len(rows):
        sub = rows[i + 1]
        s_named, s_other = _headerish(sub)
        if s_named >= 1 and s_other == 0 and not any(is_number(c.text) for c in sub.nonempty()):
            sub_cols = [Column(m.field, c.col, c.end, m.unit, m.percent, c.text)
                        for c, m in _meanings(sub) if m.field]
            if row.positional and sub.positional:
                parents = [c for c in row.nonempty() if c.span > 1]
                kept = [col for col in columns
                        if not any(p.col <= col.col < p.end for p in parents
                                   if any(p.col <= s.col < p.end for s in sub_cols))]
                columns = sorted(kept + sub_cols, key=lambda c: c.col)
                used = 2
            elif not row.positional:
                # flattened: the sub-headers replace the group header they belong under
                groups = [k for k, col in enumerate(columns)
                          if header_key(col.text)[0] in GROUP_HEADERS or any(s.field == col.field for s in sub_cols)]
                if groups:
                    k = groups[0]
                    columns = columns[:k] + sub_cols + columns[k + 1:]
                    for n, col in enumerate(columns):
                        col.col, col.end = n, n + 1
                    used = 2
            if used == 2:
                unit = unit or next((c.unit for c in sub_cols if c.unit), None)
    if not row.positional and used == 1:
        columns = _sub_headers_in_place(columns)
    if not row.positional:
        for n, col in enumerate(columns):
            col.col, col.end = n, n + 1
    return Header(kind, columns, used, row.positional, unit)


def _sub_headers_in_place(columns: list[Column]) -> list[Column]:
    """A two-row header copied into one run (年度指标值 … 偏差原因, then 指标性质 / 指标值 / 度量单位): the trailing
    sub-headers go where their group header stood."""
    group = next((k for k, c in enumerate(columns) if header_key(c.text)[0] in GROUP_HEADERS), None)
    if group is None:
        return columns
    tail = len(columns)
    while tail > group + 1 and columns[tail - 1].field in ("op", "direction", "target", "target_unit"):
        tail -= 1
    sub = columns[tail:]
    if not sub or not any(c.field in ("op", "target_unit", "direction") for c in sub):
        return columns
    return columns[:group] + sub + columns[group + 1 : tail]


# --- aligning a row to the header ---------------------------------------------------------------------------

def _fits(cell: str, f: str) -> float:
    """How well a cell's text fits a column (0 = cannot)."""
    t = cell.strip()
    if f in NUMERIC_FIELDS:
        return 2.0 if is_number(t) or t in ("—", "-", "/") else 0.0
    if f in ("op", "direction"):
        # 指标性质 holds an operator in some templates and 正向/反向 (or 定性/定量) in others; 指标方向 likewise
        return 2.5 if operator_of(t) or t in _SENSE or t in ("定性", "定量") else 0.0
    if f == "target_unit":
        if re.fullmatch(UNIT_RE, t):
            return 2.0
        # 元/公里, 个/年 … — but a short qualitative value (未完成, 已达标, 较好) is an actual, not a unit
        if re.fullmatch(r"[\u4e00-\u9fff%‰]{1,3}(?:/[\u4e00-\u9fff]{1,3})?", t) and not _QUALITATIVE.search(t):
            return 1.2
        return 0.0
    if f == "core":
        return 2.0 if t in ("是", "否", "√", "核心", "非核心") else 0.0
    if f == "level1":
        return 3.0 if is_level1(t) else 0.0
    if f == "level2":  # 成本指标 is a first-level name in some templates and a second-level one in others
        if t in LEVEL2_NAMES:
            return 1.5 if is_level1(t) else 2.5
        if is_level2(t):  # by its ending only (…满意度, …效益): an indicator's own name can end so too
            return 1.2
        return 0.8 if len(t) <= 8 and not re.search(r"\d", t) else 0.0  # an unfamiliar short group name
    if f == "level3":
        return 0.0 if _VALUE_LIKE.match(t) else (1.0 if not is_number(t) else 0.2)
    if f in ("target", "actual"):
        return 1.5 if _VALUE_LIKE.match(t) else 1.0
    if f == "other":
        return 0.4
    if f == "label":  # the row label left of a funds table's figures (年度资金总额, 其中：财政拨款 …)
        return 1.5 if t and not is_number(t) and t not in ("—", "-", "/") else 0.0
    if f == "note":
        return 0.6 if not is_number(t) else 0.1
    return 0.3


# morphemes of qualitative values, never of a unit of measure
_QUALITATIVE = re.compile(r"完成|达|合格|良|优|好|差|满意|有效|提升|改善|健全|规范|及时|到位|明显|显著|未|否|无|是|降低|增加")
# a cell that reads as a value, never as an indicator's name: an operator first, or a number with its unit
_VALUE_LIKE = re.compile(rf"^\s*(?:[≥≤≧≦<>=＝﹦]|(?:{NUMBER_RE})\s*(?:%|％|[\u4e00-\u9fff]{{1,3}}(?:/[\u4e00-\u9fff]{{1,2}})?)?$)")
# what leaving a column empty costs: an indicator row without its third-level name is unlikely
_SKIP = {"level3": 2.0}


def _skip(f: str) -> float:
    return _SKIP.get(f, 0.01)


def align(cells: list[str], fields: list[str]) -> dict[int, int]:
    """Cell index → column index, order kept, every cell placed, columns may stay empty: the assignment
    that fits best (ties go to earlier columns)."""
    n, m = len(cells), len(fields)
    neg = float("-inf")
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    best[0][0] = 0.0
    for j in range(1, m + 1):
        best[0][j] = best[0][j - 1] - _skip(fields[j - 1])
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            skip = best[i][j - 1] - _skip(fields[j - 1])
            fit = _fits(cells[i - 1], fields[j - 1])
            take = best[i - 1][j - 1] + fit - 0.001 * j if fit > 0 and best[i - 1][j - 1] > neg else neg
            if take >= skip:
                best[i][j], back[i][j] = take, (i - 1, j - 1)
            else:
                best[i][j], back[i][j] = skip, (i, j - 1)
    if best[n][m] == neg:
        return {}
    out: dict[int, int] = {}
    i, j = n, m
    while i > 0 and j > 0:
        prev = back[i][j]
        if prev is None:
            break
        if prev == (i - 1, j - 1):
            out[i - 1] = j - 1
        i, j = prev
    return out


ROW_PENALTY = 1.0


def align_stream(tokens: list[str], fields: list[str]) -> list[dict[int, int]]:
    """Cells copied one per line, rows run together: each token gets a column, in order, and a row ends where
    the next token's column is not to the right of the last one. The assignment that fits best, paying a
    little for every row started, so rows are cut only where the cells demand it. → per row {token: column}."""
    n, m = len(tokens), len(fields)
    if not n or not m:
        return []
    neg = float("-inf")
    fit = [[_fits(t, f) for f in fields] for t in tokens]
    best = [[neg] * m for _ in range(n)]
    back: list[list[int]] = [[-1] * m for _ in range(n)]
    lead = [0.0] * (m + 1)  # cost of leaving columns 0..j-1 empty at a row's start
    for j in range(1, m + 1):
        lead[j] = lead[j - 1] + _skip(fields[j - 1])
    for j in range(m):
        if fit[0][j] > 0:
            best[0][j] = fit[0][j] - lead[j]
    for i in range(1, n):
        for j in range(m):
            if fit[i][j] <= 0:
                continue
            for jp in range(m):
                if best[i - 1][jp] == neg:
                    continue
                step = -(lead[j] - lead[jp + 1]) if j > jp else -ROW_PENALTY - lead[j]
                v = best[i - 1][jp] + fit[i][j] + step
                if v > best[i][j]:
                    best[i][j], back[i][j] = v, jp
    j = max(range(m), key=lambda c: best[n - 1][c])
    if best[n - 1][j] == neg:
        return []
    cols = [0] * n
    for i in range(n - 1, -1, -1):
        cols[i] = j
        j = back[i][j]
    rows: list[dict[int, int]] = [{}]
    for i, c in enumerate(cols):
        if i and c <= cols[i - 1]:
            rows.append({})
        rows[-1][i] = c
    return rows


def _token(row: GRow) -> bool:
    return row.line.kind == "text" and len(row.cells) == 1 and bool(row.cells[0].text.strip())


def splice_stream(rows: list[GRow], start: int, header: Header) -> list[GRow]:
    """Replace the one-cell-per-line rows after a header by the table rows they were copied from."""
    if start >= len(rows) or not _token(rows[start]) or header.positional:
        return rows
    toks: list[GRow] = []
    j = start
    total: list[GRow] = []
    while j < len(rows) and _token(rows[j]):
        row = rows[j]
        text = row.cells[0].text.strip()
        if _is_stop(row) or header_at(rows, j) is not None or label_in(text, GRADE_LABELS):
            break
        if header.kind == "indicators" and _total_row(row):  # the total row: label, figures, grade
            total = [row]
            j += 1
            while j < len(rows) and _token(rows[j]) and len(total) < 4 and (
                    is_number(rows[j].cells[0].text) or grade_of(rows[j].cells[0].text)):
                total.append(rows[j])
                j += 1
            break
        if not is_placeholder(text):  # 指标1： / …… left from the template: no cell of any row
            toks.append(row)
        j += 1
    if len(toks) < 2 and not total:
        return rows
    fields = ([] if header.kind == "indicators" else ["label"]) + [c.field for c in header.columns]
    made: list[GRow] = []
    for group in align_stream([t.cells[0].text for t in toks], fields):
        cells = [GCell(toks[i].cells[0].text, n, 1, toks[i].line) for n, i in enumerate(sorted(group))]
        made.append(GRow(toks[min(group)].line, cells))
    if total:
        made.append(GRow(total[0].line, [GCell(t.cells[0].text, n, 1, t.line) for n, t in enumerate(total)]))
    return rows[:start] + made + rows[j:]


def row_values(row: GRow, header: Header, skip_label: bool = False) -> tuple[dict[str, GCell], list[GCell]]:
    """The row's cells by header field, and the cells left of every header column (its label cells)."""
    values: dict[str, GCell] = {}
    if header.positional and row.positional:
        first_col = min(c.col for c in header.columns)
        labels = [c for c in row.cells if c.end <= first_col and c.text.strip()]
        for cell in row.cells:
            if not cell.text.strip() or cell.end <= first_col:
                continue
            col = next((c for c in header.columns if c.col <= cell.col < c.end), None)
            if col is None:  # a cell wider than its column's header, or shifted: take the one it overlaps most
                overlaps = [(min(cell.end, c.end) - max(cell.col, c.col), c) for c in header.columns]
                overlaps = [o for o in overlaps if o[0] > 0]
                col = max(overlaps, key=lambda o: o[0])[1] if overlaps else None
            if col is not None and col.field not in values:
                values[col.field] = cell
        return values, labels
    cells = [c for c in row.cells if c.text.strip()]
    labels: list[GCell] = []
    if skip_label:
        while cells and not is_number(cells[0].text) and not _fits_any_leading(cells[0].text, header):
            labels.append(cells.pop(0))
    fields = [c.field for c in header.columns]
    placed = align([c.text for c in cells], fields)
    if not placed and len(cells) == len(fields):  # nothing fits by type, but the counts agree: by position
        placed = {k: k for k in range(len(cells))}
    for ci, fi in placed.items():
        values.setdefault(fields[fi], cells[ci])
    return values, labels


def _fits_any_leading(text: str, header: Header) -> bool:
    first = header.columns[0].field if header.columns else None
    return first is not None and first not in NUMERIC_FIELDS and _fits(text, first) >= 1.0 and header.kind == "indicators"


# --- the form -----------------------------------------------------------------------------------------------

@dataclass
class FormRead:
    """Everything one form says, before it becomes a project or a department record."""

    labels: dict[str, tuple[str, SourceRef]] = field(default_factory=dict)  # project, department, …
    funds: Funds | None = None
    indicators: list[Indicator] = field(default_factory=list)
    category_weights: dict[str, Decimal] = field(default_factory=dict)
    total: Figure | None = None
    grade: TextField | None = None
    goals: TextField | None = None
    completion: TextField | None = None
    year: int | None = None
    headers: list[str] = field(default_factory=list)  # kinds of the headers found, for the coverage verdict
    consumed: set[int] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        """Nothing of a form was read: no name, no funds, no indicator, no total."""
        return not (self.labels.get("project") or self.labels.get("department") or self.funds or self.indicators
                    or self.total)


def _is_goal_row(row: GRow) -> bool:
    """The 年度总体目标 block's row — not a 绩效目标 indicator of a three-block form, which carries numbers."""
    cells = row.nonempty()
    return bool(cells) and bool(label_in(cells[0].text, GOAL_BLOCK_LABELS)) and \
        not any(is_number(c.text) for c in cells)


def _is_stop(row: GRow) -> bool:
    first = next((c.text.strip() for c in row.cells if c.text.strip()), "")
    if not first:
        return False
    if label_in(first, PROJECT_LABELS) or _is_goal_row(row) or any(first.startswith(s) for s in _STOP_LABELS):
        return True
    return False


def _money_unit(lines: list[Line]) -> str | None:
    for ln in lines:
        m = _TITLE_UNIT.search(ln.text)
        if m:
            return m.group(1)
    return None


def read_funds(doc_id: str, rows: list[GRow], start: int, header: Header, default_unit: str,
               out: FormRead) -> int:
    unit = header.unit or next((c.unit for c in header.columns if c.unit), None) or default_unit
    percent = any(c.percent for c in header.columns if c.field == "rate")
    entries: list[tuple[str, dict[str, GCell], GRow]] = []
    j = start
    while j < len(rows):
        row = rows[j]
        if header_at(rows, j) is not None or _is_stop(row):
            break
        values, label_cells = row_values(row, header, skip_label=True)
        label = next((c.text for c in reversed(label_cells)
                      if not label_in(c.text, FUNDS_BLOCK_LABELS) and header_key(c.text)[0] not in FUNDS_BLOCK_LABELS),
                     "")
        numeric = {f: c for f, c in values.items() if is_number(c.text) or f == "rate"}
        if not numeric or not any(is_number(c.text) for c in numeric.values()):
            if _is_goal_row(row) or label_in(label, INDICATOR_BLOCK_LABELS) or row.line.kind == "text":
                break
            if entries and not label:
                break
            j += 1
            if j - start > 12:
                break
            continue
        entries.append((label, values, row))
        out.consumed.add(id(row))
        j += 1
    if not entries:
        return j
    total_idx = next((k for k, (lab, _, _) in enumerate(entries) if label_in(lab, FUNDS_TOTAL_LABELS)), 0)
    funds = Funds(unit=unit)

    def figs(values: dict[str, GCell], row: GRow) -> dict[str, Figure | None]:
        def f(name: str) -> Figure | None:
            cell = values.get(name)
            return _fig(cell.text, _cref(doc_id, row, cell), unit) if cell else None

        budget = f("adjusted_budget") or f("initial_budget")
        executed = f("executed")
        rate = None
        if "rate" in values:
            cell = values["rate"]
            rate = rate_figure(cell.text, _cref(doc_id, row, cell), percent,
                               budget.value if budget else None, executed.value if executed else None)
        return {"initial_budget": f("initial_budget"), "adjusted_budget": f("adjusted_budget"),
                "available": f("available"), "executed": executed, "reported_rate": rate}

    label, values, row = entries[total_idx]
    tf = figs(values, row)
    funds.initial_budget, funds.adjusted_budget = tf["initial_budget"], tf["adjusted_budget"]
    funds.available, funds.executed, funds.reported_rate = tf["available"], tf["executed"], tf["reported_rate"]
    for name, attr in (("weight", "exec_weight"), ("score", "exec_score")):
        cell = values.get(name)
        if cell is not None:
            setattr(funds, attr, _fig(cell.text, _cref(doc_id, row, cell), "分"))
    for k, (lab, vals, r) in enumerate(entries):
        if k == total_idx:
            continue
        name = re.sub(r"^(?:其中|含)\s*[:：]?\s*", "", lab).strip() or f"来源{k}"
        sf = figs(vals, r)
        funds.sources.append(FundsSource(name=name, initial_budget=sf["initial_budget"],
                                         adjusted_budget=sf["adjusted_budget"], available=sf["available"],
                                         executed=sf["executed"], reported_rate=sf["reported_rate"]))
    out.funds = funds
    out.headers.append("funds")
    return j


def _target_text(values: dict[str, GCell]) -> str | None:
    """The target as one string: operator (指标性质 / 指标方向 symbol or word) + value + unit (度量单位)."""
    value = values["target"].text.strip() if "target" in values else ""
    if is_placeholder(value):
        value = ""
    op = None
    for f in ("op", "direction"):
        if f in values:
            op = op or operator_of(values[f].text)
    if op is None:  # only 正向 / 反向: a positive indicator is met at or above its value, a reverse one at or below
        op = next((_SENSE[values[f].text.strip()] for f in ("op", "direction")
                   if f in values and values[f].text.strip() in _SENSE), None)
    unit = values["target_unit"].text.strip() if "target_unit" in values else ""
    if not value:
        return None
    if op and not re.match(r"^\s*(?:[≥≤≧≦<>=＝﹦]|大于|小于|不低于|不少于|不高于|不超过|等于)", value):
        value = _OP_SYMBOL[op] + value
    if unit and re.fullmatch(rf"(?:{NUMBER_RE})", re.sub(r"^[≥≤≧≦<>=＝﹦]+", "", value).replace(" ", "")):
        value += unit
    return value


def _actual_text(values: dict[str, GCell]) -> str | None:
    if "actual" not in values:
        return None
    value = values["actual"].text.strip()
    if is_placeholder(value):
        return None
    unit = values["target_unit"].text.strip() if "target_unit" in values else ""
    if unit and re.fullmatch(rf"(?:{NUMBER_RE})", value.replace(" ", "")):  # a bare number takes the row's unit
        value += unit
    return value


def _total_row(row: GRow) -> bool:
    for c in row.nonempty()[:3]:
        key = header_key(c.text)[0]
        if label_in(c.text, TOTAL_SCORE_LABELS + ("合计", "总计")) or key.startswith(("总分", "合计", "自评总分")):
            return True
    return False


def read_indicators(doc_id: str, rows: list[GRow], start: int, header: Header, out: FormRead) -> int:
    level1 = level2 = None
    j = start
    while j < len(rows):
        row = rows[j]
        if header_at(rows, j) is not None:
            break
        if not row.nonempty():
            j += 1
            continue
        if _total_row(row):
            _read_total_row(doc_id, row, header, out)
            out.consumed.add(id(row))
            j += 1
            break
        if _is_stop(row) or row.line.kind == "text" and len(row.cells) == 1 and len(row.line.text) > 40:
            break
        values, _ = row_values(row, header)
        if not values:
            j += 1
            continue
        out.consumed.add(id(row))
        if "level1" in values and values["level1"].text.strip():
            name, points = level1_with_points(values["level1"].text)
            if name != level1:
                level2 = None
            level1 = name
            if points is not None:
                out.category_weights[name] = Decimal(str(points)).normalize()
        if "level2" in values and values["level2"].text.strip():
            name, points = level1_with_points(values["level2"].text)
            level2 = name
        l3 = values.get("level3")
        name = l3.text.strip() if l3 else ""
        target, actual = _target_text(values), _actual_text(values)
        weight = number(values["weight"].text) if "weight" in values else None
        score = number(values["score"].text) if "score" in values else None
        if not name or is_placeholder(name):
            if not (target or actual or weight is not None or score is not None) or is_placeholder(name):
                j += 1
                continue
            name = level2 or level1 or ""
        note = values["note"].text.strip() if "note" in values else None
        if note is not None and is_placeholder(note):
            note = None
        out.indicators.append(Indicator(
            level1=level1, level2=level2, level3=name,
            target=parse_target(target) if target else None,
            actual=parse_target(actual) if actual else None,
            weight=weight, score=score, score_text=odd_score(values["score"].text) if "score" in values else None,
            deviation_note=note or None,
            ref=_row_ref(doc_id, row),
        ))
        j += 1
    out.headers.append("indicators")
    return j


def _read_total_row(doc_id: str, row: GRow, header: Header, out: FormRead) -> None:
    values, _ = row_values(row, header)
    if not (header.positional and row.positional):
        # flattened: the row's figures fill the header's score columns in order (分值 100, then the total)
        nums = [c for c in row.nonempty() if is_number(c.text)]
        cols = [c.field for c in header.columns if c.field in ("weight", "score", "review_score")]
        if len(nums) == 1 and "score" in cols:
            values = {"score": nums[0]}
        elif nums:
            values = dict(zip(cols, nums))
    score = values.get("score")
    ref_cell = None
    if score is not None and is_number(score.text):
        ref_cell = score
    else:
        nums = [c for c in row.nonempty() if is_number(c.text)]
        weight = values.get("weight")
        if weight is not None:
            nums = [c for c in nums if c is not weight]
        if len(nums) == 1 or (nums and weight is not None):
            ref_cell = nums[-1]
    if ref_cell is not None and out.total is None:
        out.total = Figure(raw=ref_cell.text.strip(), value=number(ref_cell.text), unit="分",
                           ref=_cref(doc_id, row, ref_cell))
    for c in row.nonempty():
        g = grade_of(c.text)
        if g and out.grade is None:
            out.grade = TextField(text=g, ref=_cref(doc_id, row, c))


_PROBLEMS_LABEL = re.compile(r"存在(?:的)?问题|问题及(?:改进|整改)|整改措施|改进措施")
_PROBLEMS_LEAD = re.compile(r"^(?:[一二三四五六七八九十]+、)?存在(?:的)?问题(?:[及和、,]?(?:原因|改进措施|整改措施|"
                            r"下一步(?:改进|整改)措施))*[:：]?")


def _labels(doc_id: str, rows: list[GRow], out: FormRead) -> None:
    """label → value pairs outside the tables: 项目名称, 主管部门, 实施单位, 自评总分, 自评等级, 年度."""
    wanted = (("project", PROJECT_LABELS), ("department", DEPARTMENT_LABELS),
              ("implementer", IMPLEMENTER_LABELS + ("实施预算单位",)), ("total", TOTAL_SCORE_LABELS),
              ("grade", GRADE_LABELS), ("year", YEAR_LABELS))
    for r, row in enumerate(rows):
        if id(row) in out.consumed:
            continue
        cells = row.nonempty()
        for k, cell in enumerate(cells):
            text = cell.text.strip()
            for name, labels in wanted:
                if name in out.labels:
                    continue
                value = None
                value_row = row
                if label_in(text, labels):
                    nxt = cells[k + 1].text.strip() if k + 1 < len(cells) else ""
                    if not nxt and len(cells) == 1 and r + 1 < len(rows) and _token(rows[r + 1]):
                        nxt, value_row = rows[r + 1].cells[0].text.strip(), rows[r + 1]  # one cell per line
                    if nxt and not any(label_in(nxt, labs) for _, labs in wanted) and \
                            classify_header(nxt).field is None:
                        value = nxt
                else:
                    m = re.match(r"^(" + "|".join(re.escape(x) for x in labels) + r")\s*[:：]\s*(\S.*)$", text)
                    if m:
                        value = m.group(2).strip()
                if value:
                    out.labels[name] = (value, line_ref(doc_id, value_row.line, value))
                    break
            if "problems" not in out.labels and len(cells) == 1 and row.line.kind == "text":
                m = _PROBLEMS_LEAD.match(text)  # label and text run together on one line
                if m and len(text) - m.end() > 4:
                    value = text[m.end():].strip()
                    out.labels["problems"] = (value, line_ref(doc_id, row.line, value))
            if "problems" not in out.labels and _PROBLEMS_LABEL.search(text) and len(text) <= 30:
                value, value_row = (cells[k + 1].text.strip(), row) if k + 1 < len(cells) else ("", row)
                if not value and len(cells) == 1 and r + 1 < len(rows) and _token(rows[r + 1]):
                    value, value_row = rows[r + 1].cells[0].text.strip(), rows[r + 1]
                if value:
                    out.labels["problems"] = (value, line_ref(doc_id, value_row.line, value))


def _header_token(row: GRow) -> bool:
    return len(row.cells) == 1 and (classify_header(row.cells[0].text).field is not None
                                    or label_in(row.cells[0].text, INDICATOR_BLOCK_LABELS + FUNDS_BLOCK_LABELS))


_INSTRUCTION = re.compile(r"填写|填报|请.*说明")


def _goals(doc_id: str, rows: list[GRow], out: FormRead) -> None:
    for k, row in enumerate(rows):
        cells = row.nonempty()
        if id(row) in out.consumed or not _is_goal_row(row):
            continue
        planned_col = next((c for c in cells[1:] if label_in(c.text, GOAL_PLANNED)), None)
        actual_col = next((c for c in cells[1:] if label_in(c.text, GOAL_ACTUAL)), None)
        texts: list[tuple[str, GRow]] = []
        if len(cells) == 1 and _token(row):  # one cell per line: labels, then the two texts
            j = k + 1
            while j < len(rows) and _token(rows[j]) and len(texts) < 2:
                t = rows[j].cells[0].text
                if label_in(t, GOAL_PLANNED + GOAL_ACTUAL):
                    j += 1
                    continue
                # a filling instruction left in the cell (请简要说明目标完成情况) names a header word, yet it is the
                # cell's content, not the next block's header
                if not is_instruction(t) and (
                        _is_stop(rows[j]) or header_at(rows, j) is not None or _header_token(rows[j])):
                    break
                texts.append((t, rows[j]))
                out.consumed.add(id(rows[j]))
                j += 1
            actual_col = planned_col = None
            if len(texts) > 1:
                actual_col = cells[0]
        elif planned_col is not None and k + 1 < len(rows):
            below = [c for c in rows[k + 1].nonempty() if not label_in(c.text, GOAL_BLOCK_LABELS)]
            texts = [(c.text, rows[k + 1]) for c in below]
            out.consumed.add(id(rows[k + 1]))
            nxt = rows[k + 2] if k + 2 < len(rows) else None
            if actual_col is not None and len(texts) == 1 and _token(rows[k + 1]) and nxt is not None and _token(nxt):
                # the header was copied as one row but the two texts one per line: the actual is the next line
                t2 = nxt.cells[0].text
                if is_instruction(t2) or not (
                        _is_stop(nxt) or header_at(rows, k + 2) is not None or _header_token(nxt)):
                    texts.append((t2, nxt))
                    out.consumed.add(id(nxt))
        else:
            texts = [(c.text, row) for c in cells[1:] if not label_in(c.text, GOAL_PLANNED + GOAL_ACTUAL)]
        out.consumed.add(id(row))
        # by position (planned, then actual): dropping a placeholder first would move the actual text into the
        # goal. A filling instruction left in the cell is kept as what the form says (the checks report it);
        # bare template marks (……, —, ××) are nothing
        slots = [None if is_placeholder(t) and not _INSTRUCTION.search(t) else (t, r) for t, r in texts]
        if slots and slots[0] is not None:
            t, r = slots[0]
            out.goals = TextField(text=t, ref=line_ref(doc_id, r.line, t))
        if len(slots) > 1 and slots[1] is not None and (actual_col is not None or planned_col is None):
            t, r = slots[1]
            out.completion = TextField(text=t, ref=line_ref(doc_id, r.line, t))
        return


def read_form(doc_id: str, lines: list[Line]) -> FormRead:
    rows = grid_rows(lines)
    out = FormRead()
    unit = _money_unit(lines[:12]) or "万元"
    i = 0
    while i < len(rows):
        header = header_at(rows, i)
        if header is None:
            i += 1
            continue
        for r in rows[i : i + header.rows]:
            out.consumed.add(id(r))
        start = i + header.rows
        rows = splice_stream(rows, start, header)
        if header.kind == "funds" and out.funds is None:
            i = read_funds(doc_id, rows, start, header, unit, out)
        elif header.kind == "indicators":
            i = read_indicators(doc_id, rows, start, header, out)
        else:
            i = start
        i = max(i, start)
    _goals(doc_id, rows, out)
    _labels(doc_id, rows, out)
    # the year the title states (（2023年度）, 2023年度项目支出绩效自评表); a report above the form may come first
    for ln in sorted(lines[:30], key=lambda x: "年度" not in x.text):
        m = _YEAR.search(ln.text)
        if m and ("年度" in ln.text or len(ln.text) <= 40):
            out.year = int(m.group(1))
            break
    if "year" in out.labels and out.year is None:
        m = re.search(r"20\d{2}", out.labels["year"][0])
        out.year = int(m.group(0)) if m else None
    if out.total is None and "total" in out.labels:
        value, ref = out.labels["total"]
        if number(value) is not None:
            out.total = Figure(raw=value, value=number(value), unit="分", ref=ref)
    if out.grade is None and "grade" in out.labels:
        value, ref = out.labels["grade"]
        g = grade_of(value)
        if g:
            out.grade = TextField(text=g, ref=ref)
    return out


def _prose(doc_id: str, lines: list[Line], out: FormRead):
    """Lines that are prose, not table rows nor label pairs: the report around the form."""
    from service.extraction.form_grid import kv_cells

    def prose(ln: Line) -> bool:
        if ln.kind == "row":  # a paragraph typed into one cell of a sheet is prose too
            cells = [c for c in ln.cells or [] if c.strip()]
            return len(cells) == 1 and len(cells[0]) > 12 and kv_cells(cells[0]) is None
        return len(ln.text) > 12 and kv_cells(ln.text) is None

    return [ln for ln in lines if prose(ln)]


def to_project(doc_id: str, unit_id: str, lines: list[Line], form: FormRead, name: str | None = None,
               settings_hash: str | None = None) -> ProjectEvaluation:
    prose = _prose(doc_id, lines, form)
    ps = Stream(doc_id, prose)
    grade = form.grade
    if grade is None and (g := find_grade(ps)):
        grade = TextField(text=canonical_grade(g[0]) or g[0], ref=ps.ref(g[1], g[2]))
    total = form.total
    if total is None and form.indicators and (t := find_total(ps)):
        total = Figure(raw=str(t[0]), value=t[0], unit="分", ref=ps.ref(t[1], t[2]))
    project = form.labels.get("project", (name or "", None))[0]
    return ProjectEvaluation(
        unit_id=unit_id, doc_id=doc_id, project=project or (name or ""),
        department=form.labels.get("department", (None,))[0],
        implementer=form.labels.get("implementer", (None,))[0],
        year=form.year, funds=form.funds or Funds(), indicators=form.indicators,
        category_weights=form.category_weights, reported_total=total, reported_grade=grade,
        goals=form.goals, goal_completion=form.completion, narrative_claims=claims_in(ps),
        # a 存在问题 cell still holding the template's prompt ((主要填写…)) states no problem
        stated_problems=TextField(text=form.labels["problems"][0], ref=form.labels["problems"][1])
        if "problems" in form.labels and not is_placeholder(form.labels["problems"][0]) else None,
        ref=lines_ref(doc_id, lines[:1]),
        stamp=ExtractionStamp(backend="rules", layout=LAYOUT, settings_hash=settings_hash),
    )


def to_department(doc_id: str, unit_id: str, lines: list[Line], form: FormRead,
                  settings_hash: str | None = None) -> DepartmentEvaluation:
    prose = _prose(doc_id, lines, form)
    ps = Stream(doc_id, prose)
    grade = form.grade
    if grade is None and (g := find_grade(ps)):
        grade = TextField(text=canonical_grade(g[0]) or g[0], ref=ps.ref(g[1], g[2]))
    dept = form.labels.get("department", (None,))[0] or form.labels.get("project", (None,))[0]
    return DepartmentEvaluation(
        unit_id=unit_id, doc_id=doc_id, department=dept, year=form.year, reported_total=form.total,
        reported_grade=grade, funds=form.funds, indicators=form.indicators,
        goals=form.goals, goal_completion=form.completion, ref=lines_ref(doc_id, lines[:1]),
        stamp=ExtractionStamp(backend="rules", layout=LAYOUT, settings_hash=settings_hash),
    )


def quality(p: ProjectEvaluation) -> int:
    """How much of a form a record holds: used to choose between two readings of the same unit."""
    f = p.funds
    n = sum(x is not None for x in (f.initial_budget, f.adjusted_budget, f.executed, f.reported_rate,
                                    f.exec_weight, f.exec_score, p.reported_total, p.reported_grade))
    for ind in p.indicators:
        n += 1 + sum(x is not None for x in (ind.target, ind.actual, ind.weight, ind.score))
    return n


__all__ = ["LAYOUT", "FormRead", "header_at", "read_form", "to_department", "to_project", "quality", "align",
           "number", "rate_figure"]
