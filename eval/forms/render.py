"""Writing laid-out forms (eval/forms/sheet.Sheet) as files: XLSX, DOCX, ruled PDF, borderless PDF and text
flattened by copy-paste. Byte-identical for the same input: fixed zip timestamps and document properties,
reportlab's invariant mode."""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import zipfile
from pathlib import Path

from eval.forms.sheet import Num, Sheet

FONT_PATH = Path(os.environ.get("JIXIAO_CJK_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
FONT = "WQYMicroHei"
FIXED = dt.datetime(2024, 1, 1, 0, 0, 0)
FLATTEN = ("tab", "pipe", "spaces", "lines")


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with every member's timestamp fixed, so that equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time whatever was set
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", data)
            dst.writestr(fixed, data)
    return out.getvalue()


def xlsx(sheets: list[Sheet]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.properties.created = wb.properties.modified = FIXED
    wb.properties.creator = "jixiao form generator"
    for k, sh in enumerate(sheets):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = sh.name
        r0 = 1
        for para in sh.prose:
            ws.cell(row=r0, column=1, value=para)
            r0 += 1
        for r, row in enumerate(sh.rows):
            for c, cell in enumerate(row):
                if cell is None:
                    continue
                target = ws.cell(row=r0 + r, column=c + 1)
                if isinstance(cell, Num):
                    if cell.as_text:
                        target.value = cell.shown
                    else:
                        target.value = float(cell.value) if cell.value != cell.value.to_integral_value() else int(cell.value)
                        if cell.percent:
                            target.number_format = "0.00%"
                else:
                    target.value = str(cell)
                    if target.value.startswith("="):
                        target.data_type = "s"  # typed as text ('=0起), not a formula
        for r1, c1, r2, c2 in sh.merges:
            ws.merge_cells(start_row=r0 + r1, start_column=c1 + 1, end_row=r0 + r2, end_column=c2 + 1)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


def docx(sheets: list[Sheet]) -> bytes:
    import docx as _docx

    d = _docx.Document()
    d.core_properties.created = d.core_properties.modified = d.core_properties.last_printed = FIXED
    d.core_properties.author = "jixiao form generator"
    for k, sh in enumerate(sheets):
        if k:
            d.add_page_break()
        for para in sh.prose:
            d.add_paragraph(para)
        t = d.add_table(rows=len(sh.rows), cols=sh.width)
        t.style = "Table Grid"
        covered = {(r, c) for r1, c1, r2, c2 in sh.merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                   if (r, c) != (r1, c1)}
        # python-docx's table.cell(r, c) rebuilds the whole grid on every call: take each row's cells once
        for r, (row, tr) in enumerate(zip(sh.rows, t.rows)):
            cells = tr.cells
            for c, cell in enumerate(row):
                if (r, c) not in covered and cell is not None:
                    cells[c].text = Sheet.text(cell)
        _merge_xml(t, sh.merges)
    buf = io.BytesIO()
    d.save(buf)
    return _fixed_zip(buf.getvalue())


def _merge_xml(table, merges) -> None:
    """Merged ranges written straight into the table XML (w:gridSpan, w:vMerge), as Word writes them;
    python-docx's cell.merge rebuilds the grid on every call."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    grid = [list(tr.tc_lst) for tr in table._tbl.tr_lst]
    for r1, c1, r2, c2 in merges:
        for r in range(r1, r2 + 1):
            tc = grid[r][c1]
            pr = tc.get_or_add_tcPr()
            if c2 > c1:
                span = OxmlElement("w:gridSpan")
                span.set(qn("w:val"), str(c2 - c1 + 1))
                pr.append(span)
            if r2 > r1:
                vm = OxmlElement("w:vMerge")
                if r == r1:
                    vm.set(qn("w:val"), "restart")
                pr.append(vm)
            for c in range(c1 + 1, c2 + 1):
                extra = grid[r][c]
                if extra.getparent() is not None:
                    extra.getparent().remove(extra)


_FONT_READY = False


def _font() -> None:
    global _FONT_READY
    if _FONT_READY:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not FONT_PATH.exists():
        raise SystemExit(f"CJK font not found at {FONT_PATH}: install Debian fonts-wqy-microhei")
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH), subfontIndex=0))
    _FONT_READY = True


def pdf(sheets: list[Sheet], ruled: bool) -> bytes:
    """A landscape A4 page per form; long cells wrap inside their column (Paragraphs), as a real form does."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table, TableStyle

    _font()
    buf = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(buf, pagesize=page, invariant=1, leftMargin=36, rightMargin=36, topMargin=36,
                            bottomMargin=36, title="自评表", author="jixiao form generator")
    cell_style = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, wordWrap="CJK")
    prose_style = ParagraphStyle("prose", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
    story = []
    avail = page[0] - 72
    for k, sh in enumerate(sheets):
        if k:
            story.append(PageBreak())
        for para in sh.prose:
            story.append(Paragraph(para, prose_style))
        widths = _col_widths(sh, avail)
        data = []
        for row in sh.rows:
            data.append([Paragraph(_esc(Sheet.text(c)), cell_style) if c is not None else "" for c in row])
        t = Table(data, colWidths=widths, repeatRows=0)
        style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONT", (0, 0), (-1, -1), FONT, 8)]
        for r1, c1, r2, c2 in sh.merges:
            style.append(("SPAN", (c1, r1), (c2, r2)))
        if ruled:
            style.append(("GRID", (0, 0), (-1, -1), 0.5, "black"))
        t.setStyle(TableStyle(style))
        story.append(t)
    doc.build(story)
    return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _col_widths(sh: Sheet, avail: float) -> list[float]:
    """Columns as wide as their longest unmerged cell needs (bounded), scaled to the page."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    spanning = {(r1, c1) for r1, c1, r2, c2 in sh.merges if c2 > c1}
    need = [24.0] * sh.width
    for r, row in enumerate(sh.rows):
        for c, cell in enumerate(row):
            if cell is None or (r, c) in spanning:
                continue
            w = min(160.0, stringWidth(Sheet.text(cell), FONT, 8) + 14)
            need[c] = max(need[c], w)
    # as a person would set them: narrow columns (figures, short words) keep their width, wide text columns
    # give up room and wrap
    while sum(need) > avail:
        wide = [k for k, w in enumerate(need) if w > 60]
        if not wide:
            return [w * avail / sum(need) for w in need]
        excess = sum(need) - avail
        cut = min(excess / len(wide), min(need[k] for k in wide) - 59)
        for k in wide:
            need[k] -= cut
    return need


def text(sheets: list[Sheet], style: str) -> bytes:
    """Text as a copy-paste from a table leaves it: cells joined by TABs (empty cells kept), by `|`, by runs
    of spaces (empty cells lost), or one cell per line (empty cells lost, no row marks)."""
    out: list[str] = []
    for sh in sheets:
        out.extend(sh.prose)
        covered = {(r, c) for r1, c1, r2, c2 in sh.merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                   if (r, c) != (r1, c1)}
        for r, row in enumerate(sh.rows):
            cells = []
            for c, cell in enumerate(row):
                if (r, c) in covered and any(m[0] == r and m[1] < c <= m[3] for m in sh.merges):
                    continue  # inside a horizontal merge: one cell
                cells.append(Sheet.text(cell).replace("\n", " "))
            while cells and not cells[-1]:
                cells.pop()
            if not any(cells):
                continue
            if style == "tab":
                out.append("\t".join(cells))
            elif style == "pipe":
                out.append("| " + " | ".join(cells) + " |")
            elif style == "spaces":
                out.append("    ".join(c for c in cells if c))
            else:
                out.extend(c for c in cells if c)
        out.append("")
    return "\n".join(out).encode("utf-8")


FORMATS = ("xlsx", "docx", "pdf_ruled", "pdf_plain", "txt")
SUFFIX = {"xlsx": ".xlsx", "docx": ".docx", "pdf_ruled": ".pdf", "pdf_plain": ".pdf", "txt": ".txt"}


def render(sheets: list[Sheet], fmt: str, flatten: str = "tab") -> bytes:
    if fmt == "xlsx":
        return xlsx(sheets)
    if fmt == "docx":
        return docx(sheets)
    if fmt == "pdf_ruled":
        return pdf(sheets, True)
    if fmt == "pdf_plain":
        return pdf(sheets, False)
    if fmt == "txt":
        return text(sheets, flatten)
    raise ValueError(f"unknown format {fmt}")


__all__ = ["FLATTEN", "FORMATS", "SUFFIX", "render"]
