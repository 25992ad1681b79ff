"""The reviewed score (复核得分): one definition for Q&A, the web page, the API and the review drafts.

A report's total is lowered by every amount a check found it gave itself beyond the rules (an execution
score above weight × rate, full marks for a missed target, a total above the sum of its parts). R-TOTAL
is counted only where no component finding already explains the gap, so nothing is deducted twice.
Findings within rounding (info) change nothing. A table whose 得分 column holds grades or percentages has
no reviewed score at all: it cannot be reviewed, and no total is made up from its numeric cells.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from service.models import Finding, Indicator, ProjectEvaluation

INFLATION_RULES = ("R-EXEC-SCORE", "R-QUANT-POS", "R-QUANT-NEG", "R-QUANT-EQ", "R-QUAL", "R-TOTAL")
UNREVIEWABLE_ZH = "该表得分栏填报不规范，无法复核，请重新填报。"
_NUM = re.compile(r"-?\d+(?:\.\d+)?")

# what each deduction is called in the 复核说明 (Chinese only: it is printed in the 审核意见)
DEDUCTION_ZH = {
    "R-EXEC-SCORE": "预算执行得分",
    "R-QUANT-POS": "未达成指标得分",
    "R-QUANT-NEG": "超出成本上限指标得分",
    "R-QUANT-EQ": "未达成指标得分",
    "R-QUAL": "定性指标得分",
    "R-TOTAL": "总分",
}

ScoreStatus = Literal["confirmed", "adjusted", "unreviewable", "no_total"]


@dataclass(frozen=True)
class Deduction:
    rule_id: str
    reported: Decimal
    allowed: Decimal
    finding: Finding

    @property
    def amount(self) -> Decimal:
        return self.reported - self.allowed


@dataclass(frozen=True)
class ReviewedScore:
    """The reported total, the reviewed one and how the second was obtained."""

    reported: Decimal | None
    reported_raw: str | None
    value: Decimal | None  # None when no total is stated or the table cannot be reviewed
    status: ScoreStatus
    deductions: tuple[Deduction, ...] = ()
    odd_cells: tuple[str, ...] = ()  # the 得分 cells that are not scores, as printed

    def basis_zh(self) -> str:
        """How the reviewed score was obtained, in words a department reads (no rule ids)."""
        from service.checks.numbers import fmt

        if self.status == "no_total":
            return "自评表未填报总分。"
        if self.status == "unreviewable":
            cells = "、".join(f"“{c}”" for c in dict.fromkeys(self.odd_cells))
            return f"得分栏填有{cells}等非分值内容，{UNREVIEWABLE_ZH}"
        if self.status == "confirmed":
            return "经复核，自评得分与评分规则相符。"
        parts = [f"{DEDUCTION_ZH.get(d.rule_id, '得分')}{fmt(d.reported, None)}分应为{fmt(d.allowed, None)}分"
                 f"（扣{fmt(d.amount, None)}分）" for d in self.deductions]
        return "；".join(parts) + "。"


def unreadable_scores(unit: ProjectEvaluation) -> list[Indicator]:
    """Indicator rows whose 得分 cell holds something other than a score (优, 良, 100%)."""
    return [i for i in unit.indicators if getattr(i, "score_text", None)]


def _first_number(text: str | None) -> Decimal | None:
    if not text:
        return None
    m = _NUM.search(text.replace(",", ""))
    return Decimal(m.group(0)) if m else None


def inflation_findings(findings: Sequence[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        if f.rule_id not in INFLATION_RULES or f.severity == "info":
            continue
        rep, rec = _first_number(f.reported), _first_number(f.recomputed)
        if rep is not None and rec is not None and rep > rec:
            out.append(f)
    return out


def reviewed_score(unit: ProjectEvaluation, findings: Sequence[Finding]) -> ReviewedScore:
    """The reviewed score of one project table and the deductions that make it."""
    rep = unit.reported_total
    value = rep.value if rep is not None else None
    raw = rep.raw if rep is not None else None
    odd = unreadable_scores(unit)
    if odd:
        return ReviewedScore(value, raw, None, "unreviewable", odd_cells=tuple(i.score_text or "" for i in odd))
    if value is None:
        return ReviewedScore(None, raw, None, "no_total")
    component: list[Deduction] = []
    total: Deduction | None = None
    for f in inflation_findings(findings):
        d = Deduction(f.rule_id, _first_number(f.reported), _first_number(f.recomputed), f)
        if f.rule_id == "R-TOTAL":
            total = d if total is None or d.amount > total.amount else total
        else:
            component.append(d)
    comp_sum = sum((d.amount for d in component), Decimal(0))
    if total is not None and total.amount > comp_sum:
        # the total exceeds the sum of its parts by more than the parts were inflated: that gap alone counts
        used: tuple[Deduction, ...] = (total,)
        gap = total.amount
    else:
        used, gap = tuple(component), comp_sum
    if gap == 0:
        return ReviewedScore(value, raw, value, "confirmed")
    return ReviewedScore(value, raw, value - gap, "adjusted", used)


def allowed_total(unit: ProjectEvaluation, findings: Sequence[Finding]) -> Decimal | None:
    """Reported total less what the checks found inflated; None when the report states no total or its score
    column cannot be read as scores."""
    return reviewed_score(unit, findings).value
