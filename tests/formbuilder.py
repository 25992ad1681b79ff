"""A small builder of form tables for the form reader's unit tests: rows of cells with merged ranges, written
as XLSX (merged ranges), DOCX (gridSpan / vMerge), ruled and borderless PDF, and text flattened with TABs,
`|` or runs of spaces. The benchmark's generator (eval/forms) is separate and much richer; these tests pin
single reader features with forms small enough to read in the test."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def _ref(a1: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", a1)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


@dataclass
class Form:
    rows: list[list[object]]
    merges: list[str] = field(default_factory=list)  # "A1:I1"
    width: int = 0
    number_formats: dict[str, str] = field(default_factory=dict)  # "H6": "0.0%"

    def __post_init__(self):
        self.width = self.width or max(len(r) for r in self.rows)
        self.rows = [list(r) + [None] * (self.width - len(r)) for r in self.rows]

    def spans(self) -> list[tuple[int, int, int, int]]:
        out = []
        for m in self.merges:
            a, b = m.split(":")
            (r1, c1), (r2, c2) = _ref(a), _ref(b)
            out.append((r1, c1, r2, c2))
        return out

    def text(self, value) -> str:
        return "" if value is None else str(value)


def xlsx(forms: list[Form]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for k, form in enumerate(forms):
        ws = wb.active if k == 0 else wb.create_sheet(f"表{k + 1}")
        for row in form.rows:
            ws.append(row)
        for m in form.merges:
            ws.merge_cells(m)
        for a1, fmt in form.number_formats.items():
            ws[a1].number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def docx(forms: list[Form], prose: str = "") -> bytes:
    import docx as _docx

    d = _docx.Document()
    if prose:
        for para in prose.split("\n"):
            d.add_paragraph(para)
    for form in forms:
        t = d.add_table(rows=len(form.rows), cols=form.width)
        spans = form.spans()
        covered = {(r, c) for r1, c1, r2, c2 in spans for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                   if (r, c) != (r1, c1)}
        for r, row in enumerate(form.rows):
            for c, v in enumerate(row):
                if (r, c) not in covered and v is not None:
                    t.cell(r, c).text = form.text(v)
        for r1, c1, r2, c2 in spans:
            t.cell(r1, c1).merge(t.cell(r2, c2))
        d.add_paragraph("")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def text(forms: list[Form], sep: str = "\t", prose: str = "") -> bytes:
    out = [prose] if prose else []
    for form in forms:
        for row in form.rows:
            cells = [form.text(v) for v in row]
            if sep == "\t":
                out.append("\t".join(cells).rstrip("\t"))
            elif sep == "|":
                out.append("| " + " | ".join(cells) + " |")
            else:
                out.append(sep.join(c for c in cells if c))
        out.append("")
    return "\n".join(out).encode()


def pdf(forms: list[Form], ruled: bool = True, prose: str = "") -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("WQY", str(FONT), subfontIndex=0))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), invariant=1)
    story = []
    style = ParagraphStyle("p", fontName="WQY", fontSize=10, leading=14)
    for para in (prose.split("\n") if prose else []):
        story.append(Paragraph(para, style))
    for k, form in enumerate(forms):
        if k:
            story.append(PageBreak())
        t = Table([[form.text(v) for v in row] for row in form.rows])
        st = [("FONT", (0, 0), (-1, -1), "WQY", 8), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        for r1, c1, r2, c2 in form.spans():
            st.append(("SPAN", (c1, r1), (c2, r2)))
        if ruled:
            st.append(("GRID", (0, 0), (-1, -1), 0.5, "black"))
        t.setStyle(TableStyle(st))
        story.append(t)
    doc.build(story)
    return buf.getvalue()


RENDERERS = {
    "xlsx": lambda forms, prose="": (xlsx(forms), "form.xlsx"),
    "docx": lambda forms, prose="": (docx(forms, prose), "form.docx"),
    "tsv": lambda forms, prose="": (text(forms, "\t", prose), "form.txt"),
    "pipes": lambda forms, prose="": (text(forms, "|", prose), "form.md"),
    "spaces": lambda forms, prose="": (text(forms, "    ", prose), "form.txt"),
    "pdf_ruled": lambda forms, prose="": (pdf(forms, True, prose), "form.pdf"),
    "pdf_plain": lambda forms, prose="": (pdf(forms, False, prose), "form.pdf"),
}


def national(name="城乡医疗救助", dept="区民政局", rate="90%", total=97, grade="优", extra_rows=()) -> Form:
    """The national template (财预〔2020〕10号 附件 项目支出绩效自评表)."""
    rows = [
        ["项目支出绩效自评表"],
        ["（2023年度）"],
        ["项目名称", name],
        ["主管部门", dept, None, None, None, "实施单位", "区社会救助中心"],
        ["项目资金（万元）", None, None, "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
        [None, "年度资金总额", None, 100, 120, 108, 10, rate, 9],
        [None, "其中：当年财政拨款", None, 100, 120, 108, "—", None, "—"],
        [None, "上年结转资金", None, 0, 0, 0, "—", None, "—"],
        ["年度总体目标", "预期目标", None, None, None, "实际完成情况"],
        [None, "保障困难群众基本生活", None, None, None, "已保障困难群众基本生活"],
        ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"],
        [None, "产出指标", "数量指标", "救助人次", "≥300人次", "320人次", 20, 20],
        [None, None, "质量指标", "救助准确率", "≥98%", "97%", 20, 18, "个别核查滞后"],
        [None, None, "时效指标", "指标1：", None, None, None, None],
        [None, "效益指标", "社会效益指标", "困难群众生活保障", "有效保障", "有效保障", 30, 30],
        [None, "满意度指标", "服务对象满意度指标", "受助对象满意度", "≥90%", "95%", 10, 10],
        *extra_rows,
        ["总分", None, None, None, None, None, 100, total, grade],
    ]
    n = len(rows)
    merges = ["A1:I1", "A2:I2", "B3:I3", "B4:E4", "G4:I4", "A5:C5", "A6:A8", "B6:C6", "B7:C7", "B8:C8",
              "A9:A10", "B9:E9", "F9:I9", "B10:E10", "F10:I10", f"A11:A{n - 1}", "B12:B14", f"A{n}:F{n}"]
    return Form(rows, merges, width=9)
