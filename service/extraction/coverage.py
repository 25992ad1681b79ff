"""The coverage verdict (pure): how much of a document the reader understood.

A document the product cannot read must never pass for a clean one. The verdict compares what the text
*says* it is (its self-evaluation and accounts vocabulary, how many forms its labels announce) with what the
reader produced (projects, department forms, indicator rows, required fields):

  unrecognised    the vocabulary says self-evaluation (or 部门决算) but nothing was read;
  partial         forms were read, but fewer than the document announces, or required fields / indicator
                  rows are missing;
  read            every announced form was read with its required fields;
  not_applicable  no such vocabulary: a letter, a policy text — nothing to read, nothing claimed.
"""
from __future__ import annotations

from collections.abc import Iterable

from retrieval.types import Line, LoadedDocument
from service.extraction.vocabulary import (
    ACCOUNTS_TERMS,
    FORM_ANNOUNCE,
    FORM_ANNOUNCE_LABELS,
    SELF_EVAL_TERMS,
    TOTAL_SCORE_LABELS,
    classify_header,
    label_in,
)
from service.models import Coverage, DepartmentEvaluation, DocumentExtraction, ProjectEvaluation, ReportUnit

# How many distinct self-evaluation terms make a document "look like" one. A single 得分 or 绩效 appears in
# any government text; four distinct form words (一级指标, 年度指标值, 全年执行数, 自评得分 …) do not.
LOOKS_LIKE_MIN_TERMS = 4
ACCOUNTS_MIN_TERMS = 3


def vocabulary_hits(texts: Iterable[str], terms: tuple[str, ...]) -> list[str]:
    seen: list[str] = []
    blob = "\n".join(texts)
    for term in terms:
        if term in blob:
            seen.append(term)
    return seen


def announced_forms(lines: list[Line]) -> int:
    """How many project/department forms the document's labels announce: a `项目名称：X` line, or a row whose
    项目名称 / 部门(单位)名称 cell is a label (followed by its value), not a column header of a list such as a
    项目自评汇总表 (序号 | 项目名称 | 全年预算数 | …)."""
    n = 0

    def header_word(ln: Line) -> bool:
        t = (ln.cells[0] if ln.kind == "row" and ln.cells and len(ln.cells) == 1 else ln.text).strip()
        return classify_header(t).field is not None

    def list_header_run(k: int) -> bool:
        # the same header copied one cell per line: a bare label followed by column headers, not by a value
        return lines[k].text.strip() in FORM_ANNOUNCE_LABELS and sum(header_word(x) for x in lines[k + 1:k + 4]) >= 2

    for k, ln in enumerate(lines):
        if ln.kind == "row" and ln.cells:
            if not any(label_in(c, FORM_ANNOUNCE_LABELS) for c in ln.cells):
                continue
            if sum(1 for c in ln.cells if classify_header(c).field is not None) >= 3:
                continue  # a list's column header
            if len(ln.cells) == 1 and list_header_run(k):
                continue
            n += 1
        elif FORM_ANNOUNCE.match(ln.text) and not list_header_run(k):
            n += 1
    return n


def _unit_lines(doc: LoadedDocument, unit: ReportUnit | None) -> list[Line]:
    if unit is None:
        return []
    return [ln for ln in doc.iter_lines()
            if (unit.page_start, unit.line_start) <= (ln.page, ln.line_no) <= (unit.page_end, unit.line_end)]


def _fields_shown(lines: list[Line]) -> set[str]:
    """Which form fields the lines print as headers or labels: row cells and short label lines. A field the
    form does not print (a narrative report with no funds table) is absent, not unread."""
    shown: set[str] = set()
    for ln in lines:
        cells = ln.cells if ln.kind == "row" and ln.cells else ([ln.text] if len(ln.text) <= 16 else [])
        for c in cells:
            field = classify_header(c).field
            if field:
                shown.add(field)
            if label_in(c, TOTAL_SCORE_LABELS):
                shown.add("total")
    return shown


def _project_missing(p: ProjectEvaluation, shown: set[str]) -> list[str]:
    f = p.funds
    missing = []
    if shown & {"adjusted_budget", "initial_budget"} and f.adjusted_budget is None and f.initial_budget is None:
        missing.append("预算数")
    if "executed" in shown and f.executed is None:
        missing.append("执行数")
    if shown & {"level3", "target", "actual"} and not p.indicators:
        missing.append("绩效指标")
    if "total" in shown and p.reported_total is None:
        missing.append("总分")
    return missing


def _department_missing(d: DepartmentEvaluation, shown: set[str]) -> list[str]:
    missing = []
    if d.funds is not None and "executed" in shown and d.funds.executed is None:
        missing.append("执行数")
    if shown & {"level3", "target", "actual"} and not d.indicators and not d.score_rows:
        missing.append("绩效指标")
    return missing


def unit_gaps(doc: LoadedDocument, extraction: DocumentExtraction) -> dict[str, list[str]]:
    """unit_id -> the required fields its form prints but its record lacks (the `missing` of the verdict,
    keyed by unit so a second reader can be sent to exactly those units)."""
    units = {u.unit_id: u for u in extraction.units}
    out: dict[str, list[str]] = {}
    for p in extraction.projects:
        missing = _project_missing(p, _fields_shown(_unit_lines(doc, units.get(p.unit_id))))
        if missing:
            out.setdefault(p.unit_id, []).extend(missing)
    for d in extraction.departments:
        if not (d.indicators or d.funds is not None or d.score_rows):
            continue
        missing = _department_missing(d, _fields_shown(_unit_lines(doc, units.get(d.unit_id))))
        if missing:
            out.setdefault(d.unit_id, []).extend(missing)
    return out


def assess_coverage(doc: LoadedDocument, extraction: DocumentExtraction, *, accounts_tables: int = 0) -> Coverage:
    all_lines = list(doc.iter_lines())
    texts = [ln.text for ln in all_lines]
    vocab = vocabulary_hits(texts, SELF_EVAL_TERMS)
    acc_vocab = vocabulary_hits(texts, ACCOUNTS_TERMS)
    projects = extraction.projects
    # a department record is a read form only when it carries a form's content (not just prose counts)
    dept_forms = [d for d in extraction.departments if d.indicators or d.funds is not None or d.score_rows]
    rows = sum(len(p.indicators) for p in projects) + sum(len(d.indicators) for d in dept_forms)
    forms: list[str] = []
    if projects:
        forms.append(f"项目支出绩效自评 ×{len(projects)}")
    if dept_forms:
        forms.append(f"部门整体绩效自评 ×{len(dept_forms)}")
    if extraction.summaries:
        forms.append(f"项目自评汇总表 ×{len(extraction.summaries)}")
    if accounts_tables:
        forms.append(f"部门决算公开表 ×{accounts_tables}")

    units = {u.unit_id: u for u in extraction.units}
    missing: list[str] = []
    for p in projects:
        shown = _fields_shown(_unit_lines(doc, units.get(p.unit_id)))
        missing.extend(f"{p.project}: {m}" for m in _project_missing(p, shown))
    for d in dept_forms:
        shown = _fields_shown(_unit_lines(doc, units.get(d.unit_id)))
        missing.extend(f"{d.department or '部门整体'}: {m}" for m in _department_missing(d, shown))

    looks_self_eval = len(vocab) >= LOOKS_LIKE_MIN_TERMS
    looks_accounts = len(acc_vocab) >= ACCOUNTS_MIN_TERMS
    read_any = bool(projects or dept_forms or accounts_tables)
    announced = announced_forms(all_lines)
    base = dict(forms=forms, projects=len(projects), departments=len(dept_forms), indicator_rows=rows,
                missing=missing, vocabulary=vocab + [t for t in acc_vocab if t not in vocab])

    if not read_any:
        if looks_self_eval or looks_accounts:
            what = "绩效自评表" if looks_self_eval else "部门决算表"
            terms = "、".join((vocab if looks_self_eval else acc_vocab)[:6])
            return Coverage(
                status="unrecognised",
                reason_zh=f"文件含{what}用语（{terms}），但未能识别出任何表格内容：须人工核对，不能视为无问题",
                reason_en=f"the text uses {'self-evaluation' if looks_self_eval else 'final-accounts'} form "
                          f"vocabulary ({terms}) but no form could be read: check it by hand; it is not clean",
                **base)
        return Coverage(status="not_applicable", reason_zh="文件中没有绩效自评表或部门决算表的用语",
                        reason_en="no self-evaluation or final-accounts vocabulary in the text", **base)

    problems_zh: list[str] = []
    problems_en: list[str] = []
    read_forms = len(projects) + len(dept_forms)
    if announced > read_forms and looks_self_eval:
        problems_zh.append(f"文件标明{announced}张表，只读出{read_forms}张")
        problems_en.append(f"the document announces {announced} forms, {read_forms} were read")
    if missing:
        problems_zh.append(f"{len(missing)}项必填内容未读出（{'；'.join(missing[:4])}{'…' if len(missing) > 4 else ''}）")
        problems_en.append(f"{len(missing)} required fields not read")
    if problems_zh:
        return Coverage(status="partial", reason_zh="部分读出：" + "；".join(problems_zh) + "。须人工核对未读部分",
                        reason_en="partly read: " + "; ".join(problems_en) + "; check the unread parts by hand",
                        **base)
    return Coverage(status="read", reason_zh="已读出：" + "，".join(forms),
                    reason_en="read: " + ", ".join(forms), **base)


__all__ = ["assess_coverage", "unit_gaps", "announced_forms", "vocabulary_hits", "LOOKS_LIKE_MIN_TERMS"]
