"""Review draft as XLSX (openpyxl): one row per finding, autofilter, frozen header, column widths; a second
sheet lists funds and scores as reported vs recomputed."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from service.review.model import SEVERITY_ZH, Review

FINDING_COLUMNS = (
    ("文档 Document", 22), ("项目 Project", 30), ("严重性 Severity", 12), ("规则 Rule", 18), ("规则名称 Rule name", 16),
    ("说明 Finding (zh)", 60), ("Finding (en)", 60), ("报告值 Reported", 18), ("复算值 Recomputed", 18),
    ("评分方案 Variant", 30), ("页 Page", 8), ("行 Lines", 10), ("引文 Quote", 50), ("单元 Unit", 18),
)
FIGURE_COLUMNS = (("项目 Project", 30), ("项目 Item", 28), ("报告值 Reported", 18), ("复算值 Recomputed", 18),
                  ("评分方案 Variant", 30))
_FILL = {"error": "F8CBAD", "warning": "FFE699", "info": "DDEBF7"}


def _sheet(ws, columns, rows) -> None:
    ws.append([c for c, _ in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in rows:
        ws.append(list(row))
    for k, (_, width) in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(k)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 1)}"
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)


def build_xlsx(review: Review) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "审核发现 findings"
    rows = []
    sev_of_row = []
    for f in review.all_findings():
        first = f.citations[0] if f.citations else None
        quotes = "\n".join(c.quote for c in f.citations)
        lines = "; ".join(f"p{c.page}:{c.lines}" for c in f.citations[1:])
        rows.append((review.document, f.project or "", f"{SEVERITY_ZH[f.severity]} {f.severity}", f.rule_id,
                     f.title_zh, f.message_zh, f.message_en, f.reported or "", f.recomputed or "",
                     f.variant or "", first.page if first else None,
                     (first.lines + (f"; {lines}" if lines else "")) if first else "", quotes,
                     next((p.unit_id for p in review.projects if f in p.findings), "")))
        sev_of_row.append(f.severity)
    _sheet(ws, FINDING_COLUMNS, rows)
    for r, sev in enumerate(sev_of_row, 2):
        ws.cell(row=r, column=3).fill = PatternFill("solid", fgColor=_FILL[sev])
    ws2 = wb.create_sheet("资金与得分 figures")
    _sheet(ws2, FIGURE_COLUMNS, [(p.project, f"{r.label_zh} {r.label_en}", r.reported, r.recomputed, p.variant)
                                 for p in review.projects for r in p.figures])
    cov = review.coverage
    if cov is not None:
        # the reader's verdict beside the findings; first and active when the document was not (fully) read
        ws3 = wb.create_sheet("读取情况 coverage", 0 if review.unread else None)
        _sheet(ws3, (("读取情况 status", 16), ("说明 reason", 60), ("审核意见 statement", 80)),
               [(cov.status, cov.reason_zh or "", review.coverage_statement() or "已读取，可复核。")])
        if review.unread:
            wb.active = 0
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
