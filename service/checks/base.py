"""What every rule function receives and returns: the unit's context (scheme, rate, threshold, the loaded
document when there is one) and a small builder for Findings."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from retrieval.types import LoadedDocument
from service.checks.numbers import D100, rate_interval
from service.checks.scheme import Scheme
from service.models import (
    DepartmentEvaluation,
    Figure,
    Finding,
    ProjectEvaluation,
    ReportUnit,
    Severity,
    SourceRef,
    SummaryTable,
)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
DEFAULT_LOW_EXEC = Decimal(90)
# the form's own threshold, in the wordings seen: Henan "预算执行率低于70%…请说明原因", "执行率未达到90%的需说明原因",
# "低于90%的应说明原因"
_THRESHOLD_TEXT = re.compile(r"(?:预算)?执行率(?:低于|未达到|未达|不足|小于)\s*(\d+(?:\.\d+)?)\s*%"
                             r"|(?:低于|未达到|未达|不足)\s*(\d+(?:\.\d+)?)\s*%[^。；;]{0,12}?(?:需|须|应|请)(?:要)?说明")
DEFAULT_THRESHOLD_SOURCE = "表格未列明阈值，按自评表常用的90%掌握"


@dataclass(frozen=True)
class Rate:
    """Execution rate used by the rules: recomputed when the amounts are printed, else as reported."""

    value: Decimal  # percent
    low: Decimal
    high: Decimal
    recomputed: bool
    refs: tuple[SourceRef, ...]


@dataclass
class UnitContext:
    unit: ProjectEvaluation
    scheme: Scheme
    doc: LoadedDocument | None = None
    span: ReportUnit | None = None
    low_exec_threshold: Decimal = DEFAULT_LOW_EXEC
    threshold_source: str = DEFAULT_THRESHOLD_SOURCE  # shown in the finding: the reader sees which threshold
    threshold_ref: SourceRef | None = None  # the line that states the form's threshold, cited in the finding
    rate: Rate | None = None


@dataclass
class DocContext:
    """Document-wide view for rules that compare units (summary tables, department counts)."""

    doc_id: str
    projects: list[ProjectEvaluation]
    summaries: list[SummaryTable]
    departments: list[DepartmentEvaluation]
    schemes: dict[str, Scheme] = field(default_factory=dict)
    doc: LoadedDocument | None = None
    units: list[ReportUnit] = field(default_factory=list)
    memo: dict = field(default_factory=dict, repr=False, compare=False)  # parsed once per run (document_accounts)


def refs_of(*items) -> list[SourceRef]:
    """SourceRefs of figures/fields/refs, without None and duplicates, in the order given."""
    out: list[SourceRef] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            out.extend(r for r in refs_of(*item) if r not in out)
            continue
        ref = item if isinstance(item, SourceRef) else getattr(item, "ref", None)
        if ref is not None and ref not in out:
            out.append(ref)
    return out


def finding(ctx: UnitContext, rule_id: str, severity: Severity, zh: str, en: str, *,
            reported: str | None = None, recomputed: str | None = None,
            refs: Iterable = (), variant: str | None = None) -> Finding:
    u = ctx.unit
    return Finding(
        rule_id=rule_id, severity=severity, unit_id=u.unit_id, doc_id=u.doc_id, project=u.project,
        message_zh=zh, message_en=en, reported=reported, recomputed=recomputed,
        variant=variant or ctx.scheme.variant, refs=refs_of(list(refs)) or refs_of(u.ref),
    )


def make_finding(rule_id: str, severity: Severity, *, unit_id: str, doc_id: str, project: str | None,
                 zh: str, en: str, variant: str | None, reported: str | None = None,
                 recomputed: str | None = None, refs: Iterable = ()) -> Finding:
    """A Finding for rules that work across units (summary tables, department counts)."""
    return Finding(rule_id=rule_id, severity=severity, unit_id=unit_id, doc_id=doc_id, project=project,
                   message_zh=zh, message_en=en, reported=reported, recomputed=recomputed, variant=variant,
                   refs=refs_of(list(refs)))


def compute_rate(unit: ProjectEvaluation) -> Rate | None:
    f = unit.funds
    budget = f.adjusted_budget if (f.adjusted_budget and f.adjusted_budget.value) else f.initial_budget
    if f.executed is not None and f.executed.value is not None and budget is not None \
            and budget.value is not None and budget.value > 0:
        point, low, high = rate_interval(f.executed, budget)
        return Rate(point, low, high, True, tuple(refs_of(f.executed, budget)))
    if f.reported_rate is not None and f.reported_rate.value is not None:
        v = f.reported_rate.value
        return Rate(v, v, v, False, tuple(refs_of(f.reported_rate)))
    return None


def unit_lines(doc: LoadedDocument | None, span: ReportUnit | None) -> list:
    if doc is None or span is None:
        return []
    out = []
    for line in doc.iter_lines():
        if (line.page, line.line_no) < (span.page_start, span.line_start):
            continue
        if (line.page, line.line_no) > (span.page_end, span.line_end):
            break
        out.append(line)
    return out


def low_exec_threshold(unit: ProjectEvaluation, doc: LoadedDocument | None,
                       span: ReportUnit | None) -> tuple[Decimal, str, SourceRef | None]:
    """The low-execution threshold the form states (Henan: 预算执行率低于70%…请说明原因) and the line stating it,
    else 90% with no line: the finding then says the form states none, so the reader can weigh it."""
    for ln in unit_lines(doc, span):
        m = _THRESHOLD_TEXT.search(ln.text or "")
        if m:
            ref = SourceRef(doc_id=doc.doc_id, page=ln.page, line_start=ln.line_no, line_end=ln.line_no,
                            quote=m.group(0))
            return Decimal(m.group(1) or m.group(2)), f"表格规定：{m.group(0)}", ref
    for tf in (unit.stated_problems, unit.stated_measures, unit.goal_completion):
        m = _THRESHOLD_TEXT.search(tf.text or "") if tf is not None else None
        if m:
            return Decimal(m.group(1) or m.group(2)), f"表格规定：{m.group(0)}", tf.ref
    return DEFAULT_LOW_EXEC, DEFAULT_THRESHOLD_SOURCE, None


def fig_value(fig: Figure | None) -> Decimal | None:
    return None if fig is None else fig.value


def pct_of(score: Decimal, weight: Decimal) -> Decimal:
    return score / weight * D100
