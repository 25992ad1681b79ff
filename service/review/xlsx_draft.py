"""The 审核意见 as XLSX (openpyxl), one sheet per purpose: 问题清单 (one row per root cause), 复核得分 (reported vs
reviewed score per project), 资金执行 (amounts and rates), 审核发现明细 (every finding, with the rule ids a
reviewer filters on) and, when the reader gave a verdict, 读取情况. Amounts, rates and scores are stored as
numbers with number formats (a rate of 99% is 0.99 shown as 99.00%), never as text, so a reviewer can sum
and sort them."""
from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from service.review.model import SEVERITY_ZH, Review
from service.review.opinion import CN_NUM, build_opinion, related_text, where_zh

AMOUNT_FORMAT = "#,##0.00##"  # 万元: two decimals, up to four when the report prints them (4.9745)
RATE_FORMAT = "0.00%"
SCORE_FORMAT = "0.00"

ISSUE_COLUMNS = (("序号", 8), ("问题类别", 14), ("项目", 30), ("问题", 70), ("报告所述", 24), ("复核", 20),
                 ("页", 6), ("行", 12), ("相关问题", 70), ("严重程度", 10), ("规则编号", 30))
SCORE_COLUMNS = (("项目", 34), ("自评得分", 10), ("复核得分", 10), ("调整分值", 10), ("自评等级", 10),
                 ("复核等级", 10), ("复核状态", 12), ("复核说明", 60))
FUNDS_COLUMNS = (("项目", 34), ("全年预算数（万元）", 16), ("全年执行数（万元）", 16), ("填报执行率", 12),
                 ("计算执行率", 12), ("执行分值", 10), ("填报执行得分", 12))
DETAIL_COLUMNS = (("项目", 30), ("严重程度", 10), ("规则编号", 18), ("规则名称", 16), ("说明", 70), ("报告值", 20),
                  ("复核值", 20), ("评分方案", 28), ("页", 6), ("行", 12), ("引文", 50), ("单元", 18))
_FILL = {"error": "F8CBAD", "warning": "FFE699", "info": "DDEBF7"}
_STATUS_ZH = {"confirmed": "相符", "adjusted": "调减", "unreviewable": "无法复核", "no_total": "未填总分"}


def _sheet(ws, columns, rows, formats: dict[int, str] | None = None) -> None:
    ws.append([c for c, _ in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in rows:
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
    for k, (_, width) in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(k)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 1)}"
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            fmt = (formats or {}).get(cell.column)
            if fmt and isinstance(cell.value, (int, float)):
                cell.number_format = fmt


def _pct(v: Decimal | None) -> Decimal | None:
    return None if v is None else v / Decimal(100)


def build_xlsx(review: Review) -> bytes:
    op = build_opinion(review)
    wb = Workbook()
    ws = wb.active
    ws.title = "问题清单"
    rows, sevs = [], []
    for k, (cat, items) in enumerate(op.categories):
        for j, item in enumerate(items, 1):
            first = item.root.citations[0] if item.root.citations else None
            rows.append((f"（{CN_NUM[k]}）{j}", cat, item.project or "", item.problem, item.reported or "",
                         item.expected or "", first.page if first else None,
                         ", ".join(c.lines for c in item.root.citations) if first else "",
                         "\n".join(related_text(f) for f in item.related), SEVERITY_ZH[item.severity],
                         ", ".join(dict.fromkeys(f.rule_id for f in item.findings))))
            sevs.append(item.severity)
    _sheet(ws, ISSUE_COLUMNS, rows)
    for r, sev in enumerate(sevs, 2):
        ws.cell(row=r, column=10).fill = PatternFill("solid", fgColor=_FILL[sev])

    ws2 = wb.create_sheet("复核得分")
    srows = []
    for p, r in zip(review.projects, op.score_rows):
        s = p.score
        change = (s.value - s.reported) if s is not None and s.value is not None and s.reported is not None else None
        srows.append((p.project, s.reported if s else None, s.value if s else None, change, r.reported_grade,
                      r.reviewed_grade, _STATUS_ZH.get(s.status, "") if s else "", r.basis))
    _sheet(ws2, SCORE_COLUMNS, srows, {2: SCORE_FORMAT, 3: SCORE_FORMAT, 4: SCORE_FORMAT})

    ws3 = wb.create_sheet("资金执行")
    frows = [(p.project, p.amounts.budget, p.amounts.executed, _pct(p.amounts.reported_rate), _pct(p.amounts.rate),
              p.amounts.exec_weight, p.amounts.exec_score) for p in review.projects]
    _sheet(ws3, FUNDS_COLUMNS, frows, {2: AMOUNT_FORMAT, 3: AMOUNT_FORMAT, 4: RATE_FORMAT, 5: RATE_FORMAT,
                                       6: SCORE_FORMAT, 7: SCORE_FORMAT})

    ws4 = wb.create_sheet("审核发现明细")
    unit_of = {id(f): p.unit_id for p in review.projects for f in p.findings}
    drows, dsev = [], []
    for f in review.all_findings():
        first = f.citations[0] if f.citations else None
        drows.append((f.project or "", SEVERITY_ZH[f.severity], f.rule_id, f.title_zh, f.message_zh, f.reported or "",
                      f.recomputed or "", f.variant or "", first.page if first else None,
                      where_zh(f.citations, limit=len(f.citations)) if first else "",
                      "\n".join(c.quote for c in f.citations), unit_of.get(id(f), "")))
        dsev.append(f.severity)
    _sheet(ws4, DETAIL_COLUMNS, drows)
    for r, sev in enumerate(dsev, 2):
        ws4.cell(row=r, column=2).fill = PatternFill("solid", fgColor=_FILL[sev])

    cov = review.coverage
    if cov is not None:
        # the reader's verdict beside the findings; first and active when the document was not (fully) read
        ws5 = wb.create_sheet("读取情况", 0 if review.unread else None)
        _sheet(ws5, (("读取情况", 16), ("说明", 60), ("审核意见", 80)),
               [(cov.status, cov.reason_zh or "", review.coverage_statement() or "已读取，可复核。")])
        if review.unread:
            wb.active = 0
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
