"""Prose joined across visual lines, with a map from every character back to (page, line).

Renderings wrap prose at ~40 characters and break pages anywhere, so a regex must run over joined text.
We join exactly as retrieval.normalize.join_broken does (nothing at a CJK boundary, one space otherwise),
so the text of any run of lines of one page is a substring of the joined text and a quote cut from it is
valid for SourceRef. For matching, the spaces that joining put between two digits/number characters are
dropped (a wrap inside "5,549.6|6万元" must still read as one number); matches map back to the joined text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from retrieval.normalize import is_cjk
from retrieval.types import Line
from service.models import SourceRef

_NUMCH = re.compile(r"[0-9.,%]")


@dataclass
class JoinedText:
    doc_id: str
    text: str = ""  # as join_broken joins the lines
    locs: list[tuple[int, int]] = field(default_factory=list)  # (page, line_no) per char; (-1,-1) inserted
    search: str = ""  # text without join-inserted spaces between number characters
    search_to_text: list[int] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    # indices in `search` where a heading line starts (a sentence never crosses one)
    breaks: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, doc_id: str, lines: list[Line], heading_keys: set[tuple[int, int]] | None = None
              ) -> "JoinedText":
        jt = cls(doc_id=doc_id, lines=list(lines))
        parts: list[str] = []
        locs: list[tuple[int, int]] = []
        heading_keys = heading_keys or set()
        heading_starts: set[int] = set()
        heading_ends: set[int] = set()
        last = ""
        for ln in lines:
            piece = ln.text.strip()
            if not piece:
                continue
            if last and not (is_cjk(last[-1]) or is_cjk(piece[0])):
                parts.append(" ")
                locs.append((-1, -1))
            if ln.key in heading_keys:
                heading_starts.add(len(locs))
                heading_ends.add(len(locs) + len(piece))
            parts.append(piece)
            locs.extend([(ln.page, ln.line_no)] * len(piece))
            last = piece
        jt.text = "".join(parts)
        jt.locs = locs
        s_chars: list[str] = []
        s_map: list[int] = []
        for i, ch in enumerate(jt.text):
            if i in heading_starts or i in heading_ends:
                jt.breaks.append(len(s_chars))
            if locs[i] == (-1, -1) and ch == " ":
                prev = jt.text[i - 1] if i else ""
                nxt = jt.text[i + 1] if i + 1 < len(jt.text) else ""
                if _NUMCH.match(prev or " ") or _NUMCH.match(nxt or " "):
                    continue
            s_chars.append(ch)
            s_map.append(i)
        jt.search = "".join(s_chars)
        jt.search_to_text = s_map
        return jt

    def text_span(self, a: int, b: int) -> tuple[int, int]:
        """Search-string span [a, b) -> joined-text span [ta, tb)."""
        if b <= a:
            ta = self.search_to_text[a] if a < len(self.search_to_text) else len(self.text)
            return ta, ta
        return self.search_to_text[a], self.search_to_text[b - 1] + 1

    def ref(self, a: int, b: int, anchor: int | None = None) -> SourceRef:
        """SourceRef for search span [a, b). A citation lives on one page: when the span crosses a page
        break it is clipped to the page of `anchor` (default: the span's start)."""
        ta, tb = self.text_span(a, b)
        anchor_t = self.search_to_text[anchor] if anchor is not None else ta
        page = self.locs[anchor_t][0]
        if page == -1:  # an inserted space: look right
            k = anchor_t
            while k < len(self.locs) and self.locs[k][0] == -1:
                k += 1
            page = self.locs[min(k, len(self.locs) - 1)][0]
        idx = [i for i in range(ta, tb) if self.locs[i][0] == page]
        lo, hi = idx[0], idx[-1] + 1
        # inserted spaces at either end are not part of any line
        quote = self.text[lo:hi].strip()
        lines = [self.locs[i][1] for i in range(lo, hi) if self.locs[i][0] == page]
        return SourceRef(doc_id=self.doc_id, page=page, line_start=min(lines), line_end=max(lines), quote=quote)

    def sentences(self, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """Sentence spans of the search text: split after 。 and at heading boundaries."""
        end = len(self.search) if end is None else end
        cuts = sorted({start, end, *[b for b in self.breaks if start < b < end]})
        spans: list[tuple[int, int]] = []
        for s, e in zip(cuts, cuts[1:]):
            i = s
            for m in re.finditer("[。!?！？]", self.search[s:e]):
                j = s + m.end()
                if j > i:
                    spans.append((i, j))
                i = j
            if i < e:
                spans.append((i, e))
        return [(s, e) for s, e in spans if self.search[s:e].strip()]

    def line_of(self, search_index: int) -> tuple[int, int]:
        return self.locs[self.search_to_text[search_index]]
