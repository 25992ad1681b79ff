"""Review draft as DOCX (python-docx): headings, an overview table, per project a funds/scores table and a
findings table with citations."""
from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from service.review.model import NO_FINDINGS_UNREAD, SEVERITY_EN, SEVERITY_ZH, FindingView, ProjectReview, Review

FINDINGS_HEADER = ("严重性 Severity", "规则 Rule", "说明 Finding", "报告值 Reported", "复算值 Recomputed", "出处 Source")


def _set_cjk_font(doc) -> None:
    style = doc.styles["Normal"]
    style.font.name = "Microsoft YaHei"
    style.font.size = Pt(10)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), "Microsoft YaHei")


def _table(doc, header: tuple[str, ...], rows: list[tuple[str, ...]]):
    t = doc.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    for cell, text in zip(t.rows[0].cells, header):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
    for row in rows:
        cells = t.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = text or "—"
    return t


def _findings_rows(findings: list[FindingView]) -> list[tuple[str, ...]]:
    rows = []
    for f in findings:
        cites = "\n".join(c.text_zh() for c in f.citations) or "—"
        rows.append((f"{SEVERITY_ZH[f.severity]} {f.severity}", f"{f.rule_id}\n{f.title_zh}",
                     f"{f.message_zh}\n{f.message_en}\n[{f.variant or '—'}]", f.reported or "—",
                     f.recomputed or "—", cites))
    return rows


def _project(doc, p: ProjectReview, unread: bool = False) -> None:
    doc.add_heading(f"项目：{p.project}", level=1)
    doc.add_paragraph(f"评分方案 Scoring scheme: {p.variant} — {p.evidence}")
    doc.add_heading("资金与得分 Funds and scores", level=2)
    _table(doc, ("项目 Item", "报告值 Reported", "复算值 Recomputed"),
           [(f"{r.label_zh} {r.label_en}", r.reported, r.recomputed) for r in p.figures])
    if p.disagreements:
        doc.add_heading(f"读取分歧 Where the readers differ ({p.read_by})", level=2)
        _table(doc, ("字段 Field", "规则读取 Rules", "模型读取 Model"), list(p.disagreements))
    doc.add_heading("审核发现 Findings", level=2)
    if not p.findings:
        doc.add_paragraph(NO_FINDINGS_UNREAD if unread else "未发现问题。No findings.")
    for sev in ("error", "warning", "info"):
        fs = p.by_severity(sev)
        if fs:
            doc.add_heading(f"{SEVERITY_ZH[sev]} {SEVERITY_EN[sev]} ({len(fs)})", level=3)
            _table(doc, FINDINGS_HEADER, _findings_rows(fs))
    doc.add_heading("报告自述的问题与措施 The report's own problems and measures", level=2)
    doc.add_paragraph(f"存在问题 Stated problems: {p.stated_problems or '（未填写 none stated）'}")
    if p.problems_citation:
        doc.add_paragraph(f"出处 Source: {p.problems_citation.text_zh()}")
    doc.add_paragraph(f"改进措施 Stated measures: {p.stated_measures or '（未填写 none stated）'}")
    if p.measures_citation:
        doc.add_paragraph(f"出处 Source: {p.measures_citation.text_zh()}")


def build_docx(review: Review) -> bytes:
    doc = Document()
    _set_cjk_font(doc)
    title = doc.add_heading("审核意见（草稿） Review draft", level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    c = review.counts()
    statement = review.coverage_statement()
    if statement:
        para = doc.add_paragraph()
        run = para.add_run(statement)
        run.bold = True
    doc.add_paragraph(f"文件 Document: {review.document} ({review.doc_id[:12]})")
    doc.add_paragraph(f"项目数 Projects: {len(review.projects)}；错误 errors {c['error']}，警告 warnings "
                      f"{c['warning']}，提示 info {c['info']}")
    doc.add_paragraph(f"依据 Basis: jixiao 规则库 {review.rules_applied} 条规则的确定性复算（见 docs/RULEBOOK.md）；"
                      f"本草稿需人工复核。")
    if review.summary:
        doc.add_heading("审核意见摘要 Summary", level=1)
        doc.add_paragraph(review.summary)
        doc.add_paragraph(f"（由模型 {review.summary_model or '?'} 依据审核发现撰写，数字已逐一核对）")
    if review.projects:
        doc.add_heading("概览 Overview", level=1)
        rows = []
        for p in review.projects:
            tot = next((r for r in p.figures if r.label_en == "Total"), None)
            pc = p.counts()
            rows.append((p.project, p.variant, f"{tot.reported if tot else '—'} / {tot.recomputed if tot else '—'}",
                         str(pc["error"]), str(pc["warning"]), str(pc["info"])))
        _table(doc, ("项目 Project", "方案 Scheme", "总分 报告/复算", "错误", "警告", "提示"), rows)
    for p in review.projects:
        _project(doc, p, review.unread)
    if review.unread and not review.projects and not review.other_findings:
        doc.add_paragraph(NO_FINDINGS_UNREAD)
    if review.other_findings:
        doc.add_heading("汇总表与部门层面 Summary tables and department level", level=1)
        for sev in ("error", "warning", "info"):
            fs = [f for f in review.other_findings if f.severity == sev]
            if fs:
                doc.add_heading(f"{SEVERITY_ZH[sev]} {SEVERITY_EN[sev]} ({len(fs)})", level=2)
                _table(doc, ("项目 Project",) + FINDINGS_HEADER,
                       [(f.project or "—",) + row for f, row in zip(fs, _findings_rows(fs))])
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
