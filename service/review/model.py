"""What a review draft (审核意见) says, independent of its format: the project(s), funds and scores as
reported vs recomputed, the findings grouped by severity with their citations, and the report's own stated
problems and measures. Built purely from an extraction and its findings."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from service.checks.base import SEVERITY_ORDER, UnitContext
from service.checks.engine import unit_context
from service.checks.numbers import D0, D100, fmt, fmt_pct, grade_of, raw_or
from service.checks.rulebook import RULE_BY_ID, RULE_ORDER, RULES
from service.checks.scheme import weight_sum
from service.checks.text import category_of
from service.checks.score import ReviewedScore, reviewed_score
from service.checks.totals import recompute_total
from service.models import Coverage, DocumentExtraction, Finding, ProjectEvaluation, SourceRef

SEVERITIES = ("error", "warning", "info")
NO_FINDINGS_UNREAD = "未能复核：文件未被完整读取，不能认定无问题，须人工核对。"
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_EN = {"error": "Errors", "warning": "Warnings", "info": "Info"}


@dataclass(frozen=True)
class Citation:
    document: str
    page: int
    line_start: int
    line_end: int
    quote: str

    @property
    def lines(self) -> str:
        return str(self.line_start) if self.line_start == self.line_end else f"{self.line_start}–{self.line_end}"

    def text_zh(self) -> str:
        return f"《{self.document}》第{self.page}页第{self.lines}行：「{self.quote}」"


@dataclass(frozen=True)
class FindingView:
    rule_id: str
    severity: str
    title_zh: str
    title_en: str
    project: str | None
    message_zh: str
    message_en: str
    reported: str | None
    recomputed: str | None
    variant: str | None
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class FigureRow:
    label_zh: str
    label_en: str
    reported: str
    recomputed: str

    @property
    def differs(self) -> bool:
        if self.recomputed in ("—", "", self.reported):
            return False
        from service.checks.numbers import dec

        a, b = dec(self.reported), dec(self.recomputed)
        if a is not None and b is not None and not any(ch.isalpha() for ch in self.reported + self.recomputed
                                                        if ord(ch) > 0x2E80):
            return a != b
        return True


@dataclass(frozen=True)
class Amounts:
    """The funds and execution figures as numbers (万元, percent), for tables that store numbers."""

    budget: Decimal | None = None
    executed: Decimal | None = None
    reported_rate: Decimal | None = None  # percent, as the report prints it
    rate: Decimal | None = None  # percent, executed ÷ budget; None when the amounts are not printed
    exec_weight: Decimal | None = None
    exec_score: Decimal | None = None  # as reported


@dataclass
class ProjectReview:
    project: str
    unit_id: str
    variant: str
    evidence: str
    figures: list[FigureRow]
    findings: list[FindingView]
    stated_problems: str | None
    stated_measures: str | None
    problems_citation: Citation | None = None
    measures_citation: Citation | None = None
    score: ReviewedScore | None = None  # the reviewed score (复核得分) and how it was obtained
    reported_grade: str | None = None
    amounts: Amounts = field(default_factory=Amounts)
    page: int = 0  # where the project's table starts, for ordering
    line: int = 0
    # who read the record (rules / llm / merged, with the model) and where two readers differ on a value or
    # the model filled one the rules missed: the reviewer decides, the draft does not hide either reading
    read_by: str = "rules"
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)  # (field, rules, model)

    def by_severity(self, sev: str) -> list[FindingView]:
        return [f for f in self.findings if f.severity == sev]

    def counts(self) -> dict[str, int]:
        return {s: len(self.by_severity(s)) for s in SEVERITIES}


@dataclass
class Review:
    document: str
    doc_id: str
    projects: list[ProjectReview]
    other_findings: list[FindingView] = field(default_factory=list)  # summary tables, department level
    rules_applied: int = 0
    summary: str | None = None  # optional LLM prose, kept only when every number checks out
    summary_model: str | None = None
    coverage: Coverage | None = None  # how much of the document was read; unread → never "no findings"
    unit_name: str | None = None  # the reporting unit, only when the document names one unambiguously
    year: int | None = None  # the evaluation year, only when every table that states one agrees
    has_department: bool = False  # a 部门整体 evaluation or 部门决算 is part of the document
    has_summary: bool = False  # a 项目自评汇总表 is part of the document

    @property
    def unread(self) -> bool:
        return self.coverage is not None and self.coverage.unread

    def coverage_statement(self) -> str | None:
        """The sentence every rendering puts first when the document was not (fully) read: the draft must not
        pass for a clean result, and the reviewer must check the tables by hand."""
        if not self.unread:
            return None
        c = self.coverage
        what = "未能读取该文件的绩效自评表" if c.status == "unrecognised" else "该文件的绩效自评表只读取了一部分"
        missing = f"（未读取：{'、'.join(c.missing[:6])}）" if c.missing else ""
        reason = (c.reason_zh or "").strip()
        if reason and not reason.endswith(("。", "；", "！")):
            reason += "。"
        return (f"读取情况：{what}{missing}。{reason}本审核意见未能复核未读取的表格，不能据此认定该文件"
                f"没有问题；表格无法复核的部分须人工核对。")

    def all_findings(self) -> list[FindingView]:
        return [f for p in self.projects for f in p.findings] + list(self.other_findings)

    def counts(self) -> dict[str, int]:
        fs = self.all_findings()
        return {s: sum(1 for f in fs if f.severity == s) for s in SEVERITIES}


def citation(ref: SourceRef, document: str) -> Citation:
    return Citation(document, ref.page, ref.line_start, ref.line_end, ref.quote)


def finding_view(f: Finding, document: str) -> FindingView:
    rule = RULE_BY_ID.get(f.rule_id)
    return FindingView(
        rule_id=f.rule_id, severity=f.severity, title_zh=rule.title_zh if rule else f.rule_id,
        title_en=rule.title_en if rule else f.rule_id, project=f.project, message_zh=f.message_zh,
        message_en=f.message_en, reported=f.reported, recomputed=f.recomputed, variant=f.variant,
        citations=tuple(citation(r, document) for r in f.refs),
    )


def _order(fs: list[Finding]) -> list[Finding]:
    def key(f: Finding):
        r = f.refs[0] if f.refs else None
        return (SEVERITY_ORDER[f.severity], RULE_ORDER.get(f.rule_id, 99), (r.page, r.line_start) if r else (0, 0))
    return sorted(fs, key=key)


def figure_rows(ctx: UnitContext) -> list[FigureRow]:
    """Funds and scores as the report states them next to what the arithmetic gives."""
    u, sch, rate = ctx.unit, ctx.scheme, ctx.rate
    f = u.funds
    rows: list[FigureRow] = []
    budget = f.adjusted_budget or f.initial_budget
    rows.append(FigureRow("全年预算数（万元）", "Budget (万元)", raw_or(budget), "—"))
    rows.append(FigureRow("全年执行数（万元）", "Executed (万元)", raw_or(f.executed), "—"))
    rows.append(FigureRow("预算执行率", "Execution rate", raw_or(f.reported_rate),
                          fmt_pct(rate.value) if rate is not None and rate.recomputed else "—"))
    if sch.exec_weight is not None and rate is not None:
        expected = sch.exec_weight * min(rate.value, D100) / D100
        if sch.exec_source == "funds":
            rep = raw_or(f.exec_score)
        elif sch.exec_source == "indicator":
            scores = [i.score for i in u.indicators if category_of(i) == "预算执行" and i.score is not None]
            rep = fmt(sum(scores, D0), None) if scores else "—"
        else:
            rep = "（隐含于总分 implicit）"
        rows.append(FigureRow(f"预算执行得分（分值{fmt(sch.exec_weight, None)}）",
                              f"Execution score (weight {fmt(sch.exec_weight, None)})", rep, fmt(expected)))
    ws = weight_sum(u)
    if ws is not None:
        expect_w = sch.indicator_weight_total
        rows.append(FigureRow("指标分值合计", "Σ indicator weights", fmt(ws, None),
                              fmt(expect_w, None) if expect_w is not None else "—"))
    tot = recompute_total(ctx)
    rows.append(FigureRow("总分", "Total", raw_or(u.reported_total), fmt(tot[0]) if tot else "—"))
    g_rec = grade_of(u.reported_total.value) if u.reported_total is not None and u.reported_total.value is not None else "—"
    rows.append(FigureRow("评价等级", "Grade", u.reported_grade.text if u.reported_grade else "—", g_rec))
    return rows


def _project_review(p: ProjectEvaluation, findings: list[Finding], extraction: DocumentExtraction,
                    document: str) -> ProjectReview:
    ctx = unit_context(p, extraction)
    figures = figure_rows(ctx)
    score = reviewed_score(p, findings)
    if score.value is not None:
        figures.append(FigureRow("复核得分", "Reviewed score", raw_or(p.reported_total), fmt(score.value)))
    elif score.status == "unreviewable":
        figures.append(FigureRow("复核得分", "Reviewed score", raw_or(p.reported_total), "无法复核"))
    f = p.funds
    budget = f.adjusted_budget if (f.adjusted_budget and f.adjusted_budget.value) else f.initial_budget
    amounts = Amounts(
        budget=budget.value if budget else None, executed=f.executed.value if f.executed else None,
        reported_rate=f.reported_rate.value if f.reported_rate else None,
        rate=ctx.rate.value if ctx.rate is not None and ctx.rate.recomputed else None,
        exec_weight=ctx.scheme.exec_weight, exec_score=f.exec_score.value if f.exec_score else None)
    return ProjectReview(
        project=p.project, unit_id=p.unit_id, variant=ctx.scheme.variant, evidence=ctx.scheme.evidence,
        figures=figures, findings=[finding_view(f, document) for f in _order(findings)],
        stated_problems=p.stated_problems.text if p.stated_problems else None,
        stated_measures=p.stated_measures.text if p.stated_measures else None,
        problems_citation=citation(p.stated_problems.ref, document) if p.stated_problems and p.stated_problems.ref else None,
        measures_citation=citation(p.stated_measures.ref, document) if p.stated_measures and p.stated_measures.ref else None,
        score=score, reported_grade=p.reported_grade.text if p.reported_grade else None, amounts=amounts,
        page=p.ref.page if p.ref else 0, line=p.ref.line_start if p.ref else 0,
        read_by=p.stamp.backend + (f" ({p.stamp.model})" if p.stamp.model and p.stamp.backend != "rules" else ""),
        disagreements=disagreement_rows(p.stamp.disagreements),
    )


def _one(values) -> object | None:
    """The value when all given (non-empty) values agree, else None: a title never guesses between two."""
    vals = {v for v in values if v}
    return vals.pop() if len(vals) == 1 else None


def unit_and_year(extraction: DocumentExtraction) -> tuple[str | None, int | None]:
    """The reporting unit and year the document states, or None where it states none or several."""
    name = _one(d.department for d in extraction.departments)
    if name is None and extraction.projects and all(p.department for p in extraction.projects):
        # only when every project table names the same department; a document of several sections (003:
        # 组织处, 人事处 …) leaves the addressee to the reviewer
        name = _one(p.department for p in extraction.projects)
    year = _one([p.year for p in extraction.projects] + [d.year for d in extraction.departments])
    return name, year


def disagreement_rows(items: list[dict]) -> list[tuple[str, str, str]]:
    """(field, the rules' value, the model's value) per stamp disagreement; a field only the model read
    shows the rules' side as 未读出."""
    rows = []
    for d in items:
        if d.get("kind") == "rules_missing":
            rows.append((str(d.get("field")), "未读出 not read", "已补读 " + str(d.get("llm") or "filled")))
        else:
            # two parts of one cut unit that read a value differently name their sides part_a / part_b
            rows.append((str(d.get("field")), str(d.get("rules", d.get("part_a", "—"))),
                         str(d.get("llm", d.get("part_b", "—")))))
    return rows


def build_review(extraction: DocumentExtraction, findings: list[Finding], *, document: str,
                 project: str | None = None, coverage: Coverage | None = None) -> Review:
    """The review of one document (or of one project of it, when `project` names one). `coverage` (the
    reader's verdict) is carried so that an unread document is said to be unread in every rendering."""
    from service.checks.text import match_names

    projects = list(extraction.projects)
    if project is not None:
        idx, how = match_names(project, [p.project for p in projects])
        if how not in ("exact", "loose") or len(idx) != 1:
            # also accept a unit id
            idx = [k for k, p in enumerate(projects) if p.unit_id == project]
        projects = [projects[k] for k in idx]
    unit_ids = {p.unit_id for p in projects}
    names = {p.project for p in projects}
    per_unit: dict[str, list[Finding]] = {u: [] for u in unit_ids}
    other: list[Finding] = []
    for f in findings:
        if f.unit_id in per_unit:
            per_unit[f.unit_id].append(f)
        elif project is None or f.project in names:
            other.append(f)
    return Review(
        document=document, doc_id=extraction.doc_id,
        projects=[_project_review(p, per_unit[p.unit_id], extraction, document) for p in projects],
        other_findings=[finding_view(f, document) for f in _order(other)],
        rules_applied=sum(1 for r in RULES if r.check is not None),
        coverage=coverage if coverage is not None else extraction.coverage,
        unit_name=unit_and_year(extraction)[0], year=unit_and_year(extraction)[1],
        has_department=bool(extraction.departments), has_summary=bool(extraction.summaries),
    )


def allowed_numbers(review: Review) -> set[Decimal]:
    """Every number a prose summary may use: those in the findings and in the reported/recomputed rows."""
    from service.review.llm_summary import numbers_in

    texts: list[str] = []
    for p in review.projects:
        for r in p.figures:
            texts += [r.reported, r.recomputed]
    for f in review.all_findings():
        texts += [f.message_zh, f.message_en, f.reported or "", f.recomputed or ""]
    out: set[Decimal] = set()
    for t in texts:
        out |= numbers_in(t)
    out |= {Decimal(len(review.projects))} | {Decimal(n) for n in review.counts().values()}
    return out
