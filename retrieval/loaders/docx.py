"""DOCX (python-docx): paragraphs and tables in document order; explicit page breaks start a new page.

Pages are the ones the author fixed — `w:br w:type="page"`, `pageBreakBefore`, and section breaks other
than continuous ones. Word's own soft pagination (`lastRenderedPageBreak`) depends on the machine that
last saved the file, so it is ignored. Each paragraph is a prose line, or several where it holds soft
line breaks. Table rows come from the `w:tc` elements themselves: a horizontally merged cell is one cell
(python-docx's `row.cells` repeats it per grid column), and the lower part of a vertical merge is an empty
cell in its column (python-docx would repeat the top cell's text).
"""
from __future__ import annotations

import io

from retrieval.loaders.common import PageBuilder
from retrieval.normalize import join_broken
from retrieval.types import Page
from service.errors import InputError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_BREAK = object()
_BREAK_BEFORE = object()  # pageBreakBefore: Word adds no blank page when the paragraph already starts one
_SKIP = {W + "delText", W + "instrText", W + "rPr", W + "pPr", MC + "Fallback", W + "tbl"}


def _on(el) -> bool:
    val = el.get(W + "val")
    return val is None or val.lower() not in ("0", "false", "off")


def _runs(el, out: list) -> None:
    """Text of a paragraph subtree in order, with _BREAK where a page break falls."""
    for child in el:
        tag = child.tag
        if tag in _SKIP:
            continue
        if tag == W + "t":
            out.append(child.text or "")
        elif tag in (W + "tab", W + "ptab"):
            out.append("\t")
        elif tag == W + "br":
            out.append(_BREAK if child.get(W + "type") == "page" else "\n")
        elif tag == W + "cr":
            out.append("\n")
        elif tag == W + "noBreakHyphen":
            out.append("-")
        else:
            _runs(child, out)


def _paragraph(p) -> list:
    """Pieces of one `w:p`: strings (one per visual line) and _BREAK markers."""
    ppr = p.find(W + "pPr")
    pieces: list = []
    if ppr is not None:
        pbb = ppr.find(W + "pageBreakBefore")
        if pbb is not None and _on(pbb):
            pieces.append(_BREAK_BEFORE)
    flat: list = []
    _runs(p, flat)
    buf: list[str] = []
    for item in flat:
        if item is _BREAK:
            pieces.extend("".join(buf).split("\n"))
            pieces.append(_BREAK)
            buf = []
        else:
            buf.append(item)
    pieces.extend("".join(buf).split("\n"))
    if ppr is not None:
        sect = ppr.find(W + "sectPr")
        if sect is not None:
            kind = sect.find(W + "type")
            if kind is None or kind.get(W + "val") != "continuous":
                pieces.append(_BREAK)
    return pieces


def _cell_text(tc) -> str:
    lines: list[str] = []
    for p in tc.iterchildren(W + "p", W + "sdt"):
        paragraphs = [p] if p.tag == W + "p" else p.iter(W + "p")
        for para in paragraphs:
            lines.extend(x for x in _paragraph(para) if isinstance(x, str))
    return join_broken(lines)


def _int(el, default: int) -> int:
    try:
        return max(1, int(el.get(W + "val", default))) if el is not None else default
    except ValueError:
        return default


def _row_cells(tr) -> tuple[list[str], list[tuple[int, int]]]:
    """The row's cells and their (first grid column, span): `w:gridBefore` skips columns, `w:gridSpan`
    widens a cell, and the lower part of a vertical merge is an empty cell over the same columns."""
    cells: list[str] = []
    grid: list[tuple[int, int]] = []
    col = 0
    trpr = tr.find(W + "trPr")
    if trpr is not None:
        before = trpr.find(W + "gridBefore")
        if before is not None:
            for _ in range(int(before.get(W + "val", "0") or 0)):
                cells.append("")
                grid.append((col, 1))
                col += 1
    for tc in tr.iterchildren(W + "tc", W + "sdt"):
        tcs = [tc] if tc.tag == W + "tc" else list(tc.iter(W + "tc"))
        for cell in tcs:
            tcpr = cell.find(W + "tcPr")
            vmerge = tcpr.find(W + "vMerge") if tcpr is not None else None
            span = _int(tcpr.find(W + "gridSpan"), 1) if tcpr is not None else 1
            if vmerge is not None and vmerge.get(W + "val", "continue") == "continue":
                cells.append("")
            else:
                cells.append(_cell_text(cell))
            grid.append((col, span))
            col += span
    return cells, grid


class _Pages:
    def __init__(self):
        self.pages: list[Page] = []
        self.builder = PageBuilder(1)

    def new_page(self) -> None:
        self.pages.append(self.builder.page)
        self.builder = PageBuilder(len(self.pages) + 1)

    def finish(self) -> list[Page]:
        self.pages.append(self.builder.page)
        # a trailing break (or a document ending in one) leaves an empty last page, not a page of the text
        while len(self.pages) > 1 and not self.pages[-1].lines:
            self.pages.pop()
        return self.pages


def _blocks(container):
    """Body-level paragraphs and tables in order, looking inside content controls (`w:sdt`), which
    python-docx's iter_inner_content skips."""
    for child in container:
        if child.tag in (W + "p", W + "tbl"):
            yield child
        elif child.tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _blocks(content)


def load_docx(data: bytes, *, subject: str | None = None) -> list[Page]:
    import docx

    from retrieval.loaders.archive import check_zip

    check_zip(data, subject=subject, kind="docx")  # before python-docx inflates every part into memory
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise InputError(f"the DOCX is damaged or not a Word document ({type(exc).__name__})",
                         subject=subject, code="corrupt_docx") from exc
    out = _Pages()
    try:
        from retrieval.loaders.limits import current

        limits = current()
        for k, block in enumerate(_blocks(document.element.body)):
            if k % 200 == 199:
                limits.check_time(subject)
            if block.tag == W + "p":
                for piece in _paragraph(block):
                    if piece is _BREAK or (piece is _BREAK_BEFORE and out.builder.page.lines):
                        out.new_page()
                    elif piece is _BREAK_BEFORE:
                        continue
                    else:
                        out.builder.add_text(piece)
                continue
            first = True
            for tr in block.iterchildren(W + "tr"):
                before = len(out.builder.page.lines)
                cells, grid = _row_cells(tr)
                out.builder.add_row(cells, new_table=first, grid=grid)
                first = first and len(out.builder.page.lines) == before
            out.builder.end_table()
    except Exception as exc:
        raise InputError(f"the DOCX is damaged and cannot be read ({type(exc).__name__})",
                         subject=subject, code="corrupt_docx") from exc
    return out.finish()
