"""A project report with a funds table and a scoring annex whose narrow cells break rows apart, plus the
项目自评汇总表 and 部门整体绩效自评 (layout id "zhongyuan", first seen in seed 004).

A project report (`财政项目支出绩效自评报告` / `项目名称:X`) has a funds table 表1-2-1 (年初预算数 / 全年预算数 /
全年执行数 / 执行率, total row `年度资金总额:` then one row per source), prose stating `总得分88.41分,属于“良”`,
存在的问题 / 改进建议 sections, and a 自评价评分附件表 whose rows are sometimes broken by narrow cells:
  * `|  | 重点救助对象政 | ≥50% | 50% | 3 | 3` + `|  | 策范围内门诊…` — a row with names only continues the row above;
  * `满意度 | 服务 | 受 | ≥90% …` + `意度指标 | 对象满意度指标 | 聘人员满意度` — vertical text over every name cell;
  * `效 | 社会 | 监 | 提升 | 100% | 1 | 1` + `益指标 | 效益指标 | 督检查工作效率提升度 |  |  | 3 | 3` — even the
    分值 and 得分 digits are split (1 + 3 = 13: the indicator weights then sum to 70, as the template's do).
Pieces are concatenated cell by cell; a repeated join (`满意度` + `意度指标`) is written once. The table may
continue on the next page; `-- | --- | --` rows (markdown rules left by a converter) are skipped.
Template weights: 资金管理 20 + 预算执行 10 × rate + indicators 70 (detected by the checks, not assumed here).
"""
from __future__ import annotations

import re
from decimal import Decimal

from retrieval.segment import first_cell, labelled_value
from retrieval.types import Line
from service.extraction.prose import (
    GRADE_RE,
    num_raw,
    claims_in,
    find_grade,
    find_section,
    find_total,
    prose_stream,
    section_field,
)
from service.extraction.spans import Stream, line_ref, lines_ref
from service.extraction.statements import stated_counts
from service.extraction.targets import NUMBER_RE, exact_decimal, figure, odd_score, parse_target
from service.models import (
    DepartmentEvaluation,
    Figure,
    Funds,
    FundsSource,
    Indicator,
    NarrativeClaim,
    ProjectEvaluation,
    SummaryRow,
    SummaryTable,
    StatedCount,
    TextField,
)

LAYOUT = "zhongyuan"
_TITLE = re.compile(r"(?:财政)?项目(?:支出)?绩效自评(?:价)?报告")
_DASHES = re.compile(r"^[-—:|\s]*$")
LEVEL1 = ["成本指标", "产出指标", "效益指标", "满意度指标"]


def is_zhongyuan(lines: list[Line]) -> bool:
    return any(l.kind == "text" and _TITLE.fullmatch(l.text) for l in lines) and any(
        l.kind == "row" and first_cell(l).startswith("年度资金总额") for l in lines
    )


def _is_rule_row(line: Line) -> bool:
    return line.kind == "row" and all(_DASHES.match(c) for c in (line.cells or []))


def _field(lines: list[Line], key: str) -> str | None:
    return labelled_value(lines, key, 0, 10)


def parse(doc_id: str, unit_id: str, lines: list[Line]) -> ProjectEvaluation:
    project = _field(lines, "项目名称") or ""
    implementer = _field(lines, "项目单位")
    department = _field(lines, "主管部门")
    year = None
    for l in lines:
        if (m := re.search(r"(\d{4})年度项目资金", l.text)):
            year = int(m.group(1))
            break

    funds = _funds(doc_id, lines)
    ps = prose_stream(doc_id, lines)
    total = grade = None
    if (t := find_total(ps)):
        total = Figure(raw=num_raw(ps.text[t[1]:t[2]]), value=t[0], unit="分", ref=ps.ref(t[1], t[2]))
        # the grade that goes with the total is stated right after it
        g = GRADE_RE.search(ps.text, t[2], t[2] + 30)
        if g:
            grade = TextField(text=g.group("grade"), ref=ps.ref(g.start(), g.end()))
    if grade is None and (g2 := find_grade(ps)):
        grade = TextField(text=g2[0], ref=ps.ref(g2[1], g2[2]))

    goals = section_field(doc_id, lines, re.compile(r"项目年度绩效目标$"))
    completion = section_field(doc_id, lines, re.compile(r"项目年度绩效目标完成情况$"))
    problems = section_field(doc_id, lines, re.compile(r"存在的问题$"))
    measures = section_field(doc_id, lines, re.compile(r"改进建议$"), drop_subheads=True)

    return ProjectEvaluation(
        unit_id=unit_id, doc_id=doc_id, project=project, department=department, implementer=implementer,
        year=year, funds=funds, indicators=_indicators(doc_id, lines), reported_total=total,
        reported_grade=grade, goals=goals, goal_completion=completion, stated_problems=problems,
        stated_measures=measures, narrative_claims=claims_in(ps),
    )


def _funds(doc_id: str, lines: list[Line]) -> Funds:
    """表1-2-1: header `| 年初预算数 | 全年预算数 | 全年执行数 | 执行率`, then 年度资金总额 and sources."""
    funds = Funds(unit="万元")
    header = None
    for i, l in enumerate(lines):
        if l.kind == "text" and (m := re.fullmatch(r"单位[::]\s*(万元|元)", l.text)):
            funds.unit = m.group(1)
        if l.kind != "row":
            if header is not None and funds.adjusted_budget is not None:
                break
            continue
        c = list(l.cells or [])
        if "全年预算数" in c and "全年执行数" in c:
            header = c
            continue
        if header is None:
            continue
        name = c[0].rstrip("::").strip() if c else ""
        if not name or _is_rule_row(l):
            break
        ref = line_ref(doc_id, l)
        vals = {h: (c[k] if k < len(c) else "") for k, h in enumerate(header) if h}

        def fig(key: str) -> Figure | None:
            raw = vals.get(key, "")
            return figure(raw, ref, funds.unit) if raw else None

        rate_raw = vals.get("执行率", "")
        rate = Figure(raw=rate_raw, value=exact_decimal(rate_raw), unit="%", ref=ref) if rate_raw else None
        if name.startswith("年度资金总额"):
            funds.initial_budget, funds.adjusted_budget = fig("年初预算数"), fig("全年预算数")
            funds.executed, funds.reported_rate = fig("全年执行数"), rate
        else:
            funds.sources.append(FundsSource(
                name=name, initial_budget=fig("年初预算数"), adjusted_budget=fig("全年预算数"),
                executed=fig("全年执行数"), reported_rate=rate,
            ))
    return funds


# --- 自评价评分附件表 -------------------------------------------------------------------------------------

def _join_piece(a: str, b: str) -> str:
    """Concatenate two pieces of a vertically broken cell; an overlap of 2+ characters is written once."""
    if not a:
        return b
    if not b:
        return a
    for k in range(min(len(a), len(b)) - 1, 1, -1):
        if a.endswith(b[:k]):
            return a + b[k:]
    return a + b


_COLS = ["一级指标", "二级指标", "三级指标", "年度目标值", "实际完成值", "分值", "得分", "偏差原因分析"]


_LISTS = (re.compile(r"绩效目标完成的指标$"), re.compile(r"没有完成绩效目标的指标$"))


def listed_indicators(lines: list[Line]) -> list[str]:
    """Names in `1.绩效目标完成的指标` / `2.没有完成绩效目标的指标` (`…;…;`), the report's own spelling."""
    names: list[str] = []
    for heading in _LISTS:
        sec = find_section(lines, heading)
        if sec is None:
            continue
        _, b, e = sec
        text = Stream("", [l for l in lines[b:e] if l.kind == "text"]).text
        names.extend(n.strip() for n in re.split(r"[;；]", text) if n.strip())
    return names


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _reconcile(name: str, listed: list[str]) -> str:
    """A name pieced together from vertical text (`医疗救助保障` + `对象医疗待遇保障情况`) takes the report's own
    spelling from its indicator lists when exactly one listed name is the pieced name minus a few characters."""
    if not listed or name in listed:
        return name
    hits = {n for n in listed if 0 < len(name) - len(n) <= 4 and _subsequence(n, name)}
    return hits.pop() if len(hits) == 1 else name


def _indicators(doc_id: str, lines: list[Line]) -> list[Indicator]:
    start = None
    header: list[str] = []
    for i, l in enumerate(lines):
        if l.kind == "row" and "一级指标" in (l.cells or []) and "三级指标" in (l.cells or []):
            start, header = i + 1, list(l.cells or [])
    if start is None:
        return []
    pos = {name: (header.index(name) if name in header else k) for k, name in enumerate(_COLS)}
    raw_rows: list[tuple[list[str], list[Line]]] = []
    for l in lines[start:]:
        if l.kind != "row":
            continue
        if _is_rule_row(l):
            continue
        c = list(l.cells or [])
        c += [""] * (len(_COLS) - len(c))
        get = {name: c[pos[name]].strip() if pos[name] < len(c) else "" for name in _COLS}
        names = [get["一级指标"], get["二级指标"], get["三级指标"]]
        no_values = not get["年度目标值"] and not get["实际完成值"]
        if raw_rows and no_values and any(names):
            prev, prev_lines = raw_rows[-1]
            short = any(0 < len(prev[pos[n]]) <= 2 for n in ("一级指标", "二级指标", "三级指标"))
            if not (get["分值"] or get["得分"]) or short:
                for name in _COLS:
                    k = pos[name]
                    prev[k] = _join_piece(prev[k], c[k].strip())
                prev_lines.append(l)
                continue
        raw_rows.append((c, [l]))

    out: list[Indicator] = []
    level1 = level2 = None
    listed = listed_indicators(lines)
    for c, row_lines in raw_rows:
        get = {name: c[pos[name]].strip() for name in _COLS}
        if get["一级指标"]:
            level1, level2 = get["一级指标"], None
        if get["二级指标"]:
            level2 = get["二级指标"]
        l3 = get["三级指标"]
        if not (l3 or get["年度目标值"] or get["分值"]):
            continue
        if len(row_lines) > 1:
            l3 = _reconcile(l3, listed)
        out.append(Indicator(
            level1=level1, level2=level2, level3=l3,
            target=parse_target(get["年度目标值"]) if get["年度目标值"] else None,
            actual=parse_target(get["实际完成值"]) if get["实际完成值"] else None,
            weight=exact_decimal(get["分值"]), score=exact_decimal(get["得分"]), score_text=odd_score(get["得分"]),
            deviation_note=get["偏差原因分析"] or None,
            ref=lines_ref(doc_id, row_lines),
        ))
    return out


# --- 项目自评汇总表 -------------------------------------------------------------------------------------

def _is_summary_header(cells: list[str]) -> bool:
    return "项目名称" in cells and any("得分" in x or x.endswith("自评分") for x in cells)


def _cell_stream_rows(lines: list[Line]) -> list[tuple[list[str], list[Line]]] | None:
    """A summary table copied one cell per line (text extracted from a PDF or a web page): the header is the run
    of single cells from 序号/项目名称 to the last header word; each row starts at its serial number (or, without
    a 序号 column, every len(header) cells). None when no such header is there."""
    texts = [(l.cells[0] if l.kind == "row" and l.cells and len(l.cells) == 1 else l.text).strip() for l in lines]
    for k, t in enumerate(texts):
        if t not in ("序号", "项目名称"):
            continue
        j = k
        while j < len(texts) and texts[j] and not re.fullmatch(r"\d+", texts[j]) and j - k < 12:
            j += 1
        header = texts[k:j]
        if not _is_summary_header(header):
            continue
        out: list[tuple[list[str], list[Line]]] = [(header, lines[k:j])]
        cur: list[str] = []
        span: list[Line] = []
        serial = header[0] == "序号"
        expected = 1  # the next row's serial number: amounts in 元 are whole numbers too
        for m in range(j, len(texts)):
            t = texts[m]
            if not t:
                continue
            new_row = (t == str(expected) and (not cur or len(cur) >= 2)) if serial else len(cur) == len(header)
            if new_row:
                expected += 1
            if new_row and cur:
                out.append((cur, span))
                cur, span = [], []
            cur.append(t)
            span.append(lines[m])
            if len(cur) > len(header):  # past the table
                cur, span = cur[:len(header)], span[:len(header)]
                break
        if cur:
            out.append((cur, span))
        return out
    return None


def parse_summary(doc_id: str, unit_id: str, lines: list[Line]) -> SummaryTable | None:
    header: list[str] | None = None
    title = None
    rows: list[SummaryRow] = []
    group = None
    first_ref = None
    # (kind, cells, line, the row's lines when it was copied one cell per line)
    items: list[tuple[str, list[str], Line, list[Line]]] = [(l.kind, list(l.cells or []), l, [l]) for l in lines]
    if not any(k == "row" and _is_summary_header(c) for k, c, _, _ in items):
        stream = _cell_stream_rows(lines)
        if stream:
            at = next(i for i, l in enumerate(lines) if l is stream[0][1][0])
            items = [("text", [], l, [l]) for l in lines[:at]] + [("row", c, span[0], span) for c, span in stream]
    for kind, c, l, row_lines in items:
        if kind != "row" or (header is None and len(c) == 1 and re.fullmatch(r".{0,20}自评(?:结果|情况)?汇总表", c[0])):
            if re.fullmatch(r".{0,20}自评(?:结果|情况)?汇总表", l.text):
                title = l.text
            continue
        if _is_summary_header(c):
            header = c
            if first_ref is None:
                first_ref = line_ref(doc_id, l)
            continue
        if header is None:
            continue
        nonempty = [x for x in c if x]
        if len(nonempty) == 1 and not re.fullmatch(r"\d+", nonempty[0]):
            group = nonempty[0]
            continue
        vals = {h: (c[k] if k < len(c) else "") for k, h in enumerate(header)}
        name = vals.get("项目名称", "").strip()
        if not name:
            continue
        ref = line_ref(doc_id, l) if len(row_lines) == 1 else lines_ref(doc_id, row_lines)

        def fig(key: str, unit: str | None) -> Figure | None:
            raw = vals.get(key, "").strip()
            return figure(raw, ref, unit) if raw else None

        rates = {}
        for h, v in vals.items():
            if h.endswith("得分率") and exact_decimal(v) is not None:
                rates[h[: -len("得分率")]] = exact_decimal(v)
        rate_key = next((h for h in header if "执行率" in h), "预算执行率")
        rows.append(SummaryRow(
            project=name, budget=fig(next((h for h in header if "预算数" in h), "全年预算数"), "万元"),
            executed=fig(next((h for h in header if "执行数" in h), "全年执行数"), "万元"),
            rate=fig(rate_key, "%"), score=fig(next((h for h in header if h.endswith(("自评得分", "自评分")) or h == "得分"),
                                                  "自评得分"), "分"),
            grade=next((vals[h].strip() for h in header if "等级" in h and vals.get(h, "").strip()), None),
            category_rates=rates, group=group, ref=ref,
        ))
    if not rows:
        return None
    return SummaryTable(unit_id=unit_id, doc_id=doc_id, title=title or "项目自评汇总表", rows=rows, ref=first_ref)


# --- 部门整体绩效自评 and stated counts --------------------------------------------------------------------

_AVERAGE = re.compile(rf"平均得分为?\s*(?P<num>{NUMBER_RE})\s*分")
_DEPT_TOTAL = re.compile(rf"(?:部门整体绩效)?自评得分为\s*(?P<num>{NUMBER_RE})\s*分")


def stated_amounts(stream: Stream) -> list[NarrativeClaim]:
    """Amounts, rates and totals the department states (the average score is a stated count)."""
    out = claims_in(stream)
    return [c for c in out if not (c.kind == "total_score" and c.text and "平均" in c.text)]


def parse_department(doc_id: str, unit_id: str, lines: list[Line]) -> DepartmentEvaluation:
    dept = None
    year = None
    for l in lines[:6]:
        if l.kind == "text" and (m := re.search(r"(\d{4})年度部门整体", l.text)):
            year = int(m.group(1))
        if l.kind == "text" and re.fullmatch(r"[^\s,。]{2,25}(?:局|委员会|委|办公室|中心|院|厅)", l.text) and not dept:
            dept = l.text
    score_rows: list[Indicator] = []
    total = None
    header = None
    for l in lines:
        if l.kind != "row":
            continue
        c = list(l.cells or [])
        if "权重分值" in c and "得分" in c:
            header = c
            continue
        if header is None or not c:
            continue
        vals = {h: (c[k] if k < len(c) else "") for k, h in enumerate(header)}
        name = c[0].strip()
        weight, score = exact_decimal(vals.get("权重分值")), exact_decimal(vals.get("得分"))
        if weight is None and score is None:
            header = None
            continue
        ref = line_ref(doc_id, l)
        if name in {"合计", "总计"}:
            total = Figure(raw=vals.get("得分", ""), value=score, unit="分", ref=ref)
            header = None
            continue
        score_rows.append(Indicator(level1=None, level2=None, level3=name, weight=weight, score=score, ref=ref))
    ps = prose_stream(doc_id, lines)
    if total is None and (t := find_total(ps)):
        total = Figure(raw=num_raw(ps.text[t[1]:t[2]]), value=t[0], unit="分", ref=ps.ref(t[1], t[2]))
    grade = None
    if (g := find_grade(ps)):
        grade = TextField(text=g[0], ref=ps.ref(g[1], g[2]))
    return DepartmentEvaluation(
        unit_id=unit_id, doc_id=doc_id, department=dept, year=year, reported_total=total, reported_grade=grade,
        score_rows=score_rows, stated_counts=stated_counts(ps), stated_amounts=stated_amounts(ps),
        ref=lines_ref(doc_id, [l for l in lines if l.kind == "text"][:1]),
    )


def department_statements(doc_id: str, lines: list[Line]) -> tuple[list[StatedCount], list[NarrativeClaim],
                                                                     Figure | None]:
    """Counts, amounts and the department total stated outside the department report (the 决算's
    预算绩效情况说明, the 项目自评总结报告)."""
    ps = prose_stream(doc_id, lines)
    total = None
    if (m := _DEPT_TOTAL.search(ps.text)):
        total = Figure(raw=m.group("num"), value=Decimal(m.group("num")), unit="分", ref=ps.ref(m.start(), m.end()))
    return stated_counts(ps), stated_amounts(ps), total


__all__ = ["parse", "parse_summary", "parse_department", "department_statements", "is_zhongyuan"]
