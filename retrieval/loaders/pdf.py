"""PDF (pdfplumber): ruled tables become row lines with cell bboxes, the text around them visual lines.

Each page is read once: the tables pdfplumber finds from the ruling lines give the rows; the characters
outside every table give the prose lines (pdfplumber's own line clustering); both are merged top to bottom.
A cell's text is pdfplumber's, its internal line breaks re-joined with `join_broken` (a narrow column
breaks cells mid-word). Cell text is taken from characters bucketed by row rather than with
`Table.extract`, which scans every character of the page once per row.
"""
from __future__ import annotations

import bisect
import io
import logging

from retrieval.loaders.common import PageBuilder
from retrieval.normalize import cid_ratio, join_broken
from retrieval.types import Page
from service.errors import InputError

# A document whose text is more than this share `(cid:NNN)` codes is unreadable, not merely untidy.
CID_GARBAGE_RATIO = 0.5

for _name in ("pdfminer", "pdfplumber"):  # pdfminer logs a warning per damaged object; we raise instead
    logging.getLogger(_name).setLevel(logging.ERROR)


def _fail(code: str, message: str, subject: str | None) -> InputError:
    return InputError(message, subject=subject, code=code)


def _open(data: bytes, subject: str | None):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError
    from pdfplumber.utils.exceptions import PdfminerException

    # The spec tolerates junk before the header; readers look within the first 1 KB.
    if b"%PDF-" not in data[:1024]:
        raise _fail("not_a_pdf", "not a PDF: no %PDF header at the start of the file", subject)
    try:
        return pdfplumber.open(io.BytesIO(data))
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFEncryptionError):
            raise _fail("encrypted_pdf", "the PDF is encrypted (password-protected); "
                        "remove the password and upload it again", subject) from exc
        raise _fail("corrupt_pdf", f"the PDF is damaged and cannot be read ({_reason(cause)})", subject) from exc
    except Exception as exc:  # pdfminer raises assorted errors on damaged files
        raise _fail("corrupt_pdf", f"the PDF is damaged and cannot be read ({_reason(exc)})", subject) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:160] if text else type(exc).__name__


def _center_in(char: dict, bbox) -> bool:
    x0, top, x1, bottom = bbox
    h = (char["x0"] + char["x1"]) / 2
    v = (char["top"] + char["bottom"]) / 2
    return x0 <= h < x1 and top <= v < bottom


class _CharIndex:
    """The page's characters sorted by vertical middle, so a row's characters are found by bisection."""

    def __init__(self, chars: list[dict]):
        keyed = sorted(((c["top"] + c["bottom"]) / 2, i) for i, c in enumerate(chars))
        self.mids = [k for k, _ in keyed]
        self.order = [i for _, i in keyed]
        self.chars = chars

    def in_band(self, top: float, bottom: float) -> list[dict]:
        lo = bisect.bisect_left(self.mids, top)
        hi = bisect.bisect_left(self.mids, bottom)
        return [self.chars[i] for i in sorted(self.order[lo:hi])]


def _table_rows(table, index: _CharIndex):
    """Rows of (raw cells, bboxes) for one pdfplumber table.

    pdfplumber puts None where no cell starts at a column. Under a horizontal span that slot belongs to
    the spanning cell and is dropped; under a vertical span the slot keeps its position as an empty cell
    (the text sits in the row above), like an empty cell in a TAB row."""
    from pdfplumber.utils import extract_text

    xs = sorted({c[0] for c in table.cells})
    # grid columns are the distinct left edges of the table's cells (rounded: edges of one ruling line can
    # differ by a rounding error); a cell spans the columns whose left edge lies inside it
    edges = sorted({round(x, 1) for x in xs})

    def grid_of(bbox) -> tuple[int, int]:
        first = bisect.bisect_left(edges, round(bbox[0], 1) - 0.05)
        last = bisect.bisect_left(edges, round(bbox[2], 1) - 0.05)
        return first, max(1, last - first)

    for row in table.rows:
        band = index.in_band(row.bbox[1], row.bbox[3])
        cells: list[str] = []
        bboxes: list = []
        grid: list[tuple[int, int]] = []
        for k, bbox in enumerate(row.cells):
            if bbox is None:
                x = xs[k] if k < len(xs) else None
                if x is not None and any(b is not None and b[0] < x < b[2] for b in row.cells):
                    continue
                cells.append("")
                bboxes.append(None)
                grid.append((bisect.bisect_left(edges, round(x, 1) - 0.05) if x is not None else k, 1))
                continue
            chars = [c for c in band if _center_in(c, bbox)]
            text = extract_text(chars) if chars else ""
            cells.append(join_broken(text.split("\n")))
            bboxes.append(tuple(float(v) for v in bbox))
            grid.append(grid_of(bbox))
        yield row.bbox[1], cells, bboxes, grid


def _load_page(page, number: int) -> Page:
    builder = PageBuilder(number)
    # Ruled boxes of one column (a page frame, a frame with a header rule, a boxed note) are not tables:
    # their text reads as prose lines, which keeps line-level provenance.
    tables = [t for t in page.find_tables() if len({round(c[0]) for c in t.cells}) > 1]
    items: list[tuple[float, int, object]] = []
    if tables:
        index = _CharIndex(page.chars)
        for t_no, table in enumerate(tables):
            for r_no, (top, cells, bboxes, grid) in enumerate(_table_rows(table, index)):
                items.append((top, 1, (t_no, r_no, cells, bboxes, table.bbox, grid)))
        boxes = [t.bbox for t in tables]
        text_page = page.filter(lambda o: o.get("object_type") != "char"
                                or not any(_center_in(o, b) for b in boxes))
    else:
        text_page = page
    for line in text_page.extract_text_lines(strip=True, return_chars=False):
        items.append((line["top"], 0, line["text"]))
    items.sort(key=lambda it: it[0])  # stable: rows of one table keep their order

    open_table = None  # (table number) whose rows are being added
    for _, kind, payload in items:
        if kind == 0:
            builder.add_text(payload)
            open_table = None
            continue
        t_no, _r_no, cells, bboxes, tbbox, grid = payload
        before = len(builder.page.lines)
        builder.add_row(cells, new_table=open_table != t_no, bboxes=bboxes, table_bbox=tuple(float(v) for v in tbbox),
                        grid=grid)
        if len(builder.page.lines) > before:  # an all-empty row adds nothing and must not open the table
            open_table = t_no
    return builder.page


def load_pdf(data: bytes, *, subject: str | None = None) -> list[Page]:
    pdf = _open(data, subject)
    pages: list[Page] = []
    with pdf:
        try:
            for number, page in enumerate(pdf.pages, start=1):
                pages.append(_load_page(page, number))
                page.close()
        except InputError:
            raise
        except Exception as exc:
            raise _fail("corrupt_pdf", f"the PDF is damaged and cannot be read ({_reason(exc)})", subject) from exc
    if not pages:
        raise _fail("corrupt_pdf", "the PDF has no pages", subject)
    raw = "".join(ln.raw for p in pages for ln in p.lines)
    if raw and cid_ratio(raw) > CID_GARBAGE_RATIO:
        raise _fail("cid_garbage", "the text extracts as (cid:NNN) codes: the PDF's font has no Unicode map "
                    "(ToUnicode), so its characters cannot be read; export the PDF again with embedded "
                    "Unicode fonts", subject)
    if not any(p.lines for p in pages):
        raise _fail("no_text_layer", "no text layer — scanned PDFs are not supported yet", subject)
    return pages
