"""How a template family lays a form's content out (pure): a FamilySpec says which labels, columns, orders,
units and blocks the template uses; `layout` writes the content into a Sheet; `gold_record` says what a
correct reader must take out of it (the gold), in the eval/gold/extraction shape."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from eval.forms.content import Content, Ind, fmt, narrative_of
from eval.forms.sheet import Num, Sheet

OP_WORDS = {"≥": "大于等于", "≤": "小于等于", "=": "等于", "": "大于等于"}
SENSE_WORDS = {"pos": "正向", "neg": "反向", "eq": "正向", "qual": "正向"}


@dataclass(frozen=True)
class FamilySpec:
    name: str
    title: str = "项目支出绩效自评表"
    year_row: str = "（{year}年度）"  # "" puts the year in the title: "{year}年度项目支出绩效自评表"
    unit: str = "万元"
    unit_where: str = "block"  # block: 项目资金（万元） | line: 单位：万元 row | columns: 预算数（万元） per header
    labels: tuple[str, str, str] = ("项目名称", "主管部门", "实施单位")
    kv_compact: bool = False  # 项目名称 | X | 主管部门 | Y on one row
    funds: tuple[tuple[str, str], ...] | None = (
        ("initial_budget", "年初预算数"), ("adjusted_budget", "全年预算数"), ("executed", "全年执行数"),
        ("exec_weight", "分值"), ("rate", "执行率"), ("exec_score", "得分"))
    funds_block: str = "项目资金"  # the vertical block label left of the funds rows ("" for none)
    funds_label_span: int = 2
    total_label: str = "年度资金总额"
    sources: tuple[str, ...] = ("其中：当年财政拨款", "上年结转资金", "其他资金")
    rate_style: str = "pct"  # pct: 95.8% | number: 95.8 under 执行率(%) | fraction: 0.958 | xlsx_pct
    exec_weight: int | None = 10
    funds_group_header: str = ""  # a group header over the value columns (预算执行情况) → two header rows
    goals: bool = True
    indicators: tuple[tuple[str, str], ...] = (
        ("level1", "一级指标"), ("level2", "二级指标"), ("level3", "三级指标"), ("target", "年度指标值"),
        ("actual", "实际完成值"), ("weight", "分值"), ("score", "得分"), ("note", "偏差原因分析及改进措施"))
    indicator_block: str = "绩效指标"
    split_target: bool = False  # 年度指标值 over 指标性质 | 指标值 | 度量单位
    split_ops: tuple[str, ...] = ("≥", "≤", "=")
    direction: bool = False  # 指标性质 正向/反向 + 指标方向 大于等于 …
    level1_points: bool = False
    placeholders: bool = False
    total: str = "row"  # row: 总分 row | header: 自评总分 in the header block | none
    total_row_label: str = "总分"
    grade: str = "total_row"  # total_row | header | after | none
    grade_word_style: str = "short"  # short: 优 | long: 优秀/良好
    problems: bool = False  # a 存在问题及改进措施 row
    narrative: bool = False
    kind: str = "project"  # project | department
    scored: bool = True
    amounts_as_text: bool = False
    extra_cols: tuple[tuple[str, str], ...] = ()  # appended indicator columns (复核分, 得分系数, 是否核心指标 …)
    source_rates: bool = False
    level1_names: dict = field(default_factory=dict)
    categories: dict | None = None  # fixed first-level weights (three-block forms)
    indicator_header_extra_row: bool = False


def money(c: Content, x: Decimal, spec: FamilySpec) -> Num:
    places = 0 if c.unit == "元" else 2
    shown = f"{x:.{places}f}"
    return Num(x, shown, as_text=spec.amounts_as_text)


def rate_cell(rate: Decimal, spec: FamilySpec) -> Num:
    if spec.rate_style == "number":
        return Num(rate, fmt(rate))
    if spec.rate_style == "fraction":
        frac = (rate / 100).quantize(Decimal("0.0001")).normalize()
        return Num(frac, format(frac, "f"))
    if spec.rate_style == "xlsx_pct":
        return Num(rate / 100, f"{rate:.2f}%", percent=True)
    return Num(rate, f"{fmt(rate)}%", as_text=True)


def grade_text(g: str | None, spec: FamilySpec) -> str:
    if g is None:
        return ""
    return {"优": "优秀", "良": "良好", "中": "中等", "差": "较差"}[g] if spec.grade_word_style == "long" else g


def _level1_label(ind: Ind, c: Content, spec: FamilySpec) -> str:
    if spec.level1_points:
        return f"{ind.level1}（{fmt(c.category_weights[ind.level1])}分）"
    return ind.level1


def _indicator_columns(spec: FamilySpec) -> list[tuple[str, str]]:
    cols = list(spec.indicators) + list(spec.extra_cols)
    if spec.direction:
        k = next(i for i, (f, _) in enumerate(cols) if f == "target")
        cols[k:k + 1] = [("sense", "指标性质"), ("direction", "指标方向"), ("target_value", "指标值"),
                         ("target_unit", "计量单位")]
    return cols


def layout(contents: list[Content], spec: FamilySpec, rng: random.Random) -> list[Sheet]:
    return [layout_one(c, spec, rng, k) for k, c in enumerate(contents)]


def layout_one(c: Content, spec: FamilySpec, rng: random.Random, k: int = 0) -> Sheet:
    ind_cols = _indicator_columns(spec)
    block = 1 if spec.indicator_block else 0
    ind_width = block + len(ind_cols) + (2 if spec.split_target else 0)
    funds_width = (1 if spec.funds_block else 0) + spec.funds_label_span + len(spec.funds or ())
    width = max(ind_width, funds_width, 6)
    sh = Sheet(width, name=f"表{k + 1}")
    if spec.narrative:
        n = narrative_of(c)
        sh.prose = [
            f"{c.project}绩效自评报告",
            "一、项目基本情况",
            f"{c.project}由{c.department}主管，{c.implementer}具体实施。",
            "二、项目资金使用情况",
            f"{c.year}年该项目全年预算{fmt(c.adjusted)}{c.unit}，实际支出{fmt(n['executed'])}{c.unit}，"
            f"预算执行率为{fmt(n['rate'])}%。",
        ]
        if "total" in n:
            sh.prose.append(f"三、自评结论：经自评，该项目自评总分为{fmt(n['total'])}分，评价等级为“{n['grade']}”。")
    title = spec.title if spec.year_row else f"{c.year}年度{spec.title}"
    sh.add([title])
    if spec.year_row:
        sh.add([spec.year_row.format(year=c.year)])
    if spec.unit_where == "line":
        sh.add([f"单位：{c.unit}"])
    name_label, dept_label, impl_label = spec.labels
    if spec.kind == "department":
        sh.add([name_label, c.department], [2, 1])
    elif spec.kv_compact:
        sh.add([name_label, c.project, dept_label, c.department], [1, 2, 1, 1])
    else:
        sh.add([name_label, c.project], [2, 1])
        half = max(1, (width - 4) // 2)
        sh.add([dept_label, c.department, impl_label, c.implementer], [2, half, 1, 1])
    if spec.total == "header" or spec.grade == "header":
        cells, spans = [], []
        if spec.total == "header" and c.total is not None:
            cells += ["自评总分", Num(c.total, fmt(c.total))]
            spans += [2, 1]
        if spec.grade == "header" and c.grade:
            cells += ["自评等级", grade_text(c.grade, spec)]
            spans += [1, 1]
        if cells:
            sh.add(cells, spans)
    if spec.funds:
        _funds(sh, c, spec)
    if spec.goals:
        g1 = sh.add(["年度总体目标", "预期目标", "实际完成情况"], [1, max(1, (width - 1) // 2), 1])
        g2 = sh.add([None, c.goal, c.completion], [1, max(1, (width - 1) // 2), 1])
        sh.vmerge(0, g1, g2)
    _indicators(sh, c, spec, ind_cols, rng)
    if spec.problems:
        sh.add(["存在问题及改进措施", c.problems or "（主要填写项目实施中存在的问题及改进措施）"], [2, 1])
    if spec.grade == "after" and c.grade:
        sh.add(["评价等级", grade_text(c.grade, spec)], [2, 1])
    if c.threshold_note:
        sh.add([c.threshold_note])
    return sh


def _funds(sh: Sheet, c: Content, spec: FamilySpec) -> None:
    unit_q = f"（{c.unit}）"
    block = 1 if spec.funds_block else 0
    labels = []
    for f, lab in spec.funds:
        if spec.unit_where == "columns" and f in ("initial_budget", "adjusted_budget", "executed"):
            lab += unit_q
        if f == "rate" and spec.rate_style == "number":
            lab += "（%）"
        labels.append(lab)
    head_label = spec.funds_block + (unit_q if spec.unit_where == "block" else "") if spec.funds_block else ""
    first = len(sh.rows)
    if spec.funds_group_header:
        sh.add(([head_label] if block else []) + [""] + [spec.funds_group_header],
               ([1] if block else []) + [spec.funds_label_span, len(labels)])
    sh.add(([head_label if not spec.funds_group_header else None] if block else []) + [""] + labels,
           ([1] if block else []) + [spec.funds_label_span] + [1] * len(labels))
    if spec.funds_group_header and block:
        pass

    def values(initial, adjusted, executed, rate, total_row: bool) -> list[object]:
        out: list[object] = []
        for f, _ in spec.funds:
            if f == "initial_budget":
                out.append(money(c, initial, spec))
            elif f == "adjusted_budget":
                out.append(money(c, adjusted, spec))
            elif f == "executed":
                out.append(money(c, executed, spec))
            elif f == "rate":
                out.append(rate_cell(rate, spec) if (total_row or spec.source_rates) else "—")
            elif f == "exec_weight":
                out.append(Num(c.exec_weight, fmt(c.exec_weight)) if total_row and c.exec_weight is not None else "—")
            elif f == "exec_score":
                out.append(Num(c.exec_score, fmt(c.exec_score)) if total_row and c.exec_score is not None else "—")
        return out

    lead = [None] if block else []
    lspan = ([1] if block else []) + [spec.funds_label_span]
    sh.add(lead + [spec.total_label] + values(c.initial, c.adjusted, c.executed, c.rate, True),
           lspan + [1] * len(spec.funds))
    from eval.forms.content import q2  # local: only for per-source rates
    for label, s in zip(spec.sources, c.sources):
        rate = q2(s.executed / s.adjusted * 100) if s.adjusted else Decimal(0)
        sh.add(lead + [label] + values(s.initial, s.adjusted, s.executed, rate, False), lspan + [1] * len(spec.funds))
    if block:
        sh.vmerge(0, first, len(sh.rows) - 1)


def _target_cells(ind: Ind, spec: FamilySpec, rng: random.Random) -> list[object]:
    if spec.split_target:
        if ind.sense == "qual":
            return ["定性", ind.words, ""]
        op = ind.op or "≥"
        if op == "≥" and "≧" in spec.split_ops and rng.random() < 0.3:
            op = "≧"
        if op == "=" and "﹦" in spec.split_ops and rng.random() < 0.5:
            op = "﹦"
        return [op, fmt(ind.value), ind.unit]
    return [ind.target_text]


def _indicators(sh: Sheet, c: Content, spec: FamilySpec, cols: list[tuple[str, str]], rng: random.Random) -> None:
    block = [spec.indicator_block] if spec.indicator_block else []
    first = len(sh.rows)
    header: list[object] = []
    sub: list[object] = []
    for f, lab in cols:
        if f == "target" and spec.split_target:
            header += [lab, None, None]
            sub += ["指标性质", "指标值", "度量单位"]
        else:
            header.append(lab)
            sub.append(None)
    h = sh.add(block + header)
    if spec.split_target:
        sh.add(([None] if block else []) + sub)
        off = len(block)
        t = next(i for i, (f, _) in enumerate(cols) if f == "target")
        sh.merges.append((h, off + t, h, off + t + 2))
        for i in range(len(header)):
            if header[i] is not None and not (t <= i <= t + 2):
                sh.merges.append((h, off + i, h + 1, off + i))
    prev_l1 = prev_l2 = None
    group_start: dict[int, int] = {}
    rows_of: list[tuple[int, Ind | None]] = []
    for ind in c.indicators:
        l1 = _level1_label(ind, c, spec) if ind.level1 != prev_l1 else None
        l2 = ind.level2 if (ind.level2 != prev_l2 or l1 is not None) else None
        cells: list[object] = []
        for f, _ in cols:
            if f == "level1":
                cells.append(l1)
            elif f == "level2":
                cells.append(l2)
            elif f == "level3":
                cells.append(ind.name)
            elif f == "target":
                cells += _target_cells(ind, spec, rng)
            elif f == "sense":
                cells.append(SENSE_WORDS[ind.sense] if ind.sense != "qual" else "定性")
            elif f == "direction":
                cells.append(OP_WORDS[ind.op] if ind.sense != "qual" else "")
            elif f == "target_value":
                cells.append(fmt(ind.value) if ind.sense != "qual" else ind.words)
            elif f == "target_unit":
                cells.append(ind.unit if ind.sense != "qual" else "")
            elif f == "actual":
                cells.append(ind.actual_text)
            elif f == "weight":
                cells.append(Num(ind.weight, fmt(ind.weight)) if ind.weight is not None else None)
            elif f == "score":
                cells.append(Num(ind.score, fmt(ind.score)) if ind.score is not None else None)
            elif f == "note":
                cells.append(ind.note)
            elif f == "review":
                cells.append(Num(ind.score, fmt(ind.score)) if ind.score is not None else None)
            elif f == "coefficient":
                cells.append(f"{fmt((ind.score / ind.weight * 100).quantize(Decimal('0.01')))}" if ind.weight else None)
            elif f == "core":
                cells.append("是" if ind.weight and ind.weight >= 15 else "否")
            else:
                cells.append(None)
        r = sh.add(([None] if block else []) + cells, [1] * (len(cells) + len(block)))
        if l1 is not None:
            group_start[r] = r
        rows_of.append((r, ind))
        prev_l1, prev_l2 = ind.level1, ind.level2
        if spec.placeholders and rng.random() < 0.25:
            ph = [None] * len(cells)
            k3 = next(i for i, (f, _) in enumerate(cols) if f == "level3")
            ph[k3] = rng.choice(["指标1：", "……", "（主要填写…）"])
            sh.add(([None] if block else []) + ph, [1] * (len(ph) + len(block)))
    # merge each first-level cell down its group
    off = len(block)
    l1_col = next((i for i, (f, _) in enumerate(cols) if f == "level1"), None)
    if l1_col is not None:
        starts = sorted(group_start)
        bounds = starts[1:] + [len(sh.rows)]
        for s, e in zip(starts, bounds):
            sh.vmerge(off + l1_col, s, e - 1)
    if spec.total == "row" and c.total is not None:
        wcol = next((i for i, (f, _) in enumerate(cols) if f == "weight"), None)
        scol = next((i for i, (f, _) in enumerate(cols) if f == "score"), None)
        cells = [None] * (len(cols) + (2 if spec.split_target else 0))
        label_cells = max(1, (wcol if wcol is not None else 1) + (2 if spec.split_target else 0))
        shift = 2 if spec.split_target else 0
        if wcol is not None:
            cells[wcol + shift] = Num(Decimal(100), "100")
        if scol is not None:
            cells[scol + shift] = Num(c.total, fmt(c.total))
        if spec.grade == "total_row" and c.grade:
            k = (scol + shift + 1) if scol is not None else len(cells) - 1
            cells[min(k, len(cells) - 1)] = grade_text(c.grade, spec)
        row = [spec.total_row_label] + cells[label_cells:]
        r = sh.add(([None] if block else []) + row, ([1] if block else []) + [label_cells] + [1] * len(cells[label_cells:]))
        sh.vmerge(0, first, r) if block else None
    elif block:
        sh.vmerge(0, first, len(sh.rows) - 1)



@dataclass
class SummaryRow:
    """One row of a 项目支出绩效自评结果汇总表: what the table prints about one project."""

    project: str
    budget: Decimal
    executed: Decimal
    rate: Decimal
    score: Decimal
    grade: str
    unit: str


def summary_row(c: Content) -> SummaryRow:
    return SummaryRow(c.project, c.adjusted, c.executed, c.rate, c.total, c.grade or "", c.unit)


SUMMARY_TITLES = ("项目支出绩效自评结果汇总表", "项目支出绩效自评汇总表", "项目自评汇总表")


def summary_sheet(rows: list[SummaryRow], year: int, rng: random.Random) -> Sheet:
    """A summary table listing the file's projects (the department's overview before its forms)."""
    unit = rows[0].unit
    places = 0 if unit == "元" else 2
    head = ["序号", "项目名称", f"全年预算数（{unit}）", f"全年执行数（{unit}）", "执行率", "自评得分", "评价等级"]
    sh = Sheet(len(head), name="汇总表")
    sh.add([f"{year}年度{rng.choice(SUMMARY_TITLES)}"])
    sh.add(head)
    for k, r in enumerate(rows, 1):
        sh.add([str(k), r.project, Num(r.budget, f"{r.budget:.{places}f}"), Num(r.executed, f"{r.executed:.{places}f}"),
                f"{fmt(r.rate)}%", Num(r.score, fmt(r.score)), r.grade])
    return sh


# 功能分类 类 → (款, its name): where a generated project is budgeted in the 部门决算's 支出决算表
_SUBJECTS = (("208", "社会保障和就业支出", "20802", "民政管理事务"), ("210", "卫生健康支出", "21004", "公共卫生"),
             ("213", "农林水支出", "21301", "农业农村"), ("212", "城乡社区支出", "21203", "城乡社区公共设施"),
             ("205", "教育支出", "20502", "普通教育"))


def wan(x: Decimal, unit: str) -> Decimal:
    return (x / 10000 if unit == "元" else x).quantize(Decimal("0.01"))


def accounts_rows(contents: list[Content], rng: random.Random) -> list[list]:
    """The 支出决算表 (公开03) rows for the file's projects: per project a 类, a 款, a 行政运行 项 (基本支出) and a 项
    named as the project whose 项目支出 is what the project's form says it spent. [code, name, basic, project]."""
    rows: list[list] = []
    for c, (lei, lei_name, kuan, kuan_name) in zip(contents, rng.sample(_SUBJECTS, len(contents))):
        if c.kind == "department":
            # the department's whole year: 行政运行 and one project item adding up to what its form says it spent
            spent = wan(c.executed, c.unit)
            basic = (spent * Decimal("0.6")).quantize(Decimal("0.01"))
            rows += [[lei, lei_name, None, None], [kuan, kuan_name, None, None],
                     [kuan + "01", "行政运行", basic, Decimal(0)], [kuan + "99", c.project, Decimal(0), spent - basic]]
            continue
        basic = Decimal(rng.randrange(2000, 90000)) / 100
        rows.append([lei, lei_name, None, None])
        rows.append([kuan, kuan_name, None, None])
        rows.append([kuan + "01", "行政运行", basic, Decimal(0)])
        rows.append([kuan + "99", c.project, Decimal(0), wan(c.executed, c.unit)])
    return rows


def accounts_sheet(contents: list[Content], rows: list[list]) -> Sheet:
    """A 部门决算's 支出决算表 with its marker, title and unit lines; 类 and 款 rows sum their 项 rows exactly."""
    sums: dict[str, list[Decimal]] = {}
    for code, _, basic, proj in rows:
        if len(code) == 7:
            for parent in (code[:3], code[:5]):
                acc = sums.setdefault(parent, [Decimal(0), Decimal(0)])
                acc[0] += basic
                acc[1] += proj
    total = [sum((v[0] for k, v in sums.items() if len(k) == 3), Decimal(0)),
             sum((v[1] for k, v in sums.items() if len(k) == 3), Decimal(0))]
    sh = Sheet(5, name="部门决算")
    c0 = contents[0]
    sh.add([f"{c0.department}{c0.year}年度部门决算"])
    sh.add(["公开03表"])
    sh.add(["支出决算表"])
    sh.add(["单位：万元"])
    sh.add(["科目编码", "科目名称", "本年支出合计", "基本支出", "项目支出"])

    def money(x: Decimal) -> Num:
        return Num(x, f"{x:.2f}")

    sh.add(["", "合计", money(total[0] + total[1]), money(total[0]), money(total[1])])
    for code, name, basic, proj in rows:
        b, p = (basic, proj) if len(code) == 7 else tuple(sums[code])
        sh.add([code, name, money(b + p), money(b), money(p)])
    return sh

def gold_record(c: Content, spec: FamilySpec) -> dict:
    """What a correct reader takes out of this form (eval/gold/extraction shape)."""
    fields = {f for f, _ in spec.funds or ()}

    def num(x) -> str | None:
        return None if x is None else format(x, "f")

    funds = {"unit": c.unit, "initial_budget": None, "adjusted_budget": None, "available": None, "executed": None,
             "reported_rate": None, "exec_weight": None, "exec_score": None, "sources": []}
    if spec.funds:
        funds.update({
            "initial_budget": num(c.initial) if "initial_budget" in fields else None,
            "adjusted_budget": num(c.adjusted) if "adjusted_budget" in fields else None,
            "executed": num(c.executed) if "executed" in fields else None,
            "reported_rate": num(c.rate) if "rate" in fields else None,
            "exec_weight": num(c.exec_weight) if "exec_weight" in fields and c.exec_weight is not None else None,
            "exec_score": num(c.exec_score) if "exec_score" in fields and c.exec_score is not None else None,
        })
        from eval.forms.content import q2
        for label, s in zip(spec.sources, c.sources):
            name = label.replace("其中：", "").replace("其中:", "")
            funds["sources"].append({
                "name": name,
                "initial_budget": num(s.initial) if "initial_budget" in fields else None,
                "adjusted_budget": num(s.adjusted) if "adjusted_budget" in fields else None,
                "available": None,
                "executed": num(s.executed) if "executed" in fields else None,
                "reported_rate": num(q2(s.executed / s.adjusted * 100)) if spec.source_rates and s.adjusted else None,
            })
    indicators = []
    has_note = any(f == "note" for f, _ in spec.indicators + spec.extra_cols)
    for ind in c.indicators:
        target = ind.target_text if ind.sense != "qual" else ind.words
        if (spec.split_target or spec.direction) and ind.sense != "qual" and not ind.op:
            target = "≥" + target  # the split form always prints an operator
        indicators.append({
            "level1": ind.level1, "level2": ind.level2, "level3": ind.name, "target": target,
            "actual": ind.actual_text or None, "weight": num(ind.weight), "score": num(ind.score),
            "deviation_note": ind.note if has_note else None,
        })
    rec = {
        "project": c.project if spec.kind == "project" else c.department,
        "department": c.department, "year": c.year, "funds": funds, "indicators": indicators,
        "category_weights": {k: num(v) for k, v in c.category_weights.items()} if spec.level1_points else {},
        "reported_total": num(c.total) if spec.total != "none" and c.total is not None else None,
        "reported_grade": c.grade if spec.grade != "none" else None,
    }
    return rec


__all__ = ["FamilySpec", "SummaryRow", "gold_record", "layout", "layout_one", "summary_row", "summary_sheet", "accounts_rows", "accounts_sheet"]
