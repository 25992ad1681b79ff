"""The 审核意见 as DOCX (python-docx), laid out like a 公文 (GB/T 9704): A4, margins 37/35/28/26 mm, page numbers
“— N —” in the footer, the title in 方正小标宋简体 二号, body text in 仿宋_GB2312 三号, first-level headings in
黑体 and second-level headings in 楷体_GB2312. Fonts are named, not embedded: a machine without them falls back,
and the reviewer's Word shows the names to install. The content is service.review.opinion's, as in Markdown."""
from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from service.review.markdown import APPENDIX_HEADER, SCORE_HEADER
from service.review.model import Review
from service.review.opinion import Opinion, build_opinion, item_heading, item_text, related_text

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
SIZE_TITLE = Pt(22)  # 二号
SIZE_BODY = Pt(16)  # 三号
SIZE_TABLE = Pt(10.5)  # 五号: a table of eight columns does not fit in 三号
SIZE_PAGE_NO = Pt(14)  # 四号
LINE = Pt(28)  # fixed line pitch: 22 lines on a type area of 225 mm
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}


def _fonts(rpr_owner, name: str, size=None, bold: bool | None = None) -> None:
    """Name the font for Chinese (eastAsia) and Latin text alike, on a style or a run."""
    font = rpr_owner.font
    font.name = name
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    font.color.rgb = RGBColor(0, 0, 0)
    rpr = rpr_owner.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:eastAsia", "w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), name)


def _page(section, *, landscape: bool = False) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    w, h = Mm(210), Mm(297)
    section.page_width, section.page_height = (h, w) if landscape else (w, h)
    section.top_margin = Mm(MARGINS_MM["top"])
    section.bottom_margin = Mm(MARGINS_MM["bottom"])
    section.left_margin = Mm(MARGINS_MM["left"])
    section.right_margin = Mm(MARGINS_MM["right"])


def _page_number(section) -> None:
    """“— 1 —” centred in the footer, from a PAGE field so Word numbers every page."""
    para = section.footer.paragraphs[0] if section.footer.paragraphs else section.footer.add_paragraph()
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para.text = ""

    def run(text: str | None = None):
        r = para.add_run(text or "")
        _fonts(r, "宋体", SIZE_PAGE_NO)
        return r

    run("— ")
    for kind, instr in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        r = run()
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            r._r.append(el)
        elif instr == "1":
            r.text = "1"
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
            r._r.append(el)
    run(" —")


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    _fonts(normal, BODY_FONT, SIZE_BODY, False)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE
    pf.space_before = pf.space_after = Pt(0)
    for name, font in (("Title", TITLE_FONT), ("Heading 1", H1_FONT), ("Heading 2", H2_FONT)):
        st = doc.styles[name]
        _fonts(st, font, SIZE_TITLE if name == "Title" else SIZE_BODY, False)
        st.font.italic = False
        st.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        st.paragraph_format.line_spacing = Pt(36) if name == "Title" else LINE
        st.paragraph_format.space_before = Pt(0)
        st.paragraph_format.space_after = Pt(0)
        st.paragraph_format.keep_with_next = True
        # the built-in Title has a bottom border; a 公文 title has none
        ppr = st.element.get_or_add_pPr()
        for b in ppr.findall(qn("w:pBdr")):
            ppr.remove(b)


def _para(doc, text: str, *, indent: bool = True, align=None, bold: bool = False):
    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(32)  # two characters of 三号
    if align is not None:
        p.alignment = align
    r = p.add_run(text)
    r.bold = bold
    return p


def _table(doc, header: tuple[str, ...], rows: list[tuple], widths_mm: tuple[float, ...] | None = None,
           size=SIZE_TABLE):
    t = doc.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for k, row in enumerate([header, *rows]):
        cells = t.rows[0].cells if k == 0 else t.add_row().cells
        for cell, text in zip(cells, row):
            cell.text = ""
            p = cell.paragraphs[0]
            p.paragraph_format.first_line_indent = Pt(0)
            p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            r = p.add_run("—" if text is None or text == "" else str(text))
            _fonts(r, H1_FONT if k == 0 else BODY_FONT, size)
    if widths_mm:
        for row in t.rows:
            for cell, w in zip(row.cells, widths_mm):
                cell.width = Mm(w)
    return t


def opinion_docx(op: Opinion, *, appendix: bool = True) -> bytes:
    doc = Document()
    _styles(doc)
    sec = doc.sections[0]
    _page(sec)
    _page_number(sec)
    title = doc.add_paragraph(op.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph()
    if op.coverage_statement:
        _para(doc, op.coverage_statement, bold=True)
    _para(doc, op.addressee, indent=False)
    _para(doc, op.basis)
    doc.add_heading("一、总体评价", level=1)
    for text in op.overall:
        _para(doc, text)
    if op.summary:
        _para(doc, op.summary)
    doc.add_heading("二、存在的主要问题", level=1)
    if op.no_problem_text:
        _para(doc, op.no_problem_text)
    for k, (cat, items) in enumerate(op.categories):
        doc.add_heading(item_heading(k, cat, len(items)), level=2)
        for j, item in enumerate(items, 1):
            _para(doc, f"{j}. {item_text(item)}")
            for f in item.related:  # set in by two characters: they follow from the item above
                rel = _para(doc, f"相关问题：{related_text(f)}")
                rel.paragraph_format.left_indent = Pt(32)
    doc.add_heading("三、复核得分与等级调整表", level=1)
    if op.score_rows:
        _table(doc, SCORE_HEADER, [(k, r.project, r.reported, r.reviewed, r.change, r.reported_grade, r.reviewed_grade,
                                    r.basis) for k, r in enumerate(op.score_rows, 1)],
               (10, 40, 15, 17, 15, 13, 13, 33))
    else:
        _para(doc, "未读取到项目自评得分，无调整。")
    doc.add_heading("四、整改要求与时限", level=1)
    for k, text in enumerate(op.rectification, 1):
        _para(doc, f"{k}. {text}")
    _para(doc, op.deadline)
    doc.add_paragraph()
    doc.add_paragraph()
    for text in (op.signature, op.date):
        p = _para(doc, text, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(64)  # 落款 four characters from the right margin
    if appendix:
        sec2 = doc.add_section()
        _page(sec2, landscape=True)
        doc.add_heading("附表：审核依据明细（供审核人员使用，发文版不含）", level=1)
        for text in op.appendix_intro:
            _para(doc, text, indent=False)
        if op.appendix:
            _table(doc, APPENDIX_HEADER, [(r.item, r.project, r.rule_id, r.rule_title, r.severity, r.variant,
                                           r.unit_id, r.source) for r in op.appendix],
                   (18, 35, 25, 25, 15, 35, 30, 62), size=Pt(9))
        if op.readings:
            doc.add_heading("读取分歧（规则与模型读取不一致或由模型补读的值，须人工核对）", level=2)
            _table(doc, ("项目", "读取方", "字段", "规则读取", "模型读取"), list(op.readings),
                   (50, 35, 40, 60, 60), size=Pt(9))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def build_docx(review: Review, *, appendix: bool = True) -> bytes:
    return opinion_docx(build_opinion(review), appendix=appendix)


__all__ = ["build_docx", "opinion_docx", "MARGINS_MM", "TITLE_FONT", "BODY_FONT", "H1_FONT", "H2_FONT", "WD_BREAK"]
