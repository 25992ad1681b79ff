"""Reading a whole form with a model: the wire schema, the unit plan, chunking, quote verification and
merging. Pure: no network, no files — service.extraction.llm_backend does the calls.

What the model returns for a piece of a document (FormsReading) is a list of forms; every value in it is a
`Cited` value — the text exactly as printed plus the `[page:line]` marker it was read at. A value is kept
only when that text is found in the lines that were sent (on the cited line, else anywhere in those lines),
and its number, operator, unit or grade is then parsed *from the verified text* by the same parsers the
rules use. So a model can leave a value out, but it cannot put a value into a record that the document does
not print; what it cited but could not be found is dropped and counted in the stamp (`dropped`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.normalize import normalize_text
from retrieval.types import Line, LoadedDocument
from service.extraction.coverage import unit_gaps
from service.extraction.form_reader import grade_of, number, operator_of, rate_figure
from service.extraction.quotes import canonical_quote, locate_quote
from service.extraction.targets import figure, parse_target
from service.extraction.vocabulary import SELF_EVAL_TERMS, classify_header, level1_with_points
from service.models import (
    DepartmentEvaluation,
    DocumentExtraction,
    ExtractionStamp,
    Figure,
    Funds,
    FundsSource,
    Indicator,
    ProjectEvaluation,
    ReportUnit,
    SourceRef,
    Target,
    TextField,
)
from service.prompts import render_lines

# ---------------------------------------------------------------------------------------------------
# The wire schema. extra="forbid" everywhere: an answer with a key the schema does not have (an "added
# field" a document asked for) is invalid and retried, never silently accepted.


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cited(_Wire):
    text: str = Field(description="The value exactly as printed in the document (a cell or a phrase), verbatim.")
    at: str = Field(description="The [page:line] marker of the line it is printed on, e.g. \"1:12\".")


class SourceRow(_Wire):
    name: Cited = Field(description="Funding source row label (当年财政拨款, 上年结转资金, 其他资金 …).")
    initial_budget: Cited | None = None
    adjusted_budget: Cited | None = None
    executed: Cited | None = None


class FundsRows(_Wire):
    unit: Cited | None = Field(None, description="Money unit as printed (万元 / 元), when printed.")
    initial_budget: Cited | None = Field(None, description="年初预算数 of the total row.")
    adjusted_budget: Cited | None = Field(None, description="全年预算数 / 调整后预算数 / 预算数 of the total row.")
    available: Cited | None = Field(None, description="到位数 of the total row.")
    executed: Cited | None = Field(None, description="全年执行数 / 执行数 / 实际支出 of the total row.")
    reported_rate: Cited | None = Field(None, description="执行率 as printed (95.8%, 0.958, 95.8).")
    exec_weight: Cited | None = Field(None, description="分值 of the funds (execution) row.")
    exec_score: Cited | None = Field(None, description="得分 of the funds (execution) row.")
    sources: list[SourceRow] = Field(default_factory=list)


class IndicatorRow(_Wire):
    level1: Cited | None = Field(None, description="一级指标 (repeat it for every row under it).")
    level2: Cited | None = Field(None, description="二级指标 (repeat it for every row under it).")
    level3: Cited = Field(description="三级指标 / 指标名称.")
    target: Cited | None = Field(None, description="年度指标值 / 目标值 as printed.")
    target_op: Cited | None = Field(None, description="Only when the operator is its own column (指标性质/指标方向).")
    target_unit: Cited | None = Field(None, description="Only when the unit is its own column (度量单位/计量单位).")
    actual: Cited | None = Field(None, description="实际完成值 as printed.")
    weight: Cited | None = Field(None, description="分值 / 权重.")
    score: Cited | None = Field(None, description="得分 / 自评分.")
    deviation_note: Cited | None = Field(None, description="偏差原因分析 / 未完成原因 of this row.")


class FormReading(_Wire):
    kind: Literal["project", "department"] = Field(
        description="project: 项目支出绩效自评表; department: 部门整体支出绩效自评表.")
    name: Cited = Field(description="项目名称 (project) or the department's name (department).")
    department: Cited | None = Field(None, description="主管部门 / 预算部门.")
    implementer: Cited | None = Field(None, description="实施单位.")
    year: Cited | None = Field(None, description="The text holding the year (2022年度).")
    funds: FundsRows | None = None
    indicators: list[IndicatorRow] = Field(default_factory=list)
    reported_total: Cited | None = Field(None, description="总分 / 自评总分 / 合计 score as printed.")
    reported_grade: Cited | None = Field(None, description="评价等级 as printed (优, 良好 …).")
    goals: Cited | None = Field(None, description="年度总体目标 / 预期目标 text.")
    goal_completion: Cited | None = Field(None, description="实际完成情况 text.")
    stated_problems: Cited | None = Field(None, description="存在问题 text.")
    stated_measures: Cited | None = Field(None, description="改进措施 text.")


class FormsReading(_Wire):
    """Every self-evaluation form found in the text sent (none: an empty list)."""

    forms: list[FormReading] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# What to send: the plan (pure)

Purpose = Literal["read", "fill"]


@dataclass
class Job:
    """One unit (or the unread rest of one) to read with the full form prompt."""

    unit: ReportUnit
    lines: list[Line]
    purpose: Purpose  # read: no record exists; fill: the rules' record is partial (missing fields)
    missing: list[str] = field(default_factory=list)


def unit_lines(doc: LoadedDocument, unit: ReportUnit) -> list[Line]:
    start, end = (unit.page_start, unit.line_start), (unit.page_end, unit.line_end)
    return [ln for p in doc.pages[unit.page_start - 1: unit.page_end] for ln in p.lines if start <= ln.key <= end]


# a unit with no record is worth a call only when it reads like a form: at least this many distinct
# self-evaluation terms (a framework paragraph mentions 绩效 once; a form prints 一级指标, 分值, 得分 …)
READ_MIN_TERMS = 3
_ACCOUNT_ROW = re.compile(r"^(?:\d{3}(?:\d{2}){0,2}|合计|总计)$")  # a 决算 table row: a subject code, or its total


def plan_jobs(doc: LoadedDocument, extraction: DocumentExtraction, backend: Literal["llm", "auto"],
              coverage_status: str | None = None) -> list[Job]:
    """Which units the model reads. `llm`: every project/department unit and every unit that reads like a
    form. `auto`: only units the rules could not read (no record) or read partly (coverage's missing fields);
    units without a record are read only when the verdict (`coverage_status`) says the document was not
    fully read — a report whose announced forms were all read has nothing left for the model to find."""
    recorded = {p.unit_id for p in extraction.projects} | {
        d.unit_id for d in extraction.departments if d.indicators or d.funds is not None or d.score_rows}
    gaps = unit_gaps(doc, extraction)
    jobs: list[Job] = []
    for unit in extraction.units:
        lines = unit_lines(doc, unit)
        if unit.kind in ("summary", "accounts"):
            # read by their own rules; not a form of one project. What follows the unit's last table row that
            # is its own (a subject code or 合计 first) may be a form the segmenter did not cut off: the
            # model reads that rest when the document was not fully read and it reads like a form
            if backend == "auto" and coverage_status == "read":
                continue
            own = [k for k, ln in enumerate(lines) if ln.kind == "row" and ln.cells
                   and (_ACCOUNT_ROW.match(ln.cells[0].strip()) or _ACCOUNT_ROW.match(ln.cells[1].strip()
                                                                                    if len(ln.cells) > 1 else ""))]
            rest = lines[own[-1] + 1:] if own else []
            # a form is a table: its rows, not the 决算's prose (情况说明 speaks of 绩效自评 too), must read like one
            blob = "\n".join(ln.text for ln in rest if ln.kind == "row")
            if rest and sum(t in blob for t in SELF_EVAL_TERMS) >= READ_MIN_TERMS:
                jobs.append(Job(unit, rest, "read"))
            continue
        if not lines:
            continue
        if unit.unit_id in recorded:
            if backend == "llm":
                jobs.append(Job(unit, lines, "read"))
            elif gaps.get(unit.unit_id):
                jobs.append(Job(unit, lines, "fill", gaps[unit.unit_id]))
            continue
        if backend == "auto" and coverage_status == "read":
            continue
        blob = "\n".join(ln.text for ln in lines)
        if unit.kind in ("project", "department") or sum(t in blob for t in SELF_EVAL_TERMS) >= READ_MIN_TERMS:
            jobs.append(Job(unit, lines, "read"))
    return jobs


# ---------------------------------------------------------------------------------------------------
# Chunking (pure): a unit longer than the budget is cut between lines, never inside one, and every chunk
# after the first starts with the unit's first lines (title, project name) and the table header row in
# force at the cut, so the model always knows which form and which columns it is reading.

HEAD_LINES = 3
_TABLE_FIELDS = {"level1", "level2", "level3", "target", "actual", "weight", "score", "initial_budget",
                 "adjusted_budget", "executed", "rate", "note", "op", "target_unit"}


def is_header_row(line: Line) -> bool:
    cells = line.cells if line.kind == "row" and line.cells else None
    if not cells:
        return False
    return sum(1 for c in cells if classify_header(c).field in _TABLE_FIELDS) >= 3


def header_runs(lines: Sequence[Line]) -> list[tuple[int, int]]:
    """(start, end) index ranges of table header rows: a row with >= 3 header cells, or a run of >= 3
    consecutive one-cell lines that are each a header word (a table copied one cell per line)."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if is_header_row(lines[i]):
            runs.append((i, i + 1))
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].kind == "text" and len(lines[j].text) <= 16 \
                and classify_header(lines[j].text).field in _TABLE_FIELDS:
            j += 1
        if j - i >= 3:
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _size(lines: Iterable[Line]) -> int:
    return len(render_lines(lines)) + 1


def split_unit(lines: Sequence[Line], max_chars: int) -> list[list[Line]]:
    """The unit as chunks of at most ~max_chars rendered characters (a single line longer than that is sent
    alone rather than cut). Chunk k > 0 = the unit's first HEAD_LINES lines + the last header run that
    started before the chunk's body + the body."""
    lines = list(lines)
    if _size(lines) <= max_chars:
        return [lines]
    runs = header_runs(lines)
    head = lines[:HEAD_LINES]
    chunks: list[list[Line]] = []
    body: list[Line] = []
    prefix: list[Line] = []
    start = 0
    i = 0
    while i < len(lines):
        ln = lines[i]
        candidate = prefix + body + [ln]
        if body and _size(candidate) > max_chars:
            chunks.append(prefix + body)
            start = i
            last = [r for r in runs if r[0] < start]
            header = [lines[k] for k in range(*last[-1])] if last else []
            # a header run that starts right at the cut travels with its body, not twice
            prefix = list(head) + [h for h in header if h not in head] if not (last and last[-1][0] == start) \
                else list(head)
            body = []
            continue
        body.append(ln)
        i += 1
    if body:
        chunks.append(prefix + body)
    return chunks


# ---------------------------------------------------------------------------------------------------
# Verification (pure)

_AT = re.compile(r"^\s*\[?\s*(\d+)\s*[:：]\s*(\d+)\s*\]?\s*$")


def _contains(text: str, q: str) -> bool:
    """q in text, where a quote that starts or ends with a digit must not be part of a longer number
    (`10` is not verified by `100`, nor `0.5` by `10.5`)."""
    if not q:
        return False
    start = 0
    while True:
        k = text.find(q, start)
        if k < 0:
            return False
        before = text[k - 1] if k > 0 else ""
        after = text[k + len(q)] if k + len(q) < len(text) else ""
        ok_before = not (q[0].isdigit() and (before.isdigit() or before == "."))
        ok_after = not (q[-1].isdigit() and (after.isdigit() or (after == "." and text[k + len(q) + 1:k + len(q) + 2].isdigit())))
        if ok_before and ok_after:
            return True
        start = k + 1


@dataclass(frozen=True)
class Verified:
    text: str  # the canonical quote (normalized, as found)
    ref: SourceRef
    moved: bool  # found, but not on the line the model cited


def verify(c: Cited | None, lines: Sequence[Line], doc_id: str) -> Verified | None:
    """The cited text found in these lines: on the cited line when it is there, else on the nearest line
    holding it, else across wrapped prose lines (locate_quote). None when it is nowhere."""
    if c is None:
        return None
    q = canonical_quote(c.text)
    if not q.strip():
        return None
    m = _AT.match(c.at or "")
    cited = (int(m.group(1)), int(m.group(2))) if m else None
    hits = [ln for ln in lines if _contains(ln.text, q)]
    if hits:
        exact = [ln for ln in hits if ln.key == cited]
        best = exact[0] if exact else min(hits, key=lambda ln: _distance(ln, cited))
        ref = SourceRef(doc_id=doc_id, page=best.page, line_start=best.line_no, line_end=best.line_no, quote=q)
        return Verified(q, ref, moved=not exact)
    loc = locate_quote(c.text, lines)
    if loc is not None and not (q[:1].isdigit() or q[-1:].isdigit()):
        ref = SourceRef(doc_id=doc_id, page=loc.page, line_start=loc.line_start, line_end=loc.line_end,
                        quote=loc.quote)
        return Verified(loc.quote, ref, moved=cited != (loc.page, loc.line_start))
    return None


def _distance(ln: Line, cited: tuple[int, int] | None) -> tuple[int, int]:
    if cited is None:
        return (0, 0)
    return (abs(ln.page - cited[0]), abs(ln.line_no - cited[1]))


# ---------------------------------------------------------------------------------------------------
# Building records from a verified reading (pure)


class _Builder:
    """Verifies cited values one by one, keeping what is found and counting what is not."""

    def __init__(self, lines: Sequence[Line], doc_id: str, prefix: str):
        self.lines, self.doc_id, self.prefix = lines, doc_id, prefix
        self.dropped: list[dict] = []
        self.moved = 0
        self.kept = 0

    def get(self, c: Cited | None, where: str) -> Verified | None:
        if c is None:
            return None
        v = verify(c, self.lines, self.doc_id)
        if v is None:
            self.dropped.append({"field": f"{self.prefix}{where}", "reason": "quote not found in the unit's text",
                                 "quote": c.text[:80], "at": c.at[:12]})
            return None
        self.kept += 1
        self.moved += v.moved
        return v

    def drop(self, where: str, reason: str, text: str) -> None:
        self.kept -= 1
        self.dropped.append({"field": f"{self.prefix}{where}", "reason": reason, "quote": text[:80]})

    def money(self, c: Cited | None, where: str, unit: str | None) -> Figure | None:
        v = self.get(c, where)
        if v is None:
            return None
        fig = figure(v.text, v.ref, default_unit=unit)
        if fig is None or fig.value is None:
            self.drop(where, "no number in the quote", v.text)
            return None
        return fig

    def num(self, c: Cited | None, where: str) -> tuple[Decimal, Verified] | None:
        v = self.get(c, where)
        if v is None:
            return None
        value = number(v.text)
        if value is None:
            self.drop(where, "not a number", v.text)
            return None
        return value, v

    def text(self, c: Cited | None, where: str) -> TextField | None:
        v = self.get(c, where)
        return TextField(text=v.text, ref=v.ref) if v is not None else None


_YEAR = re.compile(r"(20\d\d)")
_MONEY_UNIT = re.compile(r"(万元|元)")


def _funds(b: _Builder, f: FundsRows | None) -> tuple[Funds | None, bool]:
    if f is None:
        return None, False
    unit = "万元"
    uv = b.get(f.unit, "funds.unit")
    if uv is not None:
        m = _MONEY_UNIT.search(uv.text)
        unit = m.group(1) if m else unit
    funds = Funds(unit=unit)
    for name in ("initial_budget", "adjusted_budget", "available", "executed"):
        setattr(funds, name, b.money(getattr(f, name), f"funds.{name}", unit))
    rv = b.get(f.reported_rate, "funds.reported_rate")
    if rv is not None:
        budget = (funds.adjusted_budget or funds.initial_budget)
        rate = rate_figure(rv.text, rv.ref, False, budget.value if budget else None,
                           funds.executed.value if funds.executed else None)
        if rate is None:
            b.drop("funds.reported_rate", "not a number", rv.text)
        funds.reported_rate = rate
    for name in ("exec_weight", "exec_score"):
        got = b.num(getattr(f, name), f"funds.{name}")
        if got is not None:
            setattr(funds, name, Figure(raw=got[1].text, value=got[0], unit="分", ref=got[1].ref))
    for k, s in enumerate(f.sources):
        name = b.get(s.name, f"funds.sources[{k}].name")
        if name is None:
            continue
        label = re.sub(r"^(?:其中|含)[:：]?", "", name.text).strip()
        funds.sources.append(FundsSource(
            name=label,
            initial_budget=b.money(s.initial_budget, f"funds.sources[{k}].initial_budget", unit),
            adjusted_budget=b.money(s.adjusted_budget, f"funds.sources[{k}].adjusted_budget", unit),
            executed=b.money(s.executed, f"funds.sources[{k}].executed", unit)))
    return funds, True


def _target(b: _Builder, row: IndicatorRow, k: int) -> Target | None:
    v = b.get(row.target, f"indicators[{k}].target")
    if v is None:
        return None
    raw = v.text
    opv = b.get(row.target_op, f"indicators[{k}].target_op")
    if opv is not None:
        op = operator_of(opv.text) or {"正向": ">=", "反向": "<="}.get(opv.text.strip())
        symbol = {">=": "≥", "<=": "≤", "=": "=", ">": ">", "<": "<"}.get(op or "")
        if symbol and not re.match(r"^\s*[≥≤≧≦<>=＝﹦]", raw):
            raw = symbol + raw
    uv = b.get(row.target_unit, f"indicators[{k}].target_unit")
    if uv is not None and re.fullmatch(r"[≥≤≧≦<>=＝﹦]*\s*\d+(?:\.\d+)?", raw.strip()):
        raw += uv.text.strip()
    return parse_target(raw)


def _indicators(b: _Builder, rows: Sequence[IndicatorRow], category_weights: dict[str, Decimal]) -> list[Indicator]:
    out: list[Indicator] = []
    for k, row in enumerate(rows):
        name = b.get(row.level3, f"indicators[{k}].level3")
        if name is None:
            continue  # a row whose name is not in the text is not a row of this form
        l1 = b.get(row.level1, f"indicators[{k}].level1")
        level1 = None
        if l1 is not None:
            level1, points = level1_with_points(l1.text)
            if points is not None:
                category_weights.setdefault(level1, Decimal(str(points)).normalize())
        l2 = b.get(row.level2, f"indicators[{k}].level2")
        av = b.get(row.actual, f"indicators[{k}].actual")
        actual_raw = av.text if av is not None else None
        unit = b.get(row.target_unit, f"indicators[{k}].target_unit") if row.target_unit else None
        if actual_raw and unit is not None and re.fullmatch(r"\d+(?:\.\d+)?", actual_raw.strip()):
            actual_raw += unit.text.strip()
        weight = b.num(row.weight, f"indicators[{k}].weight")
        score = b.num(row.score, f"indicators[{k}].score")
        note = b.get(row.deviation_note, f"indicators[{k}].deviation_note")
        out.append(Indicator(
            level1=level1, level2=l2.text if l2 else None, level3=name.text,
            target=_target(b, row, k), actual=parse_target(actual_raw) if actual_raw else None,
            weight=weight[0] if weight else None, score=score[0] if score else None,
            deviation_note=note.text if note else None, ref=name.ref))
    return out


@dataclass
class Built:
    kind: Literal["project", "department"]
    record: ProjectEvaluation | DepartmentEvaluation | None  # None: its name is not in the text
    dropped: list[dict]
    kept: int
    moved: int


def build_form(form: FormReading, lines: Sequence[Line], *, doc_id: str, unit_id: str, stamp: ExtractionStamp,
               index: int = 0) -> Built | None:
    """One form of a reading as a record, every value verified against `lines`. Its record is None when
    even its name is not in the text (nothing of it can be trusted to belong to this document)."""
    b = _Builder(lines, doc_id, f"forms[{index}].")
    name = b.get(form.name, "name")
    if name is None:
        return Built(form.kind, None, b.dropped, 0, 0)
    dept = b.text(form.department, "department")
    impl = b.text(form.implementer, "implementer")
    yv = b.get(form.year, "year")
    year = int(_YEAR.search(yv.text).group(1)) if yv is not None and _YEAR.search(yv.text) else None
    if yv is not None and year is None:
        b.drop("year", "no year in the quote", yv.text)
    funds, _ = _funds(b, form.funds)
    weights: dict[str, Decimal] = {}
    indicators = _indicators(b, form.indicators, weights)
    tv = b.get(form.reported_total, "reported_total")
    total = figure(tv.text, tv.ref, default_unit="分") if tv is not None else None
    if tv is not None and (total is None or total.value is None):
        b.drop("reported_total", "no number in the quote", tv.text)
        total = None
    gv = b.get(form.reported_grade, "reported_grade")
    grade = None
    if gv is not None:
        word = grade_of(gv.text) or grade_of(gv.text.split()[-1] if gv.text.split() else "")
        if word is None:
            found = re.search(r"(优秀|良好|中等|较差|不合格|合格|优|良|中|差)", gv.text)
            word = grade_of(found.group(1)) if found else None
        if word is None:
            b.drop("reported_grade", "no grade word in the quote", gv.text)
        else:
            grade = TextField(text=word, ref=gv.ref)
    texts = {t: b.text(getattr(form, t), t) for t in _TEXTS} if form.kind == "project" else {}
    first = min(lines, key=lambda ln: ln.key)
    span = SourceRef(doc_id=doc_id, page=first.page, line_start=first.line_no, line_end=first.line_no,
                     quote=first.text)
    stamp = stamp.model_copy(update={"dropped": list(b.dropped)})
    if form.kind == "department":
        rec: Any = DepartmentEvaluation(
            unit_id=unit_id, doc_id=doc_id, department=name.text, year=year, reported_total=total,
            reported_grade=grade, funds=funds, indicators=indicators, ref=span, stamp=stamp)
    else:
        rec = ProjectEvaluation(
            unit_id=unit_id, doc_id=doc_id, project=name.text, department=dept.text if dept else None,
            implementer=impl.text if impl else None, year=year, funds=funds or Funds(), indicators=indicators,
            category_weights=weights, reported_total=total, reported_grade=grade, ref=span, stamp=stamp, **texts)
    return Built(form.kind, rec, b.dropped, b.kept, b.moved)


# ---------------------------------------------------------------------------------------------------
# Merging (pure): one value, two readers. The first record's value stays; a value only the second has
# fills the gap; two different values are kept as a disagreement in the stamp (field, both values), which
# review drafts and `jixiao show` carry to the reviewer.

_SCALAR_FIGURES = ("reported_total",)
_FUNDS_FIGURES = ("initial_budget", "adjusted_budget", "available", "executed", "reported_rate", "exec_weight",
                  "exec_score")
_TEXTS = ("goals", "goal_completion", "stated_problems", "stated_measures")


def _key(text: str | None) -> str:
    return re.sub(r"\s+", "", normalize_text(text or ""))


def _fig_str(f: Figure | None) -> str | None:
    return None if f is None or f.value is None else format(f.value, "f")


def _target_str(t: Target | None) -> str | None:
    return None if t is None else t.raw


def _differ(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Decimal(a) != Decimal(b)
    except Exception:  # noqa: BLE001 - not numbers: compare as text
        return _key(a) != _key(b)


def _merge_figure(field_name: str, first: Figure | None, second: Figure | None, notes: list[dict],
                  filled: list[str]) -> Figure | None:
    if first is None or first.value is None:
        if second is not None and second.value is not None:
            filled.append(field_name)
            return second
        return first
    if second is not None and _differ(_fig_str(first), _fig_str(second)):
        notes.append({"field": field_name, "kind": "mismatch", "rules": _fig_str(first), "llm": _fig_str(second)})
    return first


def merge_funds(first: Funds | None, second: Funds | None, notes: list[dict], filled: list[str]) -> Funds | None:
    if second is None:
        return first
    if first is None:
        filled.append("funds")
        return second
    out = first.model_copy(deep=True)
    for name in _FUNDS_FIGURES:
        setattr(out, name, _merge_figure(f"funds.{name}", getattr(first, name), getattr(second, name), notes, filled))
    if not out.sources and second.sources:
        out.sources = list(second.sources)
        filled.append("funds.sources")
    return out


def merge_indicators(first: list[Indicator], second: list[Indicator], notes: list[dict],
                     filled: list[str], carry_levels: bool = False) -> list[Indicator]:
    if carry_levels and first and second:
        # the second part of a cut table: its first rows sit under a first/second-level cell printed (merged,
        # once) in the part before, so a row without them belongs to the last group read there
        second = [i.model_copy() for i in second]
        for k, ind in enumerate(second):
            if ind.level1 is not None:
                break
            ind.level1 = first[-1].level1
            if ind.level2 is None:
                ind.level2 = first[-1].level2 if k == 0 or second[k - 1].level2 is None else second[k - 1].level2
    if not first:
        if second:
            filled.append("indicators")
        return list(second)
    out = [i.model_copy(deep=True) for i in first]
    index = {_key(i.level3): k for k, i in enumerate(out)}
    for other in second:
        k = index.get(_key(other.level3))
        if k is None:
            out.append(other)
            filled.append(f"indicators[{other.level3}]")
            continue
        mine = out[k]
        for name in ("weight", "score"):
            a, b = getattr(mine, name), getattr(other, name)
            if a is None and b is not None:
                setattr(mine, name, b)
                filled.append(f"indicators[{mine.level3}].{name}")
            elif a is not None and b is not None and a != b:
                notes.append({"field": f"indicators[{mine.level3}].{name}", "kind": "mismatch",
                              "rules": format(a, "f"), "llm": format(b, "f")})
        for name in ("target", "actual"):
            a, b = getattr(mine, name), getattr(other, name)
            if a is None and b is not None:
                setattr(mine, name, b)
                filled.append(f"indicators[{mine.level3}].{name}")
            elif a is not None and b is not None and _key(a.raw) != _key(b.raw):
                notes.append({"field": f"indicators[{mine.level3}].{name}", "kind": "mismatch",
                              "rules": a.raw, "llm": b.raw})
        for name in ("level1", "level2", "deviation_note"):
            if getattr(mine, name) is None and getattr(other, name) is not None:
                setattr(mine, name, getattr(other, name))
    return out


def merge_records(first: Any, second: Any, *, first_name: str = "rules", second_name: str = "llm",
                  parts: bool = False) -> tuple[Any, list[dict], list[str]]:
    """`first` with the gaps `second` fills; (record, disagreements, fields filled). Works on
    ProjectEvaluation and DepartmentEvaluation alike (the fields one lacks are skipped). `parts`: second is
    the next part of the same cut unit (level names carry over the cut)."""
    notes: list[dict] = []
    filled: list[str] = []
    updates: dict[str, Any] = {}
    for name in _SCALAR_FIGURES:
        updates[name] = _merge_figure(name, getattr(first, name), getattr(second, name), notes, filled)
    for name in ("reported_grade", *[t for t in _TEXTS if hasattr(first, t)], "department", "implementer", "year"):
        if not hasattr(first, name):
            continue
        a, b = getattr(first, name), getattr(second, name)
        if a is None and b is not None:
            updates[name] = b
            filled.append(name)
        elif name == "reported_grade" and a is not None and b is not None and a.text != b.text:
            notes.append({"field": name, "kind": "mismatch", "rules": a.text, "llm": b.text})
        elif name == "year" and a is not None and b is not None and a != b:
            notes.append({"field": name, "kind": "mismatch", "rules": str(a), "llm": str(b)})
    funds = merge_funds(first.funds, second.funds, notes, filled)
    if funds is not None:
        updates["funds"] = funds
    updates["indicators"] = merge_indicators(first.indicators, second.indicators, notes, filled, carry_levels=parts)
    if hasattr(first, "category_weights"):
        updates["category_weights"] = {**second.category_weights, **first.category_weights}
    if first_name != "rules" or second_name != "llm":
        for n in notes:
            n[first_name], n[second_name] = n.pop("rules"), n.pop("llm")
    return first.model_copy(update=updates, deep=True), notes, filled


def same_form(a: Any, b: Any) -> bool:
    na = a.project if isinstance(a, ProjectEvaluation) else a.department
    nb = b.project if isinstance(b, ProjectEvaluation) else b.department
    return type(a) is type(b) and _key(na) == _key(nb)


__all__ = ["Cited", "FormReading", "FormsReading", "IndicatorRow", "Job", "build_form", "header_runs",
           "merge_records", "plan_jobs", "same_form", "split_unit", "verify"]
