"""Department-level performance statements that 部门决算 documents carry: the 部门整体绩效自评
总体得分情况表, the 项目自评汇总表 (read here from its own rows, independently of service.extraction),
and the numbers stated in prose about them — total score and grade, how many projects were evaluated,
counts by grade and by execution-rate bucket, the average score, project-expenditure totals and the
department's fund rates (预算执行率, 预算调整率, 结转结余率, 政府采购执行率).
"""
from __future__ import annotations

import re
from decimal import Decimal

from retrieval.types import LoadedDocument, Line
from service.accounts.models import AccountsValue, DeptPerformance, DeptStatement, ScoreRow, SummaryProjectRow
from service.accounts.narrative import NUM, heading_keys, to_decimal
from service.accounts.tables import cells_of, parse_amount
from service.accounts.textmap import JoinedText
from service.models import SourceRef

_GRADE_WORDS = "优|良|中|差"


def _ref(doc_id: str, ln: Line, quote: str | None = None) -> SourceRef:
    return SourceRef(doc_id=doc_id, page=ln.page, line_start=ln.line_no, line_end=ln.line_no,
                     quote=(quote if quote is not None else ln.text).strip())


def _val(doc_id: str, ln: Line, cells: list[str], idx: int | None) -> AccountsValue | None:
    if idx is None or idx >= len(cells) or not cells[idx]:
        return None
    return AccountsValue(raw=cells[idx], value=parse_amount(cells[idx]),
                         ref=_ref(doc_id, ln, "\t".join(cells[: idx + 1])))


def _find_col(header: list[str], *patterns: str, exclude: str | None = None) -> int | None:
    for pat in patterns:
        for i, h in enumerate(header):
            if re.search(pat, h) and not (exclude and re.search(exclude, h)):
                return i
    return None


def parse_score_table(doc: LoadedDocument) -> tuple[list[ScoreRow], SourceRef | None]:
    """总体得分情况表: a header with 权重/分值 and 得分, then one row per block and a 合计 row."""
    lines = list(doc.iter_lines())
    for i, ln in enumerate(lines):
        if ln.kind != "row":
            continue
        header = cells_of(ln)
        w = _find_col(header, r"权重", r"^分值$")
        sc = _find_col(header, r"^得分$")
        if w is None or sc is None or len(header) > 6:
            continue
        rate = _find_col(header, r"得分率")
        rows: list[ScoreRow] = []
        for nxt in lines[i + 1:]:
            if nxt.kind != "row":
                break
            cells = cells_of(nxt)
            if not cells or parse_amount(cells[sc] if sc < len(cells) else "") is None:
                break
            name = cells[0]
            rows.append(ScoreRow(name=name, weight=_val(doc.doc_id, nxt, cells, w),
                                 score=_val(doc.doc_id, nxt, cells, sc), rate=_val(doc.doc_id, nxt, cells, rate),
                                 is_total=bool(re.search(r"合计|总计|总分", name)), ref=_ref(doc.doc_id, nxt)))
        if rows and any(r.is_total for r in rows):
            return rows, _ref(doc.doc_id, ln)
    return [], None


def parse_summary_table(doc: LoadedDocument) -> tuple[list[SummaryProjectRow], SourceRef | None]:
    """项目自评汇总表: header with 项目名称 … 自评得分; group rows (可执行项目 / 待分项目) and numbered rows;
    a header repeated on a continuation page is skipped."""
    lines = list(doc.iter_lines())
    for i, ln in enumerate(lines):
        if ln.kind != "row":
            continue
        header = cells_of(ln)
        name_c = _find_col(header, r"项目名称")
        score_c = _find_col(header, r"自评得分", r"^得分$")
        if name_c is None or score_c is None:
            continue
        bud_c = _find_col(header, r"全年预算数", r"调整后预算", r"预算数")
        exe_c = _find_col(header, r"全年执行数", r"执行数")
        rate_c = _find_col(header, r"预算执行率", r"执行率")
        seq_c = _find_col(header, r"序号")
        rows: list[SummaryProjectRow] = []
        group: str | None = None
        pending_text = False
        for nxt in lines[i + 1:]:
            if nxt.kind != "row":
                pending_text = True
                continue
            if nxt.text == ln.text:
                pending_text = False
                continue  # repeated header
            if pending_text:
                break  # prose came between: the table ended
            cells = cells_of(nxt)
            nonempty = [c for c in cells if c]
            if len(nonempty) == 1 and len(nonempty[0]) <= 12 and parse_amount(nonempty[0]) is None:
                group = nonempty[0]
                continue
            if name_c >= len(cells) or not cells[name_c]:
                continue
            if seq_c is not None and seq_c < len(cells) and cells[seq_c] and not cells[seq_c].isdigit():
                if not re.search(r"合计|总计", cells[seq_c]):
                    break
            rows.append(SummaryProjectRow(
                seq=cells[seq_c] if seq_c is not None and seq_c < len(cells) else None,
                project=cells[name_c], group=group,
                budget=_val(doc.doc_id, nxt, cells, bud_c), executed=_val(doc.doc_id, nxt, cells, exe_c),
                rate=_val(doc.doc_id, nxt, cells, rate_c), score=_val(doc.doc_id, nxt, cells, score_c),
                ref=_ref(doc.doc_id, nxt)))
        if rows:
            return rows, _ref(doc.doc_id, ln)
    return [], None


# ---------------------------------------------------------------- prose statements

_P = {
    "dept_total": re.compile(rf"(?:整体绩效自评得分为?|最终分数为?|部门整体.{{0,20}}?(?:得分|总分)为?)(?P<n>{NUM})分"),
    "dept_grade": re.compile(rf"评价等级为[“\"]?(?P<g>{_GRADE_WORDS})"),
    "project_count": re.compile(r"(?P<n>\d+)个项目支出绩效进行了自评|自评项目共计(?P<n2>\d+)个"),
    "group_count": re.compile(r"(?P<g>可执行项目|待分项目)(?:共计)?(?P<n>\d+)个"),
    "grade_count": re.compile(rf"(?P<n>\d+)个为(?P<g>{_GRADE_WORDS})|为(?P<g2>{_GRADE_WORDS})的(?P<n2>\d+)个"),
    "average_score": re.compile(rf"平均得分为?(?P<n>{NUM})分"),
    "rate_bucket": re.compile(
        r"(?:预算)?执行率(?P<cond>(?:为|高于|低于|达到|不足|在)[^，,、。；;项]*?)项目(?P<n>\d+)个"),
    "project_totals": re.compile(
        rf"项目支出总体预算为?(?P<b>{NUM})万元[，,]\s*执行(?P<e>{NUM})万元[，,]\s*执行率为?(?P<r>{NUM})%"),
    "dept_initial_budget": re.compile(rf"部门年初预算数?为?(?P<n>{NUM})万元"),
    "dept_adjusted_budget": re.compile(rf"调整预算数?为?(?P<n>{NUM})万元"),
    "dept_executed": re.compile(rf"预算执行金额为?(?P<n>{NUM})万元"),
    "dept_exec_rate": re.compile(rf"(?<!项目)预算执行率为?(?P<n>{NUM})%"),
    "dept_adjust_rate": re.compile(rf"预算调整率为?(?P<n>{NUM})%"),
    "dept_carryover_rate": re.compile(rf"结转结余率为?(?P<n>{NUM})%"),
    "procurement_budget": re.compile(rf"政府采购年初预算数?为?(?P<n>{NUM})万元"),
    "procurement_executed": re.compile(rf"政府采购执行数为?(?P<n>{NUM})万元"),
    "procurement_rate": re.compile(rf"政府采购执行数为?{NUM}万元[，,]\s*执行率为?(?P<n>{NUM})%"),
}


def _bucket(cond: str) -> tuple[Decimal | None, bool, Decimal | None, bool] | None:
    """为100% -> [100,100]; 高于90%(含)低于100% -> [90,100); 低于60% -> (-,60)."""
    m = re.fullmatch(rf"(?:为|达到)(?P<v>{NUM})%", cond)
    if m:
        v = to_decimal(m.group("v"))
        return v, True, v, True
    lo = hi = None
    lo_inc, hi_inc = False, False
    m = re.search(rf"(?:高于|在)(?P<v>{NUM})%(?P<inc>\(含\)|以上)?", cond)
    if m:
        lo, lo_inc = to_decimal(m.group("v")), bool(m.group("inc"))
    m = re.search(rf"(?:低于|不足)(?P<v>{NUM})%(?P<inc>\(含\))?", cond)
    if m:
        hi, hi_inc = to_decimal(m.group("v")), bool(m.group("inc"))
    if lo is None and hi is None:
        return None
    return lo, lo_inc, hi, hi_inc


def parse_statements(doc: LoadedDocument) -> list[DeptStatement]:
    text_lines = [ln for ln in doc.iter_lines() if ln.kind == "text"]
    jt = JoinedText.build(doc.doc_id, text_lines, heading_keys(text_lines))
    out: list[DeptStatement] = []
    s = jt.search
    for a, b in jt.sentences():
        sent = s[a:b]
        found: list[tuple[int, DeptStatement]] = []

        def add(kind: str, m: re.Match, group: str, label: str, **kw):
            st = m.start(group)
            raw = m.group(group)
            ref = jt.ref(a + m.start(), a + m.end(), anchor=a + st)
            found.append((st, DeptStatement(kind=kind, label=label, raw=raw, ref=ref, **kw)))

        if re.search(r"部门整体|最终分数", sent):
            for m in _P["dept_total"].finditer(sent):
                add("dept_total", m, "n", "部门整体绩效自评得分", value=to_decimal(m.group("n")))
            for m in _P["dept_grade"].finditer(sent):
                add("dept_grade", m, "g", "部门整体评价等级", text=m.group("g"))
        for m in _P["project_count"].finditer(sent):
            g = "n" if m.group("n") else "n2"
            add("project_count", m, g, "自评项目数", value=Decimal(m.group(g)))
        for m in _P["group_count"].finditer(sent):
            add("group_count", m, "n", m.group("g"), value=Decimal(m.group("n")), text=m.group("g"))
        for m in _P["grade_count"].finditer(sent):
            g, n = ("g", "n") if m.group("n") else ("g2", "n2")
            add("grade_count", m, n, f"自评结果为{m.group(g)}", value=Decimal(m.group(n)), text=m.group(g))
        for m in _P["average_score"].finditer(sent):
            add("average_score", m, "n", "项目平均得分", value=to_decimal(m.group("n")))
        for m in _P["rate_bucket"].finditer(sent):
            bk = _bucket(m.group("cond"))
            if bk is None:
                continue
            lo, lo_inc, hi, hi_inc = bk
            add("rate_bucket", m, "n", f"预算执行率{m.group('cond')}", value=Decimal(m.group("n")),
                low=lo, low_inclusive=lo_inc, high=hi, high_inclusive=hi_inc)
        for m in _P["project_totals"].finditer(sent):
            add("project_budget", m, "b", "项目支出总体预算", value=to_decimal(m.group("b")))
            add("project_executed", m, "e", "项目支出执行数", value=to_decimal(m.group("e")))
            add("project_rate", m, "r", "项目支出执行率", value=to_decimal(m.group("r")))
        if _P["dept_adjusted_budget"].search(sent):
            # one sentence states the department's funds; its rates are recomputed from its amounts
            for kind, label in (("dept_initial_budget", "部门年初预算数"), ("dept_adjusted_budget", "调整预算数"),
                                ("dept_executed", "预算执行金额"), ("dept_exec_rate", "预算执行率"),
                                ("dept_adjust_rate", "预算调整率"), ("dept_carryover_rate", "结转结余率")):
                for m in _P[kind].finditer(sent):
                    add(kind, m, "n", label, value=to_decimal(m.group("n")))
        if _P["procurement_executed"].search(sent):
            for kind, label in (("procurement_budget", "政府采购年初预算数"),
                                ("procurement_executed", "政府采购执行数"), ("procurement_rate", "政府采购执行率")):
                for m in _P[kind].finditer(sent):
                    add(kind, m, "n", label, value=to_decimal(m.group("n")))
        found.sort(key=lambda x: x[0])
        out.extend(st for _, st in found)
    return out


def parse_dept(doc: LoadedDocument) -> DeptPerformance:
    score_rows, score_ref = parse_score_table(doc)
    summary_rows, summary_ref = parse_summary_table(doc)
    return DeptPerformance(score_rows=score_rows, score_table_ref=score_ref, summary_rows=summary_rows,
                           summary_ref=summary_ref, statements=parse_statements(doc))
