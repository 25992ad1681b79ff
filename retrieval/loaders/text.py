"""Plain text and markdown.

Pages are separated by form feeds (or a line of only `---`, which converters leave at page breaks).
A line with TABs is a table row. Seed 003 shows a second table form, one cell per line: each cell line
starts with a single TAB, a line without the TAB continues the cell above, and a blank line ends the row.
Rows that follow each other, blank lines between them aside, belong to one table.
"""
from __future__ import annotations

import re

from retrieval.loaders.common import PageBuilder
from retrieval.normalize import join_broken
from retrieval.types import Page

_PAGE_BREAK_LINE = re.compile(r"^\s*-{3,}\s*$")
_CELL_LINE = re.compile(r"^ *\t[^\t]*$")


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
        in_table = False
        builder.end_table()
        builder.add_text(line)
        i += 1
    return builder.page


def load_text(data: bytes) -> list[Page]:
    text = decode_text(data)
    return [parse_page(k + 1, lines) for k, lines in enumerate(split_pages(text))]
