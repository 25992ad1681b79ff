"""The 审核意见 as PDF (reportlab): the same content and page layout as the DOCX — A4, margins 37/35/28/26 mm,
“— N —” page numbers — for reviewers who circulate a fixed rendering. A PDF must embed its fonts, so the 公文
fonts are used when their files are installed and a CJK font of the system (or reportlab's built-in STSong)
otherwise; which one was used is recorded in the PDF's metadata (subject)."""
from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from service.review.docx_draft import MARGINS_MM
from service.review.markdown import APPENDIX_HEADER, SCORE_HEADER
from service.review.model import Review
from service.review.opinion import Opinion, build_opinion, item_heading, item_text, related_text

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
             Path("C:/Windows/Fonts"), Path("/Library/Fonts"))
# file names under which the 公文 fonts are usually installed, then system CJK fonts as a fallback
_WANTED = {
    "title": ("FZXBSJW.TTF", "方正小标宋简体.ttf", "FZXiaoBiaoSong-B05S.ttf"),
    "body": ("仿宋_GB2312.ttf", "FangSong_GB2312.ttf", "simfang.ttf", "FangSong.ttf"),
    "h1": ("simhei.ttf", "黑体.ttf", "SimHei.ttf"),
    "h2": ("楷体_GB2312.ttf", "KaiTi_GB2312.ttf", "simkai.ttf", "KaiTi.ttf"),
}
_FALLBACK = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc",
             "DroidSansFallbackFull.ttf")


def _find(names: tuple[str, ...]) -> Path | None:
    for d in FONT_DIRS:
        if not d.is_dir():
            continue
        for name in names:
            hits = list(d.rglob(name))
            if hits:
                return hits[0]
    return None


def _register() -> dict[str, str]:
    """Font name per role, registering the files found (once per process)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    fallback_name = "JXFallback"
    if fallback_name not in pdfmetrics.getRegisteredFontNames():
        path = _find(_FALLBACK)
        if path is not None:
            pdfmetrics.registerFont(TTFont(fallback_name, str(path), subfontIndex=0))
        else:
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            fallback_name = "STSong-Light"
    out = {}
    for role, names in _WANTED.items():
        reg = f"JX-{role}"
        if reg not in pdfmetrics.getRegisteredFontNames():
            path = _find(names)
            if path is None:
                out[role] = fallback_name
                continue
            pdfmetrics.registerFont(TTFont(reg, str(path), subfontIndex=0))
        out[role] = reg
    return out


def opinion_pdf(op: Opinion, *, appendix: bool = True) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (NextPageTemplate, PageBreak, PageTemplate, Paragraph, Spacer, Table,
                                    TableStyle)
    from reportlab.platypus.doctemplate import BaseDocTemplate
    from reportlab.platypus.frames import Frame

    fonts = _register()
    body = ParagraphStyle("body", fontName=fonts["body"], fontSize=16, leading=28, firstLineIndent=32,
                          wordWrap="CJK")
    plain = ParagraphStyle("plain", parent=body, firstLineIndent=0)
    related = ParagraphStyle("related", parent=body, leftIndent=32)  # follows from the item above
    title = ParagraphStyle("title", fontName=fonts["title"], fontSize=22, leading=36, alignment=TA_CENTER,
                           wordWrap="CJK", spaceAfter=28)
    h1 = ParagraphStyle("h1", parent=plain, fontName=fonts["h1"], firstLineIndent=32)
    h2 = ParagraphStyle("h2", parent=plain, fontName=fonts["h2"], firstLineIndent=32)
    right = ParagraphStyle("right", parent=plain, alignment=TA_RIGHT, rightIndent=64)
    cell = ParagraphStyle("cell", fontName=fonts["body"], fontSize=10.5, leading=14, wordWrap="CJK")
    head = ParagraphStyle("head", parent=cell, fontName=fonts["h1"])
    small = ParagraphStyle("small", parent=cell, fontSize=8, leading=10)

    def p(text: str, style=body):
        return Paragraph(escape(text), style)

    def table(header, rows, widths, st=cell):
        data = [[Paragraph(escape(h), head if st is cell else st) for h in header]]
        data += [[Paragraph(escape("—" if v in (None, "") else str(v)), st) for v in row] for row in rows]
        t = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(fonts["body"], 14)
        w = doc.pagesize[0]
        canvas.drawCentredString(w / 2, 18 * mm, f"— {doc.page} —")
        canvas.restoreState()

    buf = io.BytesIO()
    m = MARGINS_MM
    doc = BaseDocTemplate(buf, pagesize=A4, topMargin=m["top"] * mm, bottomMargin=m["bottom"] * mm,
                          leftMargin=m["left"] * mm, rightMargin=m["right"] * mm, title=op.title,
                          subject="fonts: " + ", ".join(f"{k}={v}" for k, v in fonts.items()), invariant=1)
    portrait = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="p")
    lw, lh = landscape(A4)
    land = Frame(m["left"] * mm, m["bottom"] * mm, lw - (m["left"] + m["right"]) * mm,
                 lh - (m["top"] + m["bottom"]) * mm, id="l")
    doc.addPageTemplates([PageTemplate("portrait", [portrait], onPage=footer, pagesize=A4),
                          PageTemplate("landscape", [land], onPage=footer, pagesize=landscape(A4))])
    story = [p(op.title, title)]
    if op.coverage_statement:
        story.append(Paragraph(f"<b>{escape(op.coverage_statement)}</b>", body))
    story += [p(op.addressee, plain), p(op.basis), p("一、总体评价", h1)]
    story += [p(t) for t in op.overall]
    if op.summary:
        story.append(p(op.summary))
    story.append(p("二、存在的主要问题", h1))
    if op.no_problem_text:
        story.append(p(op.no_problem_text))
    for k, (cat, items) in enumerate(op.categories):
        story.append(p(item_heading(k, cat, len(items)), h2))
        for j, item in enumerate(items, 1):
            story.append(p(f"{j}. {item_text(item)}"))
            story += [p(f"相关问题：{related_text(f)}", related) for f in item.related]
    story.append(p("三、复核得分与等级调整表", h1))
    if op.score_rows:
        story.append(table(SCORE_HEADER, [(k, r.project, r.reported, r.reviewed, r.change, r.reported_grade,
                                           r.reviewed_grade, r.basis) for k, r in enumerate(op.score_rows, 1)],
                           (10, 38, 15, 17, 15, 13, 13, 35)))
    else:
        story.append(p("未读取到项目自评得分，无调整。"))
    story.append(p("四、整改要求与时限", h1))
    story += [p(f"{k}. {t}") for k, t in enumerate(op.rectification, 1)]
    story += [p(op.deadline), Spacer(1, 56), p(op.signature, right), p(op.date, right)]
    if appendix:
        story += [NextPageTemplate("landscape"), PageBreak(),
                  p("附表：审核依据明细（供审核人员使用，发文版不含）", h1)]
        story += [p(t, plain) for t in op.appendix_intro]
        if op.appendix:
            story.append(table(APPENDIX_HEADER, [(r.item, r.project, r.rule_id, r.rule_title, r.severity, r.variant,
                                                  r.unit_id, r.source) for r in op.appendix],
                               (16, 34, 24, 24, 14, 34, 28, 69), st=small))
    doc.build(story)
    return buf.getvalue()


def build_pdf(review: Review, *, appendix: bool = True) -> bytes:
    return opinion_pdf(build_opinion(review), appendix=appendix)
