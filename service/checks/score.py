"""The score the rules allow: one definition for Q&A, the web page, the API and the review drafts.

A report's total is lowered by every amount a check found it gave itself beyond the rules (an execution
score above weight × rate, full marks for a missed target, a total above the sum of its parts). R-TOTAL
is counted only where no component finding already explains the gap, so nothing is deducted twice.
Findings within rounding (info) change nothing.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from service.models import Finding, ProjectEvaluation

INFLATION_RULES = ("R-EXEC-SCORE", "R-QUANT-POS", "R-QUANT-NEG", "R-QUANT-EQ", "R-QUAL", "R-TOTAL")
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


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


def allowed_total(unit: ProjectEvaluation, findings: Sequence[Finding]) -> Decimal | None:
    """Reported total less what the checks found inflated; None when the report states no total."""
    if unit.reported_total is None or unit.reported_total.value is None:
        return None
    component, total_gap = Decimal(0), Decimal(0)
    for f in inflation_findings(findings):
        gap = _first_number(f.reported) - _first_number(f.recomputed)
        if f.rule_id == "R-TOTAL":
            total_gap = max(total_gap, gap)
        else:
            component += gap
    return unit.reported_total.value - max(component, total_gap)
