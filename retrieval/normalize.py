"""Text normalization shared by every loader, so all renderings of a report read alike.

Rules, each seen in the seeds:
  * full-width ASCII variants and the ideographic space become half-width (`（50）` → `(50)`, `１０` → `10`);
  * whitespace next to a CJK character or CJK punctuation is dropped (`满 意 度 指 标` → `满意度指标`,
    `区属 12 家` → `区属12家`); other whitespace runs collapse to one space;
  * inside table cells, digits split by the PDF's column width are re-joined (`2 3.75` → `23.75`,
    `2 .84` → `2.84`, `1 0` → `10`, `≤1082 2251 元` → `≤10822251元`, `=100 %` → `=100%`);
  * pieces of a cell or paragraph broken across lines are joined with nothing at a CJK boundary and one
    space otherwise (`join_broken`);
  * padding just inside brackets is dropped (`(  2020年度 )` → `(2020年度)`);
  * inline HTML/markdown left by converters (`<b>…</b>`, `<p>`, `**`, leading `## `) is removed.
These are pure functions of text, applied after extraction, so the same string always normalizes the
same way whatever file it came from.
"""
from __future__ import annotations

import re
import unicodedata

_CJK_RANGES = (
    "\u2e80-\u2fdf"  # radicals
    "\u3000-\u303f"  # CJK punctuation 、。〈〉《》「」『』【】〔〕
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # ideographs
    "\uff00-\uffef"  # remaining full-width forms
    "\u2018-\u201f\u2026\u2014\u2015\u00b7\u2264\u2265"  # “”‘’ … — · ≤ ≥
)
CJK_CLASS = f"[{_CJK_RANGES}]"
_CJK_RE = re.compile(CJK_CLASS)
_SPACE_NEAR_CJK = re.compile(rf"(?<={CJK_CLASS})[ ]+|[ ]+(?={CJK_CLASS})")
# `（    2020  年度）` becomes `( 2020年度)` once brackets are half-width: padding inside brackets is layout.
_SPACE_IN_BRACKETS = re.compile(r"(?<=[(\[])[ ]+|[ ]+(?=[)\]])")
_WS_RUN = re.compile(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000\r\n\t\v\f]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\ufeff]")
# Terminal escape sequences (CSI/OSC) and other control characters are never document content: a NUL breaks
# the stores' text handling, an ESC sequence would reach a reviewer's terminal through `jixiao show`.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Drop terminal escape sequences and control characters (tab, newline, CR and form feed are kept)."""
    if not text or not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub("", _ESCAPES.sub("", text))
_TAGS = re.compile(r"</?(?:b|p|br|strong|em|i|u|span|div)\s*/?>", re.I)
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+")
# Inside cells only: digit runs split by narrow PDF columns.
_SPLIT_DIGITS = re.compile(r"(?<=\d) +(?=[\d.])|(?<=\.) +(?=\d)|(?<=[≥≤<>=]) +(?=[\d.])|(?<=\d) +(?=%)")


def to_halfwidth(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def is_cjk(ch: str) -> bool:
    return bool(ch) and bool(_CJK_RE.match(ch))


def strip_markup(text: str) -> str:
    text = _TAGS.sub("", text)
    text = _MD_HEADING.sub("", text)
    return text.replace("**", "")


def normalize_text(text: str) -> str:
    """Normalize one prose line (or any free text)."""
    text = unicodedata.normalize("NFC", strip_controls(text))
    text = _ZERO_WIDTH.sub("", text)
    text = strip_markup(to_halfwidth(text))
    text = _WS_RUN.sub(" ", text)
    text = _SPACE_NEAR_CJK.sub("", text)
    text = _SPACE_IN_BRACKETS.sub("", text)
    return text.strip()


def normalize_cell(text: str) -> str:
    """Normalize one table cell: prose rules plus re-joining split digits."""
    text = normalize_text(text)
    return _SPLIT_DIGITS.sub("", text)


def normalize_row(cells: list[str | None]) -> list[str]:
    """Normalize a table row. Cells under a span (None) are dropped; trailing empty cells are dropped,
    leading and inner empty cells are kept because their position carries meaning (merged columns)."""
    out = [normalize_cell(c) for c in cells if c is not None]
    while out and out[-1] == "":
        out.pop()
    return out


def join_broken(pieces: list[str]) -> str:
    """Join pieces of one cell or paragraph that a renderer broke across lines."""
    result = ""
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        if not result:
            result = piece
        elif is_cjk(result[-1]) or is_cjk(piece[0]):
            result += piece
        else:
            result += " " + piece
    return result


_CID = re.compile(r"\(cid:\d+\)")


def cid_ratio(text: str) -> float:
    """Share of characters that belong to `(cid:NNN)` codes: a font without a usable ToUnicode map."""
    if not text:
        return 0.0
    return sum(len(m.group(0)) for m in _CID.finditer(text)) / len(text)
