"""Render the seed reports into the bundled corpus: corpus/rendered/{txt,pdf,docx}/<stem>.*

The seeds are text conversions of real reports; the product has to read real PDFs and DOCX files, and the
contract (docs/ARCHITECTURE.md) says every rendering of a report loads to the same numbered lines. This
script owns that guarantee: each seed is laid out once (visual lines, ruled tables, pages measured on the
PDF page) and the three renderings are written from that one layout.

    python scripts/make_corpus.py            # (re)write corpus/rendered
    python scripts/make_corpus.py --check    # re-render into a temp dir and compare with the committed files

Wrapping never changes what a line or cell says: a break is allowed only where `join_broken` followed by
normalization gives back the unbroken text, and every wrap is asserted to round-trip.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import io
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from retrieval.loaders.text import decode_text, parse_page, split_pages
from retrieval.normalize import is_cjk, join_broken, normalize_cell, normalize_text, strip_markup

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "seeds"
RENDERED = ROOT / "corpus" / "rendered"
FONT_PATH = Path(os.environ.get("JIXIAO_CJK_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
FONT = "WQYMicroHei"

# Geometry, in PDF points. A4 portrait.
PAGE_W, PAGE_H = 595.2756, 841.8898
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 56.0, 56.0, 56.0
BODY_W = PAGE_W - 2 * MARGIN_X
BODY_H = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM
PROSE_SIZE, PROSE_LEAD = 10.5, 17.0
PROSE_WIDTH = 40 * PROSE_SIZE  # "about 40 CJK characters"
CELL_SIZE, CELL_LEAD = 8.5, 11.0
CELL_PAD_X, CELL_PAD_Y = 3.0, 3.0
CELL_SLACK = 1.0  # keeps glyphs clear of the rules so pdfplumber never assigns a char to the next cell
MIN_COL_W = 18.0
PREF_COL_CAP = 190.0
TABLE_GAP = 8.0
PAGE_GAP_BLANKS = 3

FIXED_DATE = _dt.datetime(2024, 1, 1, 0, 0, 0)
NO_LINE_START = set("，。、；：？！）》」』】〕,.;:?!)%")
NO_LINE_END = set("（《「『【〔(")


# ----------------------------------------------------------------------------------------------- model

@dataclass
class Prose:
    text: str
    bold: bool = False


@dataclass
class TableBlock:
    rows: list[list[str]]


PAGE_BREAK = object()


@dataclass
class Row:
    cells: list[str]  # source cells, markup stripped
    lines: list[list[str]]  # wrapped lines per source cell
    height: float


@dataclass
class TablePiece:
    col_widths: list[float]
    rows: list[Row] = field(default_factory=list)

    @property
    def ncols(self) -> int:
        return len(self.col_widths)

    @property
    def height(self) -> float:
        return sum(r.height for r in self.rows)


Page = list  # of Prose | TablePiece


# --------------------------------------------------------------------------------------------- parsing

_HEADING = re.compile(r"^\s*#{1,6}\s+")
_WHOLE_BOLD = re.compile(r"^\s*(?:\*\*.*\*\*|<b>.*</b>)\s*$", re.I)
_MD_RULE_CELL = re.compile(r"^\s*:?-+:?\s*$")


def _chunks(text: str) -> list[list[str]]:
    """Pages of raw seed lines. Seeds converted line by line from a PDF (000–002: no table structure
    survived) mark page boundaries by 3+ blank lines; seeds with tables use blank runs between rows and
    forms, so there only `---` lines (and form feeds) are page boundaries — `split_pages` handles those."""
    pages = split_pages(text)
    if "\t" in text:
        return pages
    out: list[list[str]] = []
    for page in pages:
        cur: list[str] = []
        blanks = 0
        for line in page:
            if not line.strip():
                blanks += 1
                cur.append(line)
                continue
            if blanks >= PAGE_GAP_BLANKS and any(x.strip() for x in cur):
                out.append(cur)
                cur = []
            blanks = 0
            cur.append(line)
        if any(x.strip() for x in cur):
            out.append(cur)
    return out


def _clean_prose(raw: str) -> Prose:
    bold = bool(_HEADING.match(raw) or _WHOLE_BOLD.match(raw))
    return Prose(strip_markup(raw).strip(), bold)


def parse_seed(text: str) -> list:
    """Blocks of one seed, read exactly as retrieval/loaders/text.py reads it (its one-cell-per-line
    tables included), with converter markup removed: `#` headings, `**`, `<b>`, `<p>`, and markdown table
    rules (`--\\t---\\t--`), which the converter left after some tables."""
    blocks: list = []
    for k, chunk in enumerate(_chunks(text)):
        if k:
            blocks.append(PAGE_BREAK)
        page = parse_page(1, chunk)
        current: TableBlock | None = None
        current_index = None
        for line in page.lines:
            if line.kind == "text":
                current = None
                blocks.append(_clean_prose(line.raw))
                continue
            cells = [strip_markup(c).strip() for c in line.raw.split("\t")]
            if all(_MD_RULE_CELL.match(c) or not c for c in cells):
                continue
            if current is None or line.table_index != current_index:
                current = TableBlock([])
                current_index = line.table_index
                blocks.append(current)
            current.rows.append(cells)
    return blocks


# ------------------------------------------------------------------------------------------- measuring

@lru_cache(maxsize=1)
def _font():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not FONT_PATH.exists():
        raise SystemExit(f"CJK font not found at {FONT_PATH}: install Debian fonts-wqy-microhei "
                         "or point JIXIAO_CJK_FONT at a TTF/TTC with CJK glyphs")
    font = TTFont(FONT, str(FONT_PATH), subfontIndex=0)
    pdfmetrics.registerFont(font)
    return font


@lru_cache(maxsize=None)
def _char_w(ch: str) -> float:
    """Width of one character at size 1 (reportlab applies no kerning to TTFs, so widths add up)."""
    from reportlab.pdfbase import pdfmetrics

    _font()
    return pdfmetrics.stringWidth(ch, FONT, 1.0)


def measure(text: str, size: float) -> float:
    return sum(_char_w(c) for c in text) * size


def _breaks(s: str, norm) -> list[tuple[int, int, bool]]:
    """Where `s` may be broken: (end of this line, start of the next, preferred). Breaks fall on a
    whitespace run (dropped) or between two characters one of which is CJK, and only where re-joining
    the pieces with `join_broken` normalizes back to the same text."""
    out = []
    n = len(s)
    i = 1
    while i < n:
        if s[i].isspace():
            j = i
            while j < n and s[j].isspace():
                j += 1
            if j < n and not s[i - 1].isspace():
                out.append((i, j))
            i = j + 1
            continue
        if not s[i - 1].isspace() and (is_cjk(s[i - 1]) or is_cjk(s[i])):
            out.append((i, i))
        i += 1
    good = []
    for i, j in out:
        a, b = s[max(0, i - 8):i], s[j:j + 8]
        if norm(join_broken([a, b])) != norm(s[max(0, i - 8):j + 8]):
            continue
        preferred = s[j] not in NO_LINE_START and s[i - 1] not in NO_LINE_END
        good.append((i, j, preferred))
    return good


def wrap(text: str, width: float, size: float, *, cell: bool) -> list[str]:
    """Greedy wrap of one line or cell to `width` points."""
    norm = normalize_cell if cell else normalize_text
    text = text.strip()
    if not text:
        return [""]
    widths = [_char_w(c) * size for c in text]
    if sum(widths) <= width:
        return [text]
    prefix = [0.0]
    for w in widths:
        prefix.append(prefix[-1] + w)
    breaks = _breaks(text, norm)
    lines: list[str] = []
    start = 0
    while prefix[-1] - prefix[start] > width:
        fitting = [b for b in breaks if b[0] > start and prefix[b[0]] - prefix[start] <= width]
        if not fitting:
            raise ValueError(f"cannot wrap {text[start:start + 40]!r}… into {width:.0f}pt: unbreakable run too wide")
        preferred = [b for b in fitting if b[2]]
        # a preferred break that keeps most of the line beats a kinsoku violation
        best = preferred[-1] if preferred and prefix[preferred[-1][0]] - prefix[start] > 0.6 * width else fitting[-1]
        lines.append(text[start:best[0]])
        start = best[1]
    lines.append(text[start:])
    if norm(join_broken(lines)) != norm(text):
        raise AssertionError(f"wrapping changed the text of {text[:40]!r}")
    return lines


def _min_run(text: str, size: float) -> float:
    """Width of the widest piece of `text` that may not be broken."""
    text = text.strip()
    if not text:
        return 0.0
    cuts = [0]
    for i, j, _ in _breaks(text, normalize_cell):
        cuts += [i, j]
    cuts.append(len(text))
    return max(measure(text[a:b], size) for a, b in zip(cuts[::2], cuts[1::2]))


def column_widths(rows: list[list[str]], ncols: int) -> list[float]:
    """Fit the columns into the body width: every column at least as wide as its widest unbreakable run,
    the remaining space shared in proportion to how much each column would like."""
    extra = 2 * CELL_PAD_X + 2 * CELL_SLACK
    mins = [MIN_COL_W] * ncols
    prefs = [MIN_COL_W] * ncols
    for cells in rows:
        for k, c in enumerate(cells):
            if len(cells) < ncols and k == len(cells) - 1:
                continue  # spans to the last column; checked when the row is wrapped
            mins[k] = max(mins[k], _min_run(c, CELL_SIZE) + extra)
            prefs[k] = max(prefs[k], min(measure(c.strip(), CELL_SIZE) + extra, PREF_COL_CAP))
    prefs = [max(p, m) for p, m in zip(prefs, mins)]
    if sum(mins) > BODY_W:
        raise ValueError(f"table of {ncols} columns cannot fit: needs {sum(mins):.0f}pt of {BODY_W:.0f}pt")
    if sum(prefs) <= BODY_W:
        total = sum(prefs)
        return [p * BODY_W / total for p in prefs]
    spare = BODY_W - sum(mins)
    want = sum(p - m for p, m in zip(prefs, mins))
    return [m + spare * (p - m) / want for p, m in zip(prefs, mins)]


def _span_width(widths: list[float], k: int, ncells: int) -> float:
    if ncells < len(widths) and k == ncells - 1:
        return sum(widths[k:])
    return widths[k]


def layout_row(cells: list[str], widths: list[float]) -> Row:
    lines = [wrap(c, _span_width(widths, k, len(cells)) - 2 * CELL_PAD_X - 2 * CELL_SLACK, CELL_SIZE, cell=True)
             for k, c in enumerate(cells)]
    height = max(len(x) for x in lines) * CELL_LEAD + 2 * CELL_PAD_Y
    if height > BODY_H:
        raise ValueError(f"row {cells[:2]!r}… is taller than a page ({height:.0f}pt)")
    return Row(cells, lines, height)


# -------------------------------------------------------------------------------------------- layout

def paginate(blocks: list) -> list[Page]:
    pages: list[Page] = [[]]
    used = 0.0

    def new_page():
        nonlocal used
        if pages[-1]:
            pages.append([])
        used = 0.0

    for block in blocks:
        if block is PAGE_BREAK:
            new_page()
        elif isinstance(block, Prose):
            for piece in wrap(block.text, PROSE_WIDTH, PROSE_SIZE, cell=False):
                if used + PROSE_LEAD > BODY_H:
                    new_page()
                pages[-1].append(Prose(piece, block.bold))
                used += PROSE_LEAD
        else:
            ncols = max(len(r) for r in block.rows)
            widths = column_widths(block.rows, ncols)
            piece: TablePiece | None = None
            for cells in block.rows:
                row = layout_row(cells, widths)
                gap = TABLE_GAP if piece is None and used > 0 else 0.0
                if used + gap + row.height > BODY_H:
                    new_page()
                    piece, gap = None, 0.0
                if piece is None:
                    piece = TablePiece(widths)
                    pages[-1].append(piece)
                    used += gap
                piece.rows.append(row)
                used += row.height
            used += TABLE_GAP
    return [p for p in pages if p]


def layout_seed(path: Path) -> list[Page]:
    return paginate(parse_seed(decode_text(path.read_bytes())))


# ------------------------------------------------------------------------------------------- writers

_CELL_LINE = re.compile(r"^ *\t[^\t]*$")


def _txt_row(cells: list[str]) -> str:
    line = "\t".join(cells)
    # A row of one cell, or of an empty cell and one more, would read back as prose or as seed 003's
    # one-cell-per-line form; a trailing TAB keeps it a row (trailing empty cells are dropped on load).
    if "\t" not in line or _CELL_LINE.match(line):
        line += "\t"
    return line


def render_txt(pages: list[Page]) -> bytes:
    out = []
    for page in pages:
        lines = []
        for item in page:
            if isinstance(item, Prose):
                lines.append(item.text)
            else:
                lines.extend(_txt_row(r.cells) for r in item.rows)
        out.append("\n".join(lines) + "\n")
    return "\f".join(out).encode("utf-8")


def render_pdf(pages: list[Page], title: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Table, TableStyle

    _font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("jixiao corpus generator")
    c.setCreator("scripts/make_corpus.py")
    c.setProducer("reportlab")
    c.setSubject("rendering of corpus/seeds/" + title + ".txt")
    for page in pages:
        used = 0.0
        last_was_table = False
        for item in page:
            if isinstance(item, Prose):
                if last_was_table:
                    used += TABLE_GAP
                baseline = PAGE_H - MARGIN_TOP - used - (PROSE_LEAD + PROSE_SIZE * 0.8) / 2
                t = c.beginText(MARGIN_X, baseline)
                t.setFont(FONT, PROSE_SIZE)
                if item.bold:  # the font has no bold face: fill and stroke the glyphs instead
                    c.setLineWidth(0.35)
                    t.setTextRenderMode(2)
                t.textOut(item.text)
                if item.bold:
                    t.setTextRenderMode(0)
                c.drawText(t)
                used += PROSE_LEAD
                last_was_table = False
            else:
                if used > 0:
                    used += TABLE_GAP
                n = item.ncols
                data, style = [], [
                    ("FONTNAME", (0, 0), (-1, -1), FONT),
                    ("FONTSIZE", (0, 0), (-1, -1), CELL_SIZE),
                    ("LEADING", (0, 0), (-1, -1), CELL_LEAD),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD_X + CELL_SLACK),
                    ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD_X + CELL_SLACK),
                    ("TOPPADDING", (0, 0), (-1, -1), CELL_PAD_Y),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PAD_Y),
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ]
                for r, row in enumerate(item.rows):
                    data.append(["\n".join(x) for x in row.lines] + [""] * (n - len(row.lines)))
                    if len(row.cells) < n:
                        style.append(("SPAN", (len(row.cells) - 1, r), (n - 1, r)))
                table = Table(data, colWidths=item.col_widths, rowHeights=[r.height for r in item.rows])
                table.setStyle(TableStyle(style))
                table.wrapOn(c, BODY_W, BODY_H)
                table.drawOn(c, MARGIN_X, PAGE_H - MARGIN_TOP - used - item.height)
                used += item.height
                last_was_table = True
        c.showPage()
    c.save()
    return buf.getvalue()


def _fixed_zip(data: bytes) -> bytes:
    """python-docx stamps zip members with the current time; restamp them so the file is reproducible."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def render_docx(pages: list[Page], title: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Pt(PAGE_W), Pt(PAGE_H)
    section.left_margin = section.right_margin = Pt(MARGIN_X)
    section.top_margin, section.bottom_margin = Pt(MARGIN_TOP), Pt(MARGIN_BOTTOM)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(PROSE_SIZE)
    normal.font.name = "WenQuanYi Micro Hei"
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "WenQuanYi Micro Hei")
    normal.paragraph_format.space_after = Pt(0)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, "jixiao corpus generator", "jixiao"
    props.created = props.modified = FIXED_DATE
    props.revision = 1

    for k, page in enumerate(pages):
        if k:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        for item in page:
            if isinstance(item, Prose):
                doc.add_paragraph().add_run(item.text).bold = item.bold or None
                continue
            n = item.ncols
            table = doc.add_table(rows=len(item.rows), cols=n)
            table.style = "Table Grid"
            table.autofit = False
            for col, width in zip(table.columns, item.col_widths):
                col.width = Pt(width)
            for row, tr in zip(item.rows, table.rows):
                cells = tr.cells
                for k2, text in enumerate(row.cells):
                    run = cells[k2].paragraphs[0].add_run(text)
                    run.font.size = Pt(CELL_SIZE)
                for k2, cell in enumerate(cells):
                    cell.width = Pt(item.col_widths[k2])
                if len(row.cells) < n:
                    cells[len(row.cells) - 1].merge(cells[n - 1])
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue())


# ---------------------------------------------------------------------------------------------- main

def render_all(out_dir: Path, stems: list[str] | None = None) -> dict[str, int]:
    counts = {}
    for seed in sorted(SEEDS.glob("*.txt")):
        if stems and seed.stem not in stems:
            continue
        pages = layout_seed(seed)
        for kind, data in (("txt", render_txt(pages)), ("pdf", render_pdf(pages, seed.stem)),
                           ("docx", render_docx(pages, seed.stem))):
            target = out_dir / kind / f"{seed.stem}.{kind}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        counts[seed.stem] = len(pages)
    return counts


def _lines(path: Path):
    from retrieval.loaders import load_path

    doc = load_path(path, max_bytes=1 << 30)
    return [(ln.page, ln.line_no, ln.kind, ln.text) for ln in doc.iter_lines()], len(doc.pages)


def _check_one(stem: str, fresh: Path, rendered: Path = RENDERED) -> list[str]:
    problems = []
    committed_txt = rendered / "txt" / f"{stem}.txt"
    if not committed_txt.exists():
        return [f"{stem}: {committed_txt} is missing"]
    if committed_txt.read_bytes() != (fresh / "txt" / f"{stem}.txt").read_bytes():
        problems.append(f"{stem}: committed txt differs from a fresh rendering")
    reference = _lines(committed_txt)
    for kind in ("pdf", "docx"):
        committed = rendered / kind / f"{stem}.{kind}"
        if not committed.exists():
            problems.append(f"{stem}: {committed} is missing")
            continue
        candidates = [("committed", committed)]
        if committed.read_bytes() != (fresh / kind / f"{stem}.{kind}").read_bytes():
            # not a failure: the contract is the lines; other reportlab/python-docx versions write other bytes
            print(f"note: {stem}.{kind} bytes differ from a fresh rendering (library versions?)", file=sys.stderr)
            candidates.append(("fresh", fresh / kind / f"{stem}.{kind}"))
        for label, path in candidates:
            got = _lines(path)
            if got != reference:
                problems.append(f"{stem}: {label} {kind} does not load to the txt rendering's lines "
                                f"({got[1]} vs {reference[1]} pages)")
    return problems


def check(jobs: int, rendered: Path = RENDERED, only: list[str] | None = None) -> int:
    stems = [p.stem for p in sorted(SEEDS.glob("*.txt")) if not only or p.stem in only]
    if not stems:
        print(f"no seed matches {only}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="jixiao-corpus-") as tmp:
        fresh = Path(tmp)
        n = len(stems)
        if jobs > 1 and n > 1:
            from concurrent.futures import ProcessPoolExecutor

            # the biggest report first, so the two workers finish together
            stems.sort(key=lambda s: -(SEEDS / f"{s}.txt").stat().st_size)
            with ProcessPoolExecutor(min(jobs, n)) as pool:
                list(pool.map(render_all, [fresh] * n, [[s] for s in stems]))
                results = list(pool.map(_check_one, stems, [fresh] * n, [rendered] * n))
        else:
            render_all(fresh, stems)
            results = [_check_one(s, fresh, rendered) for s in stems]
    problems = [p for r in results for p in r]
    for p in problems:
        print("FAIL", p, file=sys.stderr)
    if not problems:
        print(f"ok: {len(stems)} reports, txt byte-identical, pdf/docx load to the same lines")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="re-render into a temp dir and compare with corpus/rendered")
    ap.add_argument("--out", type=Path, default=RENDERED, help="output directory (default corpus/rendered)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes for --check")
    ap.add_argument("--rendered", type=Path, default=RENDERED, help="committed renderings --check compares with")
    ap.add_argument("--only", nargs="*", metavar="STEM", help="limit --check to these reports")
    args = ap.parse_args(argv)
    if args.check:
        return check(args.jobs, args.rendered, args.only)
    for stem, n in render_all(args.out).items():
        print(f"{stem}: {n} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
