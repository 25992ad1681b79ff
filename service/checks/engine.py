"""run_checks: every rule of the rulebook over one document's extraction, in a deterministic order."""
from __future__ import annotations

from retrieval.types import LoadedDocument
from service.checks.base import SEVERITY_ORDER, DocContext, UnitContext, compute_rate, low_exec_threshold
from service.checks.rulebook import DEPARTMENT_RULES, DOCUMENT_RULES, PROJECT_RULES, RULE_ORDER, SUMMARY_RULES
from service.checks.scheme import Scheme, detect_scheme
from service.models import DepartmentEvaluation, DocumentExtraction, Finding, Funds, ProjectEvaluation


def unit_context(unit: ProjectEvaluation, extraction: DocumentExtraction | None = None,
                 doc: LoadedDocument | None = None, scheme: Scheme | None = None) -> UnitContext:
    """Everything a project rule needs about its unit: the detected scheme, the execution rate, the
    low-execution threshold the form states."""
    peers = extraction.projects if extraction is not None else []
    span = None
    if extraction is not None:
        span = next((u for u in extraction.units if u.unit_id == unit.unit_id), None)
    sch = scheme or detect_scheme(unit, peers)
    thr, src, thr_ref = low_exec_threshold(unit, doc, span)
    return UnitContext(unit=unit, scheme=sch, doc=doc, span=span, low_exec_threshold=thr, threshold_source=src,
                       threshold_ref=thr_ref,
                       rate=compute_rate(unit))


def check_project(unit: ProjectEvaluation, extraction: DocumentExtraction | None = None,
                  doc: LoadedDocument | None = None) -> list[Finding]:
    """All project rules over one unit (rule order, then the rule's own order)."""
    ctx = unit_context(unit, extraction, doc)
    out: list[Finding] = []
    for rule in PROJECT_RULES:
        out.extend(rule.check(ctx))
    return out


def _position(f: Finding) -> tuple:
    r = f.refs[0] if f.refs else None
    return (r.page, r.line_start) if r is not None else (0, 0)


def run_checks(extraction: DocumentExtraction, doc: LoadedDocument | None = None) -> list[Finding]:
    """Findings for one document: project units in document order (each by rule order), then summary
    tables, then department units. Pure and idempotent."""
    schemes = {p.unit_id: detect_scheme(p, extraction.projects) for p in extraction.projects}
    out: list[Finding] = []
    # a 部门整体支出绩效自评表 read as a form has the same arithmetic as a project's: rate, execution score,
    # indicator attainment, totals, grade
    dept_forms = [department_as_project(d) for d in extraction.departments if d.indicators or d.funds is not None]
    for p in dept_forms:
        schemes[p.unit_id] = detect_scheme(p, dept_forms)
    for p in list(extraction.projects) + dept_forms:
        ctx = unit_context(p, extraction, doc, schemes[p.unit_id])
        for rule in PROJECT_RULES:
            out.extend(rule.check(ctx))
    dctx = DocContext(doc_id=extraction.doc_id, projects=extraction.projects, summaries=extraction.summaries,
                      departments=extraction.departments, schemes=schemes, doc=doc, units=extraction.units)
    for table in extraction.summaries:
        for rule in SUMMARY_RULES:
            out.extend(rule.check(table, dctx))
    for dep in extraction.departments:
        for rule in DEPARTMENT_RULES:
            out.extend(rule.check(dep, dctx))
    for rule in DOCUMENT_RULES:  # parts of the document against each other (部门决算 ↔ project tables)
        out.extend(rule.check(dctx))
    return out


def department_as_project(d: DepartmentEvaluation) -> ProjectEvaluation:
    return ProjectEvaluation(
        unit_id=d.unit_id, doc_id=d.doc_id, project=d.department or "部门整体", department=d.department, year=d.year,
        funds=d.funds or Funds(), indicators=d.indicators, reported_total=d.reported_total,
        reported_grade=d.reported_grade, goals=d.goals, goal_completion=d.goal_completion, ref=d.ref, stamp=d.stamp,
    )


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Severity first, then rule order, then position — for display (run_checks keeps document order)."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], RULE_ORDER.get(f.rule_id, 99),
                                           _position(f), f.unit_id))
