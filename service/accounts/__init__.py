"""部门决算 (departmental final accounts): the public tables 公开01–09, the statements of 第三部分 情况说明 and
the department-level performance statements, parsed with provenance and checked (pure; no I/O).

Entry points for the pipeline:
    extract_accounts(doc, unit_id=None) -> AccountsExtraction | None   (None: not a 部门决算)
    check_accounts(accounts, doc=None) -> (list[CheckResult], list[Finding])
and for Q&A: answer_accounts_question(question, accounts) -> AccountsAnswer | None.
"""
from __future__ import annotations

import re

from retrieval.types import LoadedDocument
from service.accounts.checks import run_checks, to_findings
from service.accounts.dept import parse_dept
from service.accounts.models import (
    AccountsColumn, AccountsExtraction, AccountsRow, AccountsTable, AccountsValue, CheckResult, DeptPerformance,
    DeptStatement, NarrativeItem, ScoreRow, SummaryProjectRow,
)
from service.accounts.narrative import parse_narrative, part3_lines
from service.accounts.qa import AccountsAnswer, answer_accounts_question
from service.accounts.tables import parse_tables
from service.models import Finding, SourceRef

__all__ = [
    "AccountsAnswer", "AccountsColumn", "AccountsExtraction", "AccountsRow", "AccountsTable", "AccountsValue",
    "CheckResult", "DeptPerformance", "DeptStatement", "NarrativeItem", "ScoreRow", "SummaryProjectRow",
    "answer_accounts_question", "check_accounts", "extract_accounts", "is_accounts",
]


def _is_text(ln) -> bool:
    """A line of text, or a one-cell row (a spreadsheet's or a Word table's title and note lines)."""
    return ln.kind == "text" or len([c for c in (ln.cells or []) if c.strip()]) == 1


def is_accounts(tables: list[AccountsTable], doc: LoadedDocument) -> bool:
    """A 部门决算 from content: two or more public tables found, or one plus a 部门决算 title."""
    if len(tables) >= 2:
        return True
    if len(tables) == 1:
        return any("部门决算" in ln.text for ln in doc.iter_lines() if _is_text(ln))
    return False


def _department_and_year(doc: LoadedDocument) -> tuple[str | None, int | None, SourceRef | None]:
    dept = year = ref = None
    for ln in doc.iter_lines():
        if not _is_text(ln):
            continue
        if dept is None:
            m = re.match(r"^(?:部门|单位|编制部门|填报单位)[:：]\s*(.+)$", ln.text)
            if m and len(m.group(1)) <= 40:
                dept = m.group(1).strip()
        if ref is None and "部门决算" in ln.text and len(ln.text) <= 60:
            ref = SourceRef(doc_id=doc.doc_id, page=ln.page, line_start=ln.line_no, line_end=ln.line_no,
                            quote=ln.text)
            m = re.search(r"(20\d\d)\s*年度?", ln.text)
            if m:
                year = int(m.group(1))
            m = re.match(r"^(?:20\d\d年度?)?(.+?)(?:20\d\d年度?)?部门决算$", ln.text)
            if m and dept is None and m.group(1):
                dept = m.group(1)
        if dept and ref and year:
            break
    if year is None:
        for ln in list(doc.iter_lines())[:20]:
            m = re.search(r"(20\d\d)\s*年度", ln.text)
            if m:
                year = int(m.group(1))
                break
    return dept, year, ref


def extract_accounts(doc: LoadedDocument, unit_id: str | None = None) -> AccountsExtraction | None:
    """Parse a 部门决算 document, or return None when the document is not one."""
    tables = parse_tables(doc)
    if not is_accounts(tables, doc):
        return None
    dept, year, ref = _department_and_year(doc)
    last_row = max(((r.ref.page, r.ref.line_start) for t in tables for r in t.rows), default=None)
    narrative, _ = parse_narrative(doc, part3_lines(doc, after=last_row))
    return AccountsExtraction(doc_id=doc.doc_id, unit_id=unit_id or f"{doc.doc_id[:12]}-accounts",
                              department=dept, year=year, unit=tables[0].unit if tables else "万元",
                              tables=tables, narrative=narrative, dept=parse_dept(doc), ref=ref)


def check_accounts(accounts: AccountsExtraction, doc: LoadedDocument | None = None
                   ) -> tuple[list[CheckResult], list[Finding]]:
    """Every identity and statement checked (passing ones too), and the Findings for those that do not
    hold exactly: error beyond rounding, info within rounding. `doc` is accepted for the pipeline's
    calling convention; the extraction carries everything the checks need."""
    results = run_checks(accounts)
    return results, to_findings(accounts, results)
