"""Plain text and markdown.

Pages are separated by form feeds (or a line of only `---`, which converters leave at page breaks).
A line with TABs is a table row. Seed 003 shows a second table form, one cell per line: each cell line
starts with a single TAB, a line without the TAB continues the cell above, and a blank line ends the row.
Rows that follow each other, blank lines between them aside, belong to one table. Tables flattened by
copy-paste are rows too: cells separated by `|` (markdown tables; their `---` rule lines are dropped) or by
runs of two or more spaces.
"""
from __future__ import annotations

import re

from retrieval.loaders.common import PageBuilder
from retrieval.normalize import join_broken
from retrieval.types import Page

_PAGE_BREAK_LINE = re.compile(r"^\s*-{3,}\s*$")
_CELL_LINE = re.compile(r"^ *\t[^\t]*$")
# Tables flattened by copy-paste: `|`-separated cells (markdown tables included) and cells separated by runs
# of spaces. Prose never holds two `|` nor runs of 2+ spaces between words in any report we have seen, yet
# a lone run can be a typo, so a space-separated line is a row only with 3+ cells or beside another such line.
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SPACE_RUN = re.compile(r"(?<=\S)[ \u3000]{2,}(?=\S)")


def pipe_cells(line: str) -> list[str] | None:
    body = line.strip()
    if body.count("|") < 2 and not (body.startswith("|") and body.endswith("|") and len(body) > 1):
        return None
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def space_cells(line: str) -> list[str] | None:
    if "\t" in line or not _SPACE_RUN.search(line.strip()):
        return None
    return [c for c in _SPACE_RUN.split(line.strip())]


_BINARY_MAGIC = ((b"%PDF-", "a PDF"), (b"PK\x03\x04", "a zip archive (DOCX/XLSX?)"), (b"\xd0\xcf\x11\xe0", "an old "
                 "Office (DOC/XLS) file"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                 (b"\x1f\x8b", "a gzip archive"), (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7z archive"))


def sniff_text(data: bytes, subject: str | None = None) -> None:
    """Refuse a file named .txt/.md that is not text: a PDF or Office file renamed, or binary bytes (which
    would be stored as pages of garbage). A stray NUL or control character is not refused; the loader drops
    them (retrieval.normalize)."""
    from service.errors import InputError

    head = data[:8]
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InputError(f"the file is named as text but is {what}; give it its real extension",
                             subject=subject, code="not_text")
    sample = data[:65536]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32 and b != 27)
    if controls > max(16, len(sample) // 50):
        raise InputError(f"the file is named as text but {controls} of its first {len(sample)} bytes are binary",
                         subject=subject, code="not_text")
    text = decode_text(sample[: len(sample) - 4] if len(data) > len(sample) else sample)
    if text.count("\ufffd") > max(8, len(text) // 100):
        raise InputError("the file is named as text but is neither UTF-8 nor GB18030 text",
                         subject=subject, code="not_text")
    from retrieval.loaders.limits import current

    max_lines = int(current().rows * 2.5)
    if data.count(b"\n") > max_lines:
        raise InputError(f"the text has more than {max_lines:,} lines (2.5 × JIXIAO_MAX_ROWS); split it into smaller files",
                         subject=subject, code="too_many_rows")


def decode_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def split_pages(text: str) -> list[list[str]]:
    pages: list[list[str]] = [[]]
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts = raw.split("\f")
        for i, part in enumerate(parts):
            if i > 0:
                pages.append([])
            if _PAGE_BREAK_LINE.match(part):
                pages.append([])
                continue
            pages[-1].append(part)
    return [p for p in pages if any(line.strip() for line in p)] or [[]]


def parse_page(number: int, raw_lines: list[str]) -> Page:
    builder = PageBuilder(number)
    i = 0
    in_table = False
    n = len(raw_lines)
    while i < n:
        line = raw_lines[i]
        if not line.strip() and "\t" not in line:
            i += 1
            continue
        if _CELL_LINE.match(line):
            # one-cell-per-line block: collect cells until a blank line
            cells: list[list[str]] = []
            while i < n and ("\t" in raw_lines[i] or raw_lines[i].strip()):
                cur = raw_lines[i]
                if "\t" in cur:
                    cells.append([cur.split("\t", 1)[1]])
                elif cells:
                    cells[-1].append(cur)
                i += 1
            builder.add_row([join_broken(c) if any(p.strip() for p in c) else "" for c in cells],
                            new_table=not in_table)
            in_table = True
            continue
        if "\t" in line:
            builder.add_row(line.split("\t"), new_table=not in_table)
            in_table = True
            i += 1
            continue
        if _PIPE_RULE.match(line) and "|" in line:
            i += 1  # a markdown table's rule line: layout, not content
            continue
        cells = pipe_cells(line)
        if cells is None:
            cells = space_cells(line)
            if cells is not None and len(cells) < 3 and not _space_row_near(raw_lines, i):
                cells = None
        if cells is not None:
            builder.add_row(cells, new_table=not in_table)
            in_table = True
            i += 1
            continue
        in_table = False
        builder.end_table()
        builder.add_text(line)
        i += 1
    return builder.page


def _space_row_near(raw_lines: list[str], i: int) -> bool:
    """The next non-blank line is a space-separated row as well (two make a table)."""
    for j in range(i + 1, min(i + 3, len(raw_lines))):
        if raw_lines[j].strip():
            return space_cells(raw_lines[j]) is not None or pipe_cells(raw_lines[j]) is not None
    return False


def load_text(data: bytes) -> list[Page]:
    text = decode_text(data)
    return [parse_page(k + 1, lines) for k, lines in enumerate(split_pages(text))]
