"""The deterministic extractor (pure): a loaded document in, every record it supports out.

Steps: cut the document into units (retrieval.segment); read each project unit with the parser of the
layout its content shows (never its file name); fold a project's prose-only units (seed 003 states each
project's total, grade and amounts in an office section far from its table) into the record of its table;
attach amounts listed against project names in an office section's prose, only when the name is
unambiguous; read summary tables and link their rows to projects by name; gather department-level
statements: the 部门整体绩效自评 with the counts the same department states in its 决算 and 总结报告
(`自评结果13个为优`), or, in a report made of office sections, one record per office (`人事处一共有4个评价项目,
评价等级全部为优`). Each project record is stamped with backend `rules`, its layout and the settings hash.
"""
from __future__ import annotations

import re
from decimal import Decimal

from retrieval.segment import Span, flat_lines, section_headings, segment_with_plan, strip_numbering
from retrieval.types import Line, LoadedDocument
from service.extraction import form_reader
# modules named after what they read; the layout ids ("henan", "hebei", "zhongyuan") stay as they are
# because they are stored in every record's stamp and in the gold files
from service.extraction.layouts import flattened_table_text as henan
from service.extraction.layouts import narrative
from service.extraction.layouts import report_with_annex_table as zhongyuan
from service.extraction.layouts import tab_cell_form as hebei
from service.extraction.names import light_key, link_names, match_name
from service.extraction.prose import claims_in, prose_stream
from service.extraction.spans import lines_ref
from service.extraction.statements import SECTION_GRADE, dedupe_counts, stated_counts
from service.extraction.targets import NUMBER_RE
from service.models import (
    DepartmentEvaluation,
    DocumentExtraction,
    ExtractionStamp,
    NarrativeClaim,
    ProjectEvaluation,
    ReportUnit,
    SourceRef,
    SummaryTable,
    TextField,
)

_LISTED_AMOUNT = re.compile(rf"(?P<num>{NUMBER_RE})\s*(?P<unit>万元|元)")
_MENTION_STOP = re.compile(r"[,,;;。:(\)“”]")


def detect_layout(lines: list[Line], span: Span) -> str | None:
    """Which parser reads this project unit, from what the lines contain."""
    if span.layout == form_reader.LAYOUT:
        return form_reader.LAYOUT
    if henan.is_henan(lines):
        return henan.LAYOUT
    if zhongyuan.is_zhongyuan(lines):
        return zhongyuan.LAYOUT
    if hebei.is_hebei(lines):
        return hebei.LAYOUT
    if span.layout == "narrative":
        return narrative.LAYOUT
    return None  # prose about a project whose table is elsewhere


def extract_rules(doc: LoadedDocument, settings_hash: str | None = None) -> DocumentExtraction:
    doc_id = doc.doc_id
    lines = flat_lines(doc)
    planned = segment_with_plan(doc)
    units = [u for u, _ in planned]

    records: list[ProjectEvaluation] = []
    partial: list[tuple[str, list[NarrativeClaim], str, int]] = []  # prose-only units: project, claims, heading, start
    # claims are ordered by where they are said (unit start, then order within the unit): citations may
    # land on either line of a wrapped phrase, so their line numbers do not order them the same in every
    # rendering
    order: dict[int, tuple[int, int]] = {}

    def place(claims: list[NarrativeClaim], start: int) -> None:
        for k, c in enumerate(claims):
            order.setdefault(id(c), (start, k))

    form_departments: list[DepartmentEvaluation] = []
    for unit, span in planned:
        if unit.kind == "department" and span.layout == form_reader.LAYOUT:
            ul = lines[span.start : span.end]
            form = form_reader.read_form(doc_id, ul)
            if form.empty:
                continue
            form_departments.append(form_reader.to_department(doc_id, unit.unit_id, ul, form, settings_hash))
            continue
        if unit.kind != "project":
            continue
        ul = lines[span.start : span.end]
        layout = detect_layout(ul, span)
        rec: ProjectEvaluation | None
        if layout == form_reader.LAYOUT:
            form = form_reader.read_form(doc_id, ul)
            if form.empty:
                continue  # a title with nothing readable under it: the coverage verdict says so
            rec = form_reader.to_project(doc_id, unit.unit_id, ul, form, unit.project, settings_hash)
        elif layout == henan.LAYOUT:
            rec = henan.parse(doc_id, unit.unit_id, ul)
        elif layout == zhongyuan.LAYOUT:
            rec = zhongyuan.parse(doc_id, unit.unit_id, ul)
        elif layout == hebei.LAYOUT:
            rec = hebei.parse(doc_id, unit.unit_id, ul)
            prose = [l for l in ul if l.kind == "text"]
            if prose:
                rec.narrative_claims.extend(claims_in(prose_stream(doc_id, prose)))
        elif layout == narrative.LAYOUT:
            rec = narrative.parse(doc_id, unit.unit_id, ul, unit.project or "")
        else:
            heading = ul[0].text if ul else ""
            partial.append((unit.project or "", claims_in(prose_stream(doc_id, ul)), heading, span.start))
            continue
        place(rec.narrative_claims, span.start)
        rec.ref = _span_ref(doc_id, ul)
        rec.stamp = ExtractionStamp(backend="rules", layout=layout, settings_hash=settings_hash)
        if not rec.project and unit.project:
            rec.project = unit.project
        records.append(rec)

    by_name: dict[str, ProjectEvaluation] = {}
    for rec in records:
        by_name.setdefault(rec.project, rec)
    for project, claims, heading, start in partial:
        rec = by_name.get(project)
        if rec is None:
            continue
        place(claims, start)
        rec.narrative_claims.extend(claims)
        spelling = _heading_name(heading)
        if spelling and spelling != rec.project and spelling not in rec.aliases:
            rec.aliases.append(spelling)

    names = [r.project for r in records]
    sections = section_headings(lines) if any(r.stamp.layout == hebei.LAYOUT for r in records) else []
    section_amounts: dict[int, list[NarrativeClaim]] = {}
    if sections:
        # amounts listed against project names inside an office section (`老干部专项资金15万元,…`); the
        # opening list before the first section gives 年初 arrangements under other names and is left alone
        for unit, span in planned:
            if unit.kind == "other" and span.start >= sections[0][0]:
                listed = _listed_amounts(doc_id, lines[span.start : span.end], names)
                place([c for _, c in listed], span.start)
                for project, claim in listed:
                    by_name[project].narrative_claims.append(claim)
                section_amounts.setdefault(span.start, []).extend(c.model_copy() for _, c in listed)

    summaries = _summaries(doc_id, planned, lines, records)
    for unit, span in planned:
        if unit.kind == "summary":
            for project, claim in _deviation_claims(doc_id, lines[span.start : span.end], names):
                place([claim], span.start)
                by_name[project].narrative_claims.append(claim)
    departments = _departments(doc_id, [(u, s) for u, s in planned if s.layout != form_reader.LAYOUT], lines)
    departments += form_departments
    departments += _section_departments(doc_id, planned, lines, sections, section_amounts)

    for rec in records:
        rec.narrative_claims.sort(key=lambda c: order.get(id(c), (len(lines), 0)))
    return DocumentExtraction(doc_id=doc_id, units=units, projects=records, summaries=summaries,
                              departments=departments)


def _span_ref(doc_id: str, ul: list[Line]) -> SourceRef | None:
    """The unit's span as far as one citation can hold it: its first page, quoting its first line."""
    if not ul:
        return None
    first = ul[0]
    last = max((l for l in ul if l.page == first.page), key=lambda l: l.line_no)
    return SourceRef(doc_id=doc_id, page=first.page, line_start=first.line_no, line_end=last.line_no,
                     quote=first.text.strip())


def _heading_name(heading: str) -> str:
    return strip_numbering(heading).rstrip("。.")


def _listed_amounts(doc_id: str, ul: list[Line], names: list[str]) -> list[tuple[str, NarrativeClaim]]:
    """`老干部专项资金15万元,劳务派遣人员专项资金439万元,…`: an amount right after a project's name is
    that project's budget. The name is the text back to the previous punctuation or amount, or one or two
    more `、`-separated pieces when the name itself contains `、`; kept only when it names one project."""
    ps = prose_stream(doc_id, ul)
    text = ps.text
    out: list[tuple[str, NarrativeClaim]] = []
    prev_end = 0
    for m in _LISTED_AMOUNT.finditer(text):
        start = m.start()
        k = start
        while k > prev_end and not _MENTION_STOP.match(text[k - 1]):
            k -= 1
        mention = text[k:start]
        prev_end = m.end()
        pieces = mention.split("、")
        hit = None
        for n in range(1, min(3, len(pieces)) + 1):
            cand = "、".join(pieces[-n:])
            if len(cand) < 4:
                continue
            hit = match_name(cand, names)
            if hit:
                q0 = start - len(cand)
                break
        if not hit:
            continue
        out.append((hit, NarrativeClaim(
            kind="budget_amount", value=Decimal(m.group("num").replace(",", "")), text=text[q0 : m.end()],
            unit=m.group("unit"), ref=ps.ref(q0, m.end()),
        )))
    return out


def _summaries(doc_id: str, planned: list[tuple[ReportUnit, Span]], lines: list[Line],
               records: list[ProjectEvaluation]) -> list[SummaryTable]:
    out: list[SummaryTable] = []
    names = [r.project for r in records]
    for unit, span in planned:
        if unit.kind != "summary":
            continue
        table = zhongyuan.parse_summary(doc_id, unit.unit_id, lines[span.start : span.end])
        if table is None:
            continue
        links = link_names([row.project for row in table.rows], names)
        by_name = {r.project: r for r in records}
        for row in table.rows:
            row.linked_project = links.get(row.project)
            rec = by_name.get(row.linked_project or "")
            if rec and row.project != rec.project and row.project not in rec.aliases:
                rec.aliases.append(row.project)
        out.append(table)
    return out


_PERF_SECTION = re.compile(r"预算绩效情况说明$")
_DEVIATION = re.compile(rf"偏离度\s*(?P<num>{NUMBER_RE})\s*%")


def _departments(doc_id: str, planned: list[tuple[ReportUnit, Span]], lines: list[Line]) -> list[DepartmentEvaluation]:
    """One record for a 部门整体绩效自评, with the counts and amounts the same department states in its
    决算 (预算绩效情况说明) and in the 项目自评总结报告."""
    dept_units = [(u, s) for u, s in planned if u.kind == "department"]
    if not dept_units:
        return []
    unit, span = dept_units[0]
    dept = zhongyuan.parse_department(doc_id, unit.unit_id, lines[span.start : span.end])
    counts, amounts = [], []
    for u, s in planned:
        ul = lines[s.start : s.end]
        if u.kind == "accounts":
            heads = [i for i, l in enumerate(ul) if l.kind == "text" and _PERF_SECTION.search(l.text)]
            ul = ul[heads[-1] + 1 :] if heads else []
        elif u.kind != "summary":
            continue
        c, a, total = zhongyuan.department_statements(doc_id, ul)
        counts.extend(c)
        amounts.extend(a)
        if dept.reported_total is None and total is not None:
            dept.reported_total = total
    dept.stated_counts = dedupe_counts(counts + dept.stated_counts)
    dept.stated_amounts = amounts + dept.stated_amounts
    for u, s in dept_units[1:]:
        more = zhongyuan.parse_department(doc_id, u.unit_id, lines[s.start : s.end])
        dept.stated_counts = dedupe_counts(dept.stated_counts + more.stated_counts)
        dept.stated_amounts.extend(more.stated_amounts)
        dept.score_rows.extend(more.score_rows)
    return [dept]


def _section_departments(doc_id: str, planned: list[tuple[ReportUnit, Span]], lines: list[Line],
                         sections: list[tuple[int, str]], listed: dict[int, list[NarrativeClaim]]
                         ) -> list[DepartmentEvaluation]:
    """A report made of office sections (seed 003): each office's section is a department-level record with
    its stated counts (`一共有4个评价项目,评价等级全部为优,评优率100%`), its overall grade
    (`整体绩效评价为优`), the amounts it states for several projects, and the projects whose tables follow."""
    out: list[DepartmentEvaluation] = []
    bounds = [i for i, _ in sections] + [len(lines)]
    for (start, name), end in zip(sections, bounds[1:]):
        inside = [(u, s) for u, s in planned if start <= s.start < end or s.start <= start < s.end]
        if not inside:
            continue
        prose = [l for l in lines[start:end] if l.kind == "text"]
        ps = prose_stream(doc_id, prose)
        grade = None
        if (g := SECTION_GRADE.search(ps.text)):
            grade = TextField(text=g.group("grade"), ref=ps.ref(g.start(), g.end()))
        amounts: list[NarrativeClaim] = []
        for u, s in inside:
            if u.kind == "other":
                amounts.extend(c for c in claims_in(prose_stream(doc_id, lines[max(s.start, start) : s.end]))
                               if c.kind not in {"total_score", "grade"})
                amounts.extend(listed.get(s.start, []))
        projects = []
        for u, s in inside:
            if u.kind == "project" and u.project and hebei.is_hebei(lines[s.start : s.end]) and u.project not in projects:
                projects.append(u.project)
        first = inside[0][0]
        out.append(DepartmentEvaluation(
            unit_id=first.unit_id, doc_id=doc_id, department=name, reported_grade=grade,
            stated_counts=dedupe_counts(stated_counts(ps)), stated_amounts=amounts, projects=projects,
            ref=lines_ref(doc_id, [lines[start]]),
        ))
    return out


def _deviation_claims(doc_id: str, ul: list[Line], names: list[str]) -> list[tuple[str, NarrativeClaim]]:
    """`城乡医疗救助项目年初数量指标设置为…偏离度27.83%` in a summary report: the deviation of the one project
    the sentence names."""
    ps = prose_stream(doc_id, ul)
    out = []
    for m in _DEVIATION.finditer(ps.text):
        start = ps.text.rfind("。", 0, m.start()) + 1
        sentence = light_key(ps.text[start : m.start()])
        hits = [n for n in names if light_key(n) and light_key(n) in sentence]
        hits = [h for h in hits if not any(h != o and light_key(h) in light_key(o) for o in hits)]
        if len(hits) != 1:
            continue
        out.append((hits[0], NarrativeClaim(kind="other_amount", value=Decimal(m.group("num")), text="偏离度",
                                            unit="%", ref=ps.ref(m.start(), m.end()))))
    return out


__all__ = ["extract_rules", "detect_layout"]
