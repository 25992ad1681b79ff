"""A 绩效自评表 whose rows are TAB-separated cells with positional headers and an unnamed extra column (layout
id "hebei", first seen in seed 003): one table per project.

Rows sometimes start with an empty cell (the merged section column) and sometimes not, and the first
table carries an extra 指标解释 column its header does not name, so cells are mapped by the header's
positions with any extra columns taken to sit after 三级指标. Trailing empty cells are dropped by the
loader, so a row is never read from the right. Category weights sit in the 一级指标 cells (`产出指标(50)`);
the `预算执行率(10)` row is both an indicator and the form's execution score. There is no per-indicator
分值 column. 预算数 is 预算安排情况(调整后), i.e. the adjusted budget.
"""
from __future__ import annotations

import re
from decimal import Decimal

from retrieval.segment import first_cell, hebei_project, is_hebei_title
from retrieval.types import Line
from service.extraction.prose import claims_in, is_empty_statement
from service.extraction.spans import Stream, line_ref
from service.extraction.targets import exact_decimal, figure, odd_score, parse_target
from service.models import Figure, Funds, FundsSource, Indicator, NarrativeClaim, ProjectEvaluation, TextField

LAYOUT = "hebei"
_WEIGHTED = re.compile(r"^(?P<name>.+?)\s*\(\s*(?P<w>\d+(?:\.\d+)?)\s*\)$")
_LABELS = {"预算数": "adjusted_budget", "到位数": "available", "执行数": "executed"}


def is_hebei(lines: list[Line]) -> bool:
    return any(hebei_project(l) for l in lines)


def split_weight(cell: str) -> tuple[str, Decimal | None]:
    """`产出指标(50)` → (`产出指标`, 50)."""
    m = _WEIGHTED.match(cell.strip())
    if not m:
        return cell.strip(), None
    return m.group("name").strip(), Decimal(m.group("w"))


def _cells(line: Line) -> list[str]:
    return list(line.cells or [])


def parse(doc_id: str, unit_id: str, lines: list[Line]) -> ProjectEvaluation:
    anchor = next(i for i, l in enumerate(lines) if hebei_project(l))
    project = hebei_project(lines[anchor]) or ""
    cells = _cells(lines[anchor])
    implementer = None
    if "实施预算单位" in cells:
        k = cells.index("实施预算单位")
        implementer = cells[k + 1] if k + 1 < len(cells) and cells[k + 1] else None

    unit = "万元"
    department = None
    year = None
    top = anchor
    while top > 0 and is_hebei_title(lines[top - 1]):
        top -= 1
    title = " ".join(l.text.replace("\t", " ") for l in lines[top:anchor])
    for text in [title]:
        if (m := re.search(r"金额单位[::]\s*(万元|元)", text)):
            unit = m.group(1)
        if (m := re.search(r"填报部门[::]\s*(.*?)\s*(?:金额单位|$)", text)) and m.group(1).strip():
            department = m.group(1).strip()
        if (m := re.search(r"\(\s*(\d{4})\s*年度?\s*\)", text)):
            year = int(m.group(1))

    funds = Funds(unit=unit)
    category_weights: dict[str, Decimal] = {}
    indicators: list[Indicator] = []
    reported_total = None
    grade = None
    goals = completion = problems = None
    header: list[str] | None = None
    goal_header: list[str] | None = None
    level1 = level2 = None
    state = "start"
    claims: list[NarrativeClaim] = []

    for line in lines[anchor + 1 :]:
        if line.kind != "row":
            continue
        c = _cells(line)
        head = first_cell(line)
        ref = line_ref(doc_id, line)
        if "预算数:" in c:
            _funds_row(funds, c, ref, unit)
            state = "funds"
            continue
        if state == "funds" and len(c) > 1 and (c[1].startswith("其中") or c[1] == "其他"):
            src = _source_row(c, ref, unit)
            if src is not None:
                funds.sources.append(src)
            continue
        if head.startswith("三、目标完成情况"):
            goal_header = c
            state = "goals"
            continue
        if state == "goals" and goal_header is not None:
            g = _at(c, goal_header, "年度预期目标")
            d = _at(c, goal_header, "具体完成情况")
            goals = TextField(text=g, ref=line_ref(doc_id, line, g)) if g else None
            completion = TextField(text=d, ref=line_ref(doc_id, line, d)) if d else None
            # amounts written into the goal cells (`2020年度共支出2.96478万元`) are claims like prose
            claims.extend(claims_in(Stream(doc_id, [line]), scores=False))
            state = "after-goals"
            continue
        if head.startswith("四、年度绩效指标"):
            header = c
            state = "indicators"
            continue
        if head in {"总分", "总 分"}:
            val = _after(c, head)
            reported_total = figure(val, ref, "分") if val else None
            state = "totals"
            continue
        if head == "评价等级":
            val = _after(c, head)
            grade = TextField(text=val, ref=line_ref(doc_id, line, val)) if val else None
            continue
        if head.startswith("五、"):
            rest = [x for x in c[c.index(head) + 1 :] if x]
            text = "".join(rest)
            if not is_empty_statement(text):
                problems = TextField(text=text, ref=line_ref(doc_id, line, rest[0]))
                # amounts in the problem cell (`补助资金10000元`) are claims too
                claims.extend(claims_in(Stream(doc_id, [line]), scores=False))
            state = "done"
            continue
        if state == "indicators" and header is not None:
            ind, level1, level2, weight = _indicator_row(c, header, level1, level2, ref)
            if weight is not None and level1:
                category_weights.setdefault(level1, weight)
            if ind is None:
                continue
            indicators.append(ind)
            if level1 == "预算执行率":
                w = category_weights.get(level1)
                if w is not None:
                    funds.exec_weight = Figure(raw=str(w), value=w, unit="分", ref=ref)
                if ind.score is not None:
                    funds.exec_score = Figure(raw=str(ind.score), value=ind.score, unit="分", ref=ref)

    return ProjectEvaluation(
        unit_id=unit_id, doc_id=doc_id, project=project, department=department, implementer=implementer,
        year=year, funds=funds, indicators=indicators, category_weights=category_weights,
        reported_total=reported_total, reported_grade=grade, goals=goals, goal_completion=completion,
        stated_problems=problems, narrative_claims=claims,
    )


def _after(cells: list[str], label: str) -> str:
    k = cells.index(label)
    return next((x for x in cells[k + 1 :] if x), "")


def _at(cells: list[str], header: list[str], name: str) -> str:
    if name not in header:
        return ""
    k = header.index(name)
    return cells[k].strip() if k < len(cells) else ""


def _funds_row(funds: Funds, c: list[str], ref, unit: str) -> None:
    """`| 预算数: | 5 | 到位数: | 5 | 执行数: | 4.9745 | 99%` — labelled values, then the rate."""
    used = set()
    for k, cell in enumerate(c):
        key = cell.rstrip("::")
        if key in _LABELS and k + 1 < len(c):
            used.update({k, k + 1})
            fig = figure(c[k + 1], ref, unit) if c[k + 1] else None
            setattr(funds, _LABELS[key], fig)
    rest = [cell for k, cell in enumerate(c) if k not in used and cell]
    if rest and exact_decimal(rest[-1]) is not None:
        raw = rest[-1]
        funds.reported_rate = Figure(raw=raw, value=exact_decimal(raw), unit="%", ref=ref)


def _source_row(c: list[str], ref, unit: str) -> FundsSource | None:
    """`| 其中:财政资金 | 5 | 其中:财政资金 | 5 | 其中:财政资金 | 4.9745` in 预算数/到位数/执行数 order."""
    labels = [k for k, cell in enumerate(c) if cell and exact_decimal(cell) is None]
    if not labels:
        return None
    name = re.sub(r"^其中[::]", "", c[labels[0]]).strip()
    values = []
    for k in labels[:3]:
        raw = c[k + 1] if k + 1 < len(c) else ""
        values.append(figure(raw, ref, unit) if raw else None)
    while len(values) < 3:
        values.append(None)
    if not any(values):
        return None
    return FundsSource(name=name, adjusted_budget=values[0], available=values[1], executed=values[2])


def _indicator_row(c: list[str], header: list[str], level1, level2, ref):
    """One 年度绩效指标 row → (Indicator | None, level1, level2, category weight seen in this row)."""
    width = len(header)
    extra = max(0, len(c) - width)
    cells = c + [""] * (width + extra - len(c))
    try:
        i1, i2, i3 = header.index("一级指标"), header.index("二级指标"), header.index("三级指标")
    except ValueError:
        i1, i2, i3 = 1, 2, 3
    it = width - 3 + extra
    ia, isc = it + 1, it + 2
    weight = None
    if cells[i1]:
        level1, weight = split_weight(cells[i1])
        level2 = None
    if cells[i2]:
        level2 = cells[i2]
    l3, target, actual, score = cells[i3], cells[it], cells[ia], cells[isc]
    if not (l3 or target or actual or score):
        return None, level1, level2, weight
    return (
        Indicator(
            level1=level1, level2=level2, level3=l3,  # an empty 三级指标 cell stays empty (the 预算执行率 row)
            target=parse_target(target) if target else None,
            actual=parse_target(actual) if actual else None,
            weight=None, score=exact_decimal(score), score_text=odd_score(score), ref=ref,
        ),
        level1, level2, weight,
    )
