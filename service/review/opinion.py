"""The 审核意见 as an official document, independent of its format: title, 主送, 依据, 总体评价, problems grouped
by kind with one item per root cause, the 复核得分与等级调整表, 整改要求与时限 and the 落款 — Chinese only.

Built purely from a `Review`. Every number in the text is taken from the extraction or the findings (counts
are counts of projects and items); names the document does not state unambiguously (the unit, the year, the
reviewing office, the date, the deadline) are left as placeholders for the reviewer. Internal rule ids, scoring
schemes, unit ids and file names go only to the appendix (`Opinion.appendix`), which the 发文版 leaves out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from service.checks.numbers import fmt, grade_of
from service.review.model import NO_FINDINGS_UNREAD, Citation, FindingView, ProjectReview, Review

CATEGORIES = ("数据不一致", "自评结果偏高", "说明缺失", "指标体系不完整", "文字与表格不一致", "表格无法复核")
CN_NUM = "一二三四五六七八九十"

_CATEGORY_OF = {
    "R-EXEC-RATE": "数据不一致", "R-EXEC-OVER": "数据不一致", "R-EXEC-ROWS": "数据不一致",
    "R-UNIT-MAGNITUDE": "数据不一致", "R-SUMMARY": "数据不一致", "R-SUMMARY-DUP": "数据不一致", "R-ACCOUNTS-PROJECT": "数据不一致", "R-ACCOUNTS-DEPT": "数据不一致", "R-PROJECT-DUP": "数据不一致", "R-DEPT-TOTAL": "数据不一致", "R-GRADE": "数据不一致",
    "R-FULL-BUT-DEDUCTED": "数据不一致",
    "R-EXEC-SCORE": "自评结果偏高", "R-ZERO-SPEND": "自评结果偏高", "R-QUANT-POS": "自评结果偏高", "R-QUANT-NEG": "自评结果偏高",
    "R-QUANT-EQ": "自评结果偏高", "R-QUAL": "自评结果偏高", "R-TOTAL": "自评结果偏高",
    "R-EXEC-EXPLAIN": "说明缺失", "R-DEVIATION": "说明缺失", "R-TEMPLATE-TEXT": "说明缺失",
    "R-EMPTY-VALUE": "表格无法复核",
    "R-WEIGHT-L1": "指标体系不完整", "R-CATEGORY-SUM": "指标体系不完整", "R-CATEGORY-WEIGHT": "指标体系不完整",
    "R-NARR-AMOUNT": "文字与表格不一致", "R-NARR-TOTAL": "文字与表格不一致", "R-NARR-GRADE": "文字与表格不一致",
    "R-NARR-RATE": "文字与表格不一致", "R-DEPT-COUNTS": "文字与表格不一致",
}
# funds findings that follow from one wrong figure (a rate, a total row, an amount): grouped under it when
# they cite the same lines, so a wrong execution rate is one problem, not three to five
_FUNDS = ("R-EXEC-RATE", "R-EXEC-OVER", "R-EXEC-ROWS", "R-NARR-AMOUNT", "R-NARR-RATE", "R-EXEC-SCORE",
          "R-EXEC-EXPLAIN")
_FUNDS_ROOTS = ("R-EXEC-RATE", "R-EXEC-OVER", "R-EXEC-ROWS")
# findings that read the 得分 column: in a table whose score column cannot be read they are part of that
# one problem
_SCORE_BASED = ("R-CATEGORY-SUM", "R-EXEC-SCORE", "R-QUANT-POS", "R-QUANT-NEG", "R-QUANT-EQ", "R-QUAL",
                "R-FULL-BUT-DEDUCTED", "R-DEVIATION")

_REMEDY = {
    "数据不一致": "核对预算数、执行数、执行率及得分、等级等基础数据，确保自评表各栏之间、自评表与财务数据之间一致",
    "自评结果偏高": "对照复核得分与等级调整表，按评分规则重新核定预算执行得分、指标得分、总分和评价等级",
    "说明缺失": "对预算执行率偏低、绩效指标未达成的情况，逐项补充说明原因及改进措施；仍为填表说明文字的栏目据实填写",
    "指标体系不完整": "补齐缺失的一级指标及其分值，确保各级指标分值合计为100分",
    "文字与表格不一致": "更正自评报告文字中与自评表不一致的金额、执行率、得分和等级",
    "表格无法复核": "对得分栏填报不规范或指标值、完成值未填写的自评表按评分规则补填、重新填报",
}


def where_zh(citations: tuple[Citation, ...] | list[Citation], limit: int = 3) -> str:
    """“第1页第90行、第110行”: pages and lines only (the quotes go to the appendix and the XLSX)."""
    parts: list[str] = []
    last_page = None
    for c in list(citations)[:limit]:
        parts.append(f"第{c.lines}行" if c.page == last_page else f"第{c.page}页第{c.lines}行")
        last_page = c.page
    more = "等" if len(citations) > limit else ""
    return "、".join(parts) + more


@dataclass
class Item:
    """One problem (one root cause) with the findings that follow from it."""

    category: str
    project: str | None
    root: FindingView
    related: list[FindingView] = field(default_factory=list)
    text_override: str | None = None  # a sentence that replaces the root's message (unreadable score column)

    @property
    def findings(self) -> list[FindingView]:
        return [self.root, *self.related]

    @property
    def problem(self) -> str:
        return self.text_override or self.root.message_zh

    @property
    def reported(self) -> str | None:
        return self.root.reported

    @property
    def expected(self) -> str | None:
        return self.root.recomputed

    @property
    def where(self) -> str:
        return where_zh(self.root.citations)

    @property
    def severity(self) -> str:
        return min((f.severity for f in self.findings), key=("error", "warning", "info").index)

    def sort_key(self) -> tuple:
        c = self.root.citations[0] if self.root.citations else None
        return (c.page, c.line_start) if c else (0, 0)


@dataclass(frozen=True)
class ScoreRow:
    project: str
    reported: str  # as printed, "—" when none
    reviewed: str  # the reviewed score, "无法复核" or "—"
    change: str  # "-8.66", "0", "—"
    reported_grade: str
    reviewed_grade: str
    basis: str  # how the reviewed score was obtained
    reported_value: Decimal | None = None
    reviewed_value: Decimal | None = None


@dataclass(frozen=True)
class AppendixRow:
    item: str  # the item number in the 问题清单, e.g. 二（一）1
    project: str
    rule_id: str
    rule_title: str
    severity: str
    variant: str
    unit_id: str
    source: str  # document, page, lines, quote


@dataclass
class Opinion:
    title: str
    addressee: str
    coverage_statement: str | None
    basis: str
    overall: list[str]
    summary: str | None
    categories: list[tuple[str, list[Item]]]  # non-empty categories in CATEGORIES order
    no_problem_text: str | None  # said instead of a problem list when there is none
    score_rows: list[ScoreRow]
    rectification: list[str]
    deadline: str
    signature: str
    date: str
    appendix_intro: list[str]
    appendix: list[AppendixRow]
    # who read each project when a model took part, and where the rules and the model read a value
    # differently (project, read by, field, rules' value, model's value): the reviewer decides
    readings: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def items(self) -> list[Item]:
        return [i for _, items in self.categories for i in items]


def _unreviewable_text(p: ProjectReview) -> str:
    cells = "、".join(f"“{c}”" for c in dict.fromkeys(p.score.odd_cells)) if p.score else ""
    if p.score is None or not cells:
        return "该表得分栏填报不规范，无法复核，请重新填报。"
    return f"自评总分{p.score.reported_raw or '未填'}分，但{p.score.basis_zh()}"


def _connected(a: FindingView, b: FindingView) -> bool:
    la = {(c.page, c.line_start) for c in a.citations}
    return any((c.page, c.line_start) in la for c in b.citations)


def group_project(p: ProjectReview) -> list[Item]:
    """The project's findings (info left out) as items, one per root cause."""
    fs = [f for f in p.findings if f.severity != "info"]
    items: list[Item] = []
    used: set[int] = set()

    def take(f: FindingView) -> None:
        used.add(id(f))

    # 1. a score column that is not scores: one item, the score-based findings under it
    if p.score is not None and p.score.status == "unreviewable":
        root = next((f for f in fs if f.rule_id == "R-TOTAL"), None)
        if root is not None:
            take(root)
            related = [f for f in fs if f.rule_id in _SCORE_BASED and id(f) not in used]
            for f in related:
                take(f)
            items.append(Item("表格无法复核", p.project, root, related, _unreviewable_text(p)))
    # 2. a wrong funds figure and what follows from it (connected through the lines they cite)
    for root_rule in _FUNDS_ROOTS:
        for root in [f for f in fs if f.rule_id == root_rule and f.severity == "error" and id(f) not in used]:
            if id(root) in used:
                continue
            take(root)
            group = [root]
            grew = True
            while grew:
                grew = False
                for f in fs:
                    if id(f) not in used and f.rule_id in _FUNDS and any(_connected(f, g) for g in group):
                        take(f)
                        group.append(f)
                        grew = True
            items.append(Item(_CATEGORY_OF[root_rule], p.project, root, group[1:]))
    # 3. a lost first-level heading: the weights and the category sums are one problem
    wl = next((f for f in fs if f.rule_id == "R-WEIGHT-L1" and id(f) not in used), None)
    if wl is not None:
        take(wl)
        related = [f for f in fs if f.rule_id in ("R-CATEGORY-SUM", "R-WEIGHT-L1") and id(f) not in used]
        for f in related:
            take(f)
        items.append(Item("指标体系不完整", p.project, wl, related))
    # 4. a grade that does not follow the total, and the text repeating either grade
    gr = next((f for f in fs if f.rule_id == "R-GRADE" and id(f) not in used), None)
    if gr is not None:
        take(gr)
        related = [f for f in fs if f.rule_id == "R-NARR-GRADE" and id(f) not in used]
        for f in related:
            take(f)
        items.append(Item("数据不一致", p.project, gr, related))
    # 5. the same statement found twice (two sentences giving the same wrong grade or total): one item
    rest = [f for f in fs if id(f) not in used]
    seen: dict[tuple, Item] = {}
    for f in rest:
        key = (f.rule_id, f.recomputed) if f.rule_id.startswith("R-NARR-") else (id(f),)
        if key in seen:
            seen[key].related.append(f)
            continue
        item = Item(_category(f), p.project, f)
        seen[key] = item
        items.append(item)
    return sorted(items, key=Item.sort_key)


def _category(f: FindingView) -> str:
    if f.rule_id == "R-TOTAL" and f.recomputed == "无法复核":
        return "表格无法复核"
    if f.rule_id == "R-TOTAL":
        from service.checks.numbers import dec

        rep, rec = dec(f.reported), dec(f.recomputed)
        return "自评结果偏高" if rep is not None and rec is not None and rep > rec else "数据不一致"
    cat = _CATEGORY_OF.get(f.rule_id, "数据不一致")
    if cat == "自评结果偏高":
        from service.checks.numbers import dec

        rep, rec = dec(f.reported), dec(f.recomputed)
        if rep is not None and rec is not None and rep < rec:  # scored below the rule: wrong, not inflated
            return "数据不一致"
    return cat


def _score_rows(review: Review) -> list[ScoreRow]:
    rows = []
    for p in review.projects:
        s = p.score
        rep = s.reported_raw if s and s.reported_raw else "—"
        g_rep = p.reported_grade or "—"
        if s is None or s.status == "no_total":
            rows.append(ScoreRow(p.project, rep, "—", "—", g_rep, "—", s.basis_zh() if s else "—"))
        elif s.status == "unreviewable":
            rows.append(ScoreRow(p.project, rep, "无法复核", "—", g_rep, "—", s.basis_zh(), s.reported))
        else:
            change = s.value - s.reported
            rows.append(ScoreRow(p.project, rep, fmt(s.value, None), fmt(change, None) if change else "0", g_rep,
                                 grade_of(s.value), s.basis_zh(), s.reported, s.value))
    return rows


def _title(review: Review) -> tuple[str, str]:
    unit = review.unit_name or "××单位"
    year = f"{review.year}" if review.year else "××"
    return f"关于{unit}{year}年度项目支出绩效自评结果的审核意见", f"{unit}："


def _overall(review: Review, items: list[Item], rows: list[ScoreRow]) -> list[str]:
    n = len(review.projects)
    year = f"{review.year}年度" if review.year else ""
    # a few projects are named, so the opinion says which tables it speaks of; a long list stays in table 三
    named = f"（{'、'.join(p.project for p in review.projects)}）" if 0 < n <= 3 else ""
    scope = [f"项目支出绩效自评表{n}份{named}"] if n else []
    if review.has_summary:
        scope.append("项目自评汇总表")
    if review.has_department:
        scope.append("部门整体自评材料")
    out: list[str] = []
    if review.unread:
        c = review.coverage
        got = f"已读取项目自评表{c.projects}份" if c and c.projects else "未能读取到项目自评表"
        out.append(f"你单位报送的{year}绩效自评材料未能完整读取（{got}），以下意见仅针对已读取的部分；"
                   f"未读取的表格未经复核，不能认定其没有问题。")
    elif scope:
        out.append(f"你单位报送{year}{'、'.join(scope)}，已全部读取并复核。")
    names = {p.project for p in review.projects}
    with_problems = sorted({i.project for i in items if i.project in names})
    ok = [p.project for p in review.projects if p.project not in with_problems]
    if items:
        dept = sum(1 for i in items if i.project not in names)
        line = (f"经审核，{len(with_problems)}个项目存在问题，按问题成因归并共{len(items)}项"
                f"（其中涉及汇总表或部门整体的{dept}项）" if dept else
                f"经审核，{len(with_problems)}个项目存在问题，按问题成因归并共{len(items)}项")
        out.append(line + (f"；{len(ok)}个项目未发现问题。" if ok else "。"))
    elif review.projects and not review.unread:
        out.append("经审核，未发现需要整改的问题。")
    adjusted = [r for r in rows if r.reviewed_value is not None and r.reported_value is not None
                and r.reviewed_value != r.reported_value]
    confirmed = [r for r in rows if r.reviewed_value is not None and r.reviewed_value == r.reported_value]
    unreviewable = [r for r in rows if r.reviewed == "无法复核"]
    if rows:
        parts = []
        if confirmed:
            parts.append(f"{len(confirmed)}个项目自评得分经复核与评分规则相符")
        if adjusted:
            total = sum((r.reported_value - r.reviewed_value for r in adjusted), Decimal(0))
            regraded = sum(1 for r in adjusted if r.reviewed_grade != grade_of(r.reported_value))
            parts.append(f"{len(adjusted)}个项目自评得分偏高，合计调减{fmt(total, None)}分"
                         + (f"，其中{regraded}个项目评价等级相应调整" if regraded else ""))
        if unreviewable:
            parts.append(f"{len(unreviewable)}个项目得分栏填报不规范，无法复核")
        if parts:
            out.append("自评得分方面，" + "；".join(parts) + "。")
    return out


def _appendix(review: Review, categories: list[tuple[str, list[Item]]]) -> list[AppendixRow]:
    unit_of = {id(f): p.unit_id for p in review.projects for f in p.findings}
    rows = []
    for k, (cat, items) in enumerate(categories):
        for j, item in enumerate(items, 1):
            for f in item.findings:
                src = "；".join(f"第{c.page}页第{c.lines}行「{c.quote}」" for c in f.citations[:3])
                rows.append(AppendixRow(f"（{CN_NUM[k]}）{j}", f.project or "—", f.rule_id, f.title_zh, f.severity,
                                        f.variant or "—", unit_of.get(id(f), "—"), src))
    return rows


def build_opinion(review: Review) -> Opinion:
    """The 审核意见 of a review: every section, in the order a department reads them."""
    items: list[Item] = []
    for p in review.projects:
        items += group_project(p)
    for f in review.other_findings:  # summary tables and department level: one item each
        if f.severity != "info":
            items.append(Item(_category(f), f.project, f))
    categories = [(cat, sorted([i for i in items if i.category == cat], key=Item.sort_key))
                  for cat in CATEGORIES]
    categories = [(c, its) for c, its in categories if its]
    rows = _score_rows(review)
    title, addressee = _title(review)
    year = f"{review.year}年度" if review.year else ""
    basis = (f"根据《财政部关于印发〈项目支出绩效评价管理办法〉的通知》（财预〔2020〕10号）和绩效自评表填报说明，"
             f"我们对你单位报送的{year}项目支出绩效自评结果进行了审核，重点复核了预算执行率、预算执行得分、"
             f"绩效指标得分、总分与评价等级，以及自评报告文字与自评表的一致性。现将审核意见通知如下：")
    if categories:
        no_problem = None
    elif review.unread:
        no_problem = NO_FINDINGS_UNREAD
    elif review.projects or review.other_findings:
        no_problem = "无。"
    else:
        no_problem = "该文件中未发现项目支出绩效自评表，未作复核。"
    rect = [f"{_REMEDY[c]}。" for c, _ in categories]
    if review.unread:
        rect.append("对未能读取的自评表，请报送可编辑的电子文件，以便复核。")
    deadline = ("请你单位对上述问题逐项核实整改，并于____年__月__日前将整改情况及更正后的自评表、自评报告报送我单位。"
                if categories or review.unread else "请你单位做好自评结果的归档和公开工作。")
    intro = [f"文件：{review.document}（{review.doc_id[:12]}）",
             f"审核依据：规则库{review.rules_applied}条规则的确定性复核；各项问题对应的规则、评分方案和出处原文见下表。"]
    return Opinion(
        title=title, addressee=addressee, coverage_statement=review.coverage_statement(), basis=basis,
        overall=_overall(review, items, rows), summary=review.summary, categories=categories,
        no_problem_text=no_problem, score_rows=rows, rectification=rect, deadline=deadline,
        signature="××××（审核单位）", date="____年__月__日", appendix_intro=intro,
        appendix=_appendix(review, categories),
        readings=[(p.project, p.read_by, f, a, b) for p in review.projects for f, a, b in p.disagreements],
    )


def item_heading(k: int, category: str, n: int) -> str:
    return f"（{CN_NUM[k]}）{category}（{n}项）"


def item_text(item: Item) -> str:
    """The item as one paragraph: project, what the report says, what it should be, where."""
    head = f"{item.project}：" if item.project else ""
    facts = []
    if item.reported and item.text_override is None:
        facts.append(f"报告所述：{item.reported}")
    if item.expected and item.text_override is None:
        facts.append(f"复核：{item.expected}")
    if item.where:
        facts.append(f"见{item.where}")
    return f"{head}{item.problem}" + (f"（{'；'.join(facts)}）" if facts else "")


def related_text(f: FindingView) -> str:
    where = where_zh(f.citations)
    return f.message_zh + (f"（见{where}）" if where else "")
