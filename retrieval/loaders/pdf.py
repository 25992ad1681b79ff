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


# --- tables without ruling lines: columns from character positions ------------------------------------------
# A gap between two characters of one text line wider than this share of the font size separates two cells
# (a space between words is about a quarter of it; cell padding is at least half of it).
CELL_GAP_EM = 0.8
# A separator column must be free of text on at least this share of a block's rows (a title, a long note or a
# merged cell may cross it on the others).
SEPARATOR_FREE = 0.8


def _segments(line: dict) -> list[tuple[str, float, float, float, float]]:
    """The line's characters cut at wide gaps: (text, x0, top, x1, bottom) per segment."""
    chars = sorted((c for c in line["chars"] if c.get("text", "").strip()), key=lambda c: c["x0"])
    if not chars:
        return []
    segs: list[list[dict]] = [[chars[0]]]
    for c in chars[1:]:
        prev = segs[-1][-1]
        size = max(prev.get("size") or 0, c.get("size") or 0) or (prev["bottom"] - prev["top"]) or 10
        if c["x0"] - prev["x1"] >= CELL_GAP_EM * size:
            segs.append([c])
        else:
            segs[-1].append(c)
    out = []
    for seg in segs:
        words: list[str] = []
        for a, b in zip(seg, seg[1:] + [None]):
            words.append(a["text"])
            if b is not None and b["x0"] - a["x1"] > 0.15 * (a.get("size") or 10):
                words.append(" ")
        out.append(("".join(words).strip(), min(c["x0"] for c in seg), min(c["top"] for c in seg),
                    max(c["x1"] for c in seg), max(c["bottom"] for c in seg)))
    return out


def _separators(rows: list[list[tuple]]) -> list[tuple[float, float]]:
    """x-ranges free of text on most rows of a block: the column boundaries."""
    lo = min(s[1] for r in rows for s in r)
    hi = max(s[3] for r in rows for s in r)
    width = int(hi - lo) + 2
    cover = [0] * width
    for r in rows:
        seen = [False] * width
        for _, x0, _, x1, _ in r:
            for x in range(int(x0 - lo), min(width, int(x1 - lo) + 1)):
                seen[x] = True
        for x, on in enumerate(seen):
            cover[x] += on
    limit = (1 - SEPARATOR_FREE) * len(rows)
    seps: list[tuple[float, float]] = []
    start = None
    for x in range(width):
        free = cover[x] <= limit
        if free and start is None:
            start = x
        elif not free and start is not None:
            if x - start >= 3:
                seps.append((lo + start, lo + x))
            start = None
    return [sp for sp in seps if sp[0] > lo and sp[1] < hi]


def stream_rows(lines: list[dict]) -> dict[int, tuple]:
    """Text lines that are rows of a table drawn without ruling lines: line index → (cells, bboxes, grid,
    block). A block is a run of lines (single-cell lines such as a title or a merged cell may sit inside it)
    holding at least three lines of two or more cells; its columns come from the gaps that stay free of text
    down most of its rows."""
    segs = [_segments(ln) for ln in lines]
    absorbed = _absorb_wrapped(lines, segs)
    multi = [len(s) >= 2 and k not in absorbed for k, s in enumerate(segs)]
    out: dict[int, tuple] = {k: ((), (), (), -1) for k in absorbed}
    k = 0
    block = 0
    while k < len(lines):
        if not multi[k]:
            k += 1
            continue
        end = k
        j = k
        while j < len(lines) and (multi[j] or (j + 1 < len(lines) and multi[j + 1] and len(segs[j]) == 1)):
            end = j
            j += 1
        members = [m for m in range(k, end + 1) if multi[m]]
        if len(members) < 3:
            for m in range(k, end + 1):
                if m in absorbed:  # a wrapped line outside a table block reads as its own line again
                    out.pop(m, None)
                    absorbed.discard(m)
        if len(members) >= 3:
            seps = _separators([segs[m] for m in members])
            bounds = [s[0] for s in seps]  # a column ends where a separator starts
            for m in range(k, end + 1):
                if m in absorbed:
                    continue
                cells, bboxes, grid = [], [], []
                for text, x0, top, x1, bottom in segs[m]:
                    first = sum(1 for b in bounds if b <= x0 + 1)
                    last = sum(1 for b in bounds if b < x1 - 1)
                    cells.append(text)
                    bboxes.append((x0, top, x1, bottom))
                    grid.append((first, max(1, last - first + 1)))
                out[m] = (cells, bboxes, grid, block)
            block += 1
        k = end + 1
    return out


def _absorb_wrapped(lines: list[dict], segs: list[list[tuple]]) -> set[int]:
    """Lines that continue cells of the line above (a long cell wrapped inside its column): closer to it than
    a row boundary allows, and every segment under one of its segments. Their text joins those cells."""
    absorbed: set[int] = set()
    for k in range(1, len(lines)):
        prev = k - 1
        while prev in absorbed:
            prev -= 1
        if not segs[k] or len(segs[prev]) < 2:
            continue
        size = max((c.get("size") or 0) for c in lines[k]["chars"]) if lines[k]["chars"] else 10
        gap = min(s[2] for s in segs[k]) - max(s[4] for s in segs[prev] if True)
        last_line_bottom = max(c["bottom"] for c in lines[k - 1]["chars"]) if lines[k - 1]["chars"] else 0
        gap = min(s[2] for s in segs[k]) - last_line_bottom
        if gap > 0.45 * (size or 10):
            continue
        targets = []
        for seg in segs[k]:
            over = [j for j, p in enumerate(segs[prev]) if min(seg[3], p[3]) - max(seg[1], p[1]) > 0]
            if len(over) != 1:
                break
            targets.append(over[0])
        else:
            for seg, j in zip(segs[k], targets):
                text, x0, top, x1, bottom = segs[prev][j]
                segs[prev][j] = (join_broken([text, seg[0]]), min(x0, seg[1]), top, max(x1, seg[3]), bottom)
            absorbed.add(k)
    return absorbed


def _bbox_of(bboxes: list) -> tuple[float, float, float, float]:
    return (min(b[0] for b in bboxes), min(b[1] for b in bboxes), max(b[2] for b in bboxes),
            max(b[3] for b in bboxes))


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
    text_lines = text_page.extract_text_lines(strip=True, return_chars=True)
    stream = stream_rows(text_lines)
    for k, line in enumerate(text_lines):
        if k in stream:
            cells, bboxes, _grid, block = stream[k]
            if block < 0:
                continue  # a wrapped continuation, joined into the cells of the row above
            # Column positions inferred from gaps are not trustworthy enough to place values by: text that
            # overflows its cell hides separators, and a funds table and an indicator table stacked without
            # rules have different columns. The reader aligns these rows by what their cells hold, as it does
            # for flattened text; the cell boxes are kept.
            items.append((line["top"], 1, (f"s{block}", k, cells, bboxes, _bbox_of(bboxes), None)))
        else:
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


MAX_CHARS_PER_PAGE = 200_000  # a dense A4 page holds a few thousand characters


def load_pdf(data: bytes, *, subject: str | None = None) -> list[Page]:
    from retrieval.loaders.limits import current

    limits = current()
    pdf = _open(data, subject)
    pages: list[Page] = []
    with pdf:
        try:
            if len(pdf.pages) > limits.pages:
                raise _fail("too_many_pages", f"the PDF has {len(pdf.pages):,} pages, over the {limits.pages:,} "
                            f"allowed (JIXIAO_MAX_PAGES); split it into smaller files", subject)
            for number, page in enumerate(pdf.pages, start=1):
                limits.check_time(subject, f" (page {number})")
                if len(page.chars) > MAX_CHARS_PER_PAGE:
                    raise _fail("page_too_dense", f"page {number} holds {len(page.chars):,} characters, over the "
                                f"{MAX_CHARS_PER_PAGE:,} a page may have", subject)
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
