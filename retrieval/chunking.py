"""Structure-aware chunks (pure): one report unit, one section, whole table rows.

Rules, and why:
  * A chunk never leaves its report unit (`ReportUnit` from retrieval.segment): a passage that mixes the
    end of one project with the start of the next cites the wrong project.
  * A chunk never leaves its section (headings 一、 / (一) / 1. / 1、 …): headings are where the reports
    change topic (资金情况 → 绩效目标 → 存在问题), and the section path is the best context we have.
  * Prose: the loader gives visual lines (wrapped at ~40 characters, blank lines dropped), so the lines
    of a section are re-joined exactly as `normalize.join_broken` joins them, then cut at sentence ends
    (。！？；) into pieces of at most `max_chars`. Paragraph ends (a short line ending a sentence, or a
    line opening with a list marker) are preferred cut points once a piece is a third full.
  * Tables: every row is its own chunk and stays whole. Rows are where the figures are (指标值, 实际完成值,
    得分, 执行率), and a question about one indicator should get that row, not half a table. A row alone
    says little (`⇥⇥享受补助人数⇥≥302人⇥302人⇥10.00⇥10.00`), so its *context* carries the project, the
    section, the table caption, the header row, and the level-1/level-2 cells carried down from the rows
    above (merged cells arrive as leading empty cells).
  * Each chunk keeps the exact text it was made from (`text`: a substring of the `join_broken` of its
    lines, or the row's TAB-joined text) so citations can be verified, and separately the text it is
    embedded and BM25-indexed with (`embed_text` = local context + text). The unit's label (project
    name, else unit title) is kept apart in `label`: prefixed to every chunk of a unit it made all of them
    look alike, and the shortest (a title line, `(2020年度)`) won every question that named the project.
    The index matches the question against labels separately (retrieval.index, "label prior").
  * The document's issuers (the departments that issued it: `部门:` / `项目单位:` / `主管部门及代码` fields,
    bare organisation lines, the title's opening) go on every chunk (`issuer`), so a question that names
    the department can be matched to the document instead of to every line that repeats its name.
  * A row that only labels columns (a header row, a row of column numbers, or a caption row of short
    figure-free cells directly above a row of figures) is marked `role="header"`: its words are in the
    context of the rows below, and on its own it answers nothing.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

from retrieval.normalize import is_cjk
from retrieval.types import CELL_SEP, Line, LoadedDocument

if TYPE_CHECKING:  # pragma: no cover
    from service.models import ReportUnit
    from service.settings import Settings

CHUNKER_VERSION = 7  # bump when chunk boundaries or context change (renames the Chroma collection)

ChunkKind = Literal["prose", "row", "heading"]


def _shared(value):
    return sys.intern(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)  # slots: no per-instance dict, ~300 bytes less for each of 300,000 chunks
class Chunk:
    chunk_id: str
    doc_id: str
    ordinal: int
    kind: ChunkKind
    text: str  # exact normalized text this chunk was made from
    context: str  # section / caption / table header / carried cells (local context, without the label)
    page: int
    line_start: int
    page_end: int
    line_end: int
    unit_id: str | None = None
    unit_kind: str = "other"
    project: str | None = None
    section: str = ""
    year: int | None = None
    filename: str = ""
    label: str = ""  # the unit's project name, else its title
    issuer: str = ""  # the organisations that issued the document, "|"-joined (see find_issuers)
    role: str = ""  # "header" for a row that labels columns (its words are in the context of the rows below)

    @property
    def embed_text(self) -> str:
        """What the embedding and BM25 see: the context prefix, then the text itself."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def stem(self) -> str:
        name = self.filename.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[0] if "." in name else name

    # Fields Chroma filters on (the approximate-search fallback's `where`, deletes by document); the rest
    # travels as one JSON value: Chroma writes and indexes every metadata key as a row of its own, and ~10
    # keys per chunk cost ~0.3 s per corpus at ingest for nothing.
    _FILTERED = ("doc_id", "unit_kind", "section", "label", "project", "year")

    def metadata(self) -> dict:
        """Chroma metadata: scalar values only, no None (Chroma rejects it; a missing key never matches)."""
        meta: dict = {"doc_id": self.doc_id, "unit_kind": self.unit_kind, "section": self.section,
                      "label": self.label}
        if self.project:
            meta["project"] = self.project
        if self.year is not None:
            meta["year"] = self.year
        meta["rest"] = json.dumps({
            "ordinal": self.ordinal, "kind": self.kind, "page": self.page, "line_start": self.line_start,
            "page_end": self.page_end, "line_end": self.line_end, "context": self.context,
            "filename": self.filename, "issuer": self.issuer, "role": self.role, "unit_id": self.unit_id,
        }, ensure_ascii=False, separators=(",", ":"))
        return meta

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict) -> Chunk:
        rest = json.loads(meta["rest"]) if "rest" in meta else meta
        # The same doc id, file name, project, section, label and issuer recur in every chunk of a document
        # (and a table's carried header in every row): one shared string each, not one per chunk, in the
        # in-memory search state and its snapshot (311,343 chunks at 10,000 documents).
        i = _shared
        return cls(
            chunk_id=chunk_id, doc_id=i(meta["doc_id"]), ordinal=int(rest.get("ordinal", 0)),
            kind=i(rest.get("kind", "prose")), text=text, context=i(rest.get("context", "")),
            page=int(rest["page"]), line_start=int(rest["line_start"]), page_end=int(rest["page_end"]),
            line_end=int(rest["line_end"]), unit_id=i(rest.get("unit_id")), unit_kind=i(meta.get("unit_kind", "other")),
            project=i(meta.get("project")), section=i(meta.get("section", "")), year=meta.get("year"),
            filename=i(rest.get("filename", "")), label=i(meta.get("label", "")), issuer=i(rest.get("issuer", "")),
            role=i(rest.get("role", "")),
        )

    def to_dict(self) -> dict:
        return asdict(self)


def chunking_signature(settings: Settings) -> dict:
    """Everything that changes chunk boundaries or chunk text (names the collection with the embedding)."""
    return {"chunker": CHUNKER_VERSION, "chunk_max_chars": settings.chunk_max_chars}


# ---------------------------------------------------------------------------------------------------------
# headings

_CN_NUM = "一二三四五六七八九十百零〇"
_PART = re.compile(rf"^第[{_CN_NUM}]+部分")
_H1 = re.compile(rf"^[{_CN_NUM}]+、")
_H2 = re.compile(rf"^\(\s*[{_CN_NUM}]+\s*\)")
_H3 = re.compile(r"^(?:\d{1,2}(?:[.、](?!\d)|\s*\.(?!\d))|\(\s*\d{1,2}\s*\)|[①②③④⑤⑥⑦⑧⑨⑩])")
# text is normalized: full-width ，；：！？ are already half-width , ; : ! ?
_SENTENCE_PUNCT = re.compile(r"[。;!?]")
_LIST_START = re.compile(rf"^(?:\(\s*[\d{_CN_NUM}]+\s*\)|\d{{1,2}}[.、](?!\d)|[①②③④⑤⑥⑦⑧⑨⑩]|[{_CN_NUM}]是)")
HEADING_MAX_CHARS = 32  # longest heading seen in the seeds is 30; wrapped prose lines are ~40


def visual_len(text: str) -> float:
    """Width in CJK characters: latin letters, digits and ASCII punctuation are about half as wide."""
    return sum(1.0 if ord(ch) > 0x2000 else 0.55 for ch in text)


def line_width(lines: Sequence[Line]) -> float:
    """The document's prose line width (90th percentile of visual widths): a line that wide was wrapped."""
    widths = sorted(visual_len(ln.text) for ln in lines if ln.kind == "text" and len(ln.text) >= 8)
    if len(widths) < 5:
        return 40.0
    return max(12.0, widths[int(0.9 * (len(widths) - 1))])


def heading_level(text: str, width: float | None = None) -> int | None:
    """0 for 第一部分, 1 for 一、, 2 for (一), 3 for 1. / 1、 / (1) / ①; None for prose.

    A marker alone is not enough: numbered list items (`1.细化预算编制工作，…`) are prose, and so is an
    inline heading with its text after a colon (`(3)评价方法:采取材料核实…`). A heading is short, holds at
    most one sentence, and does not fill the line (`width`): a full line was wrapped, so it goes on.
    """
    t = text.strip()
    if not t or len(t) > HEADING_MAX_CHARS:
        return None
    if width and visual_len(t) >= 0.85 * width:
        return None
    inner = _SENTENCE_PUNCT.findall(t.rstrip("。;:"))
    if inner or ("," in t[:-1] and len(t) > 24):
        return None
    colon = t.find(":")
    if 0 <= colon < len(t) - 1:
        return None
    if _PART.match(t):
        return 0  # 第三部分 sits above 一、
    if _H1.match(t):
        return 1
    if _H2.match(t):
        return 2
    if _H3.match(t):
        return 3
    return None


# Title lines that open a new part of a unit (a form, a table, an annex): they end the section above, so
# the narrative's last heading (七、其他需要说明的问题) does not label the form that follows it.
_TITLE = re.compile(r"(?:绩效自评|自评表|评分表|评分附件表|汇总表|统计表|情况表|决算表|指标体系框架|自评报告|总结报告)$"
                    r"|^(?:附件|附表)")


def is_title(text: str) -> bool:
    t = text.strip()
    return 0 < len(t) <= 30 and bool(_TITLE.search(t)) and not _SENTENCE_PUNCT.search(t)


def _is_caption(text: str) -> bool:
    """A short title line without sentence punctuation (table captions, 公开01表, 项目绩效自评 …)."""
    t = text.strip()
    return 0 < len(t) <= 30 and not _SENTENCE_PUNCT.search(t) and "," not in t and ":" not in t[:-1]


# ---------------------------------------------------------------------------------------------------------
# years

_YEAR_NIANDU = re.compile(r"((?:19|20)\d{2})\s*年度")
_YEAR_NIAN = re.compile(r"((?:19|20)\d{2})\s*年")


def find_year(texts: Sequence[str]) -> int | None:
    """The evaluated year: the first `NNNN年度`, else the first `NNNN年` (report dates come later)."""
    for rx in (_YEAR_NIANDU, _YEAR_NIAN):
        for t in texts:
            m = rx.search(t)
            if m:
                return int(m.group(1))
    return None


# ---------------------------------------------------------------------------------------------------------
# issuers

_ORG_NAME = r"[\u4e00-\u9fff()]{2,30}?(?:局|委员会|委|中心|大队|办公室|厅)"
_ISSUER_FIELD = re.compile(r"^(?:填报部门|部门|项目单位|主管部门(?:及代码)?|实施单位|实施预算单位|预算单位|单位名称|报送单位)"
                           r"(?::\s*|\s*$|\s*(?=\[)|(?=[\u4e00-\u9fff]{2}))(?:\[\d+\])?\s*(?P<v>.*)$")
_ORG = re.compile(rf"^(?P<v>{_ORG_NAME})(?:机关)?$")
_PLACE = re.compile(r"^[\u4e00-\u9fff]{1,6}?(?:省|自治区|市|区|县|旗)")
_TITLE_ORG = re.compile(r"^(?:\d{4}年度?)?(?P<v>[\u4e00-\u9fff]{1,20}?(?:局|委员会|中心|大队))"
                        r"(?=[\u4e00-\u9fff\d]*(?:报告|决算|自评|评价|绩效))")


def find_issuers(lines: Sequence[Line]) -> list[str]:
    """The organisations that issued a document, most frequent first: values of the reports' labelled
    fields (部门:, 项目单位:, 主管部门及代码, 实施单位, 实施预算单位 …) that read as an organisation
    (…局, …委员会, …中心, …大队, optionally …机关), lines that are nothing but an organisation name
    opening with a place (郑州市中原区医疗保障局), and the organisation a title opens with
    (上街区人社局财政预算项目绩效评价报告).

    A question that names the issuer names the document, not a passage in it: the index matches issuer
    names like unit labels and takes them out of what it searches for (retrieval.index)."""
    counts: dict[str, int] = {}

    def add(value: str | None) -> None:
        value = re.sub(r"^\[\d+\]\s*", "", (value or "").strip())
        m = _ORG.match(value)
        if m:
            counts[m.group("v")] = counts.get(m.group("v"), 0) + 1

    for line in lines:
        cells = [c.strip() for c in _cells(line) if c.strip()] if line.kind == "row" else [line.text.strip()]
        for i, cell in enumerate(cells):
            m = _ISSUER_FIELD.match(cell)
            if m:
                add(m.group("v") or (cells[i + 1] if i + 1 < len(cells) else ""))
            elif _PLACE.match(cell):
                add(cell)
    for line in lines[:3]:
        m = _TITLE_ORG.match(line.text.strip())
        if m:
            add(m.group("v"))
    return sorted(counts, key=lambda k: (-counts[k], k))


def issuer_aliases(name: str) -> list[str]:
    """The ways a question names an issuer: in full, and without its leading places
    (郑州市中原区医疗保障局 → 中原区医疗保障局 → 医疗保障局)."""
    out = [name]
    rest = name
    while True:
        m = _PLACE.match(rest)
        if not m or len(rest) - m.end() < 3:
            break
        rest = rest[m.end():]
        out.append(rest)
    return out


# ---------------------------------------------------------------------------------------------------------
# prose: exact join with offsets, sentence cuts

def join_with_offsets(lines: Sequence[Line]) -> tuple[str, list[tuple[int, int]]]:
    """`join_broken([l.text for l in lines])` plus each line's [start, end) in the result."""
    result = ""
    spans: list[tuple[int, int]] = []
    for line in lines:
        piece = line.text.strip()
        if not piece:
            spans.append((len(result), len(result)))
            continue
        if result and not (is_cjk(result[-1]) or is_cjk(piece[0])):
            result += " "
        start = len(result)
        result += piece
        spans.append((start, len(result)))
    return result, spans


# Seeds 000–002 lost their table structure: their form rows arrive as prose lines such as
# `预算编制合理性合理合理1.00 1.00`. Such a line ends a chunk, so each form row stays whole and alone
# (is_form_row_line; a prose line that merely wraps after a number is not one).
_TABULAR = re.compile(r"\d%?\s+[-\d≥≤<>=]|\d(?:\.\d+)?%?$")
_CLAUSE_PUNCT = re.compile(r"[。,;]")


def is_form_row_line(text: str) -> bool:
    """A form row flattened to one prose line: figures at its end or figures in a row, and no clause
    punctuation. Prose that wraps right after a number (`…其中:基本支出617.86万元,占83.85%;项目支出119.02`)
    is not a row: cutting there split the sentence from its `万元,占16.15%`."""
    return bool(_TABULAR.search(text)) and not _CLAUSE_PUNCT.search(text)
_SENT_END = re.compile(r"[。!?;]+[”’」』)\]]*")
_SOFT_CUT = re.compile(r"[,、:]")


def _cut_points(text: str, spans: list[tuple[int, int]], lines: Sequence[Line], wrap: int
                ) -> tuple[list[int], set[int], set[int]]:
    """Sentence ends; the subset that are paragraph ends; and hard ends (form rows flattened to prose)."""
    cuts = {m.end() for m in _SENT_END.finditer(text)}
    para: set[int] = set()
    hard: set[int] = set()
    for i, (s, e) in enumerate(spans):
        if s == e:
            continue
        line_text = lines[i].text.strip()
        if is_form_row_line(line_text):
            cuts.add(e)
            hard.add(e)
            if i > 0 and spans[i - 1][1] in hard:
                cuts.add(s)  # consecutive form rows: each alone
                hard.add(s)
        if i > 0 and _LIST_START.match(lines[i].text.strip()):
            cuts.add(s)
            para.add(s)
        line_len = e - s
        if e in cuts and line_len < wrap * 0.8:
            para.add(e)
    cuts.add(len(text))
    para.add(len(text))
    return sorted(c for c in cuts if 0 < c <= len(text)), para, hard


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at commas, else hard, into pieces of at most max_chars."""
    pieces = []
    while end - start > max_chars:
        window = text[start:start + max_chars]
        soft = [m.end() for m in _SOFT_CUT.finditer(window)]
        cut = start + (soft[-1] if soft and soft[-1] > max_chars // 3 else max_chars)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def split_prose(text: str, cuts: list[int], para: set[int], max_chars: int,
                hard: set[int] | frozenset = frozenset()) -> list[tuple[int, int]]:
    """Pack sentences into pieces of at most max_chars; prefer paragraph ends once a third full; always
    end a piece at a hard cut."""
    pieces: list[tuple[int, int]] = []
    cur_start, cur_end, prev = 0, 0, 0
    min_fill = max_chars // 3
    for cut in cuts:
        s, e = prev, cut
        prev = cut
        if e - s > max_chars:
            if cur_end > cur_start:
                pieces.append((cur_start, cur_end))
            parts = _split_long(text, s, e, max_chars)
            pieces.extend(parts[:-1])
            cur_start, cur_end = parts[-1]
        elif e - cur_start > max_chars and cur_end > cur_start:
            pieces.append((cur_start, cur_end))
            cur_start, cur_end = s, e
        else:
            cur_end = e
        if cur_end > cur_start and (cur_end in hard or (cur_end in para and cur_end - cur_start >= min_fill)):
            pieces.append((cur_start, cur_end))
            cur_start = cur_end
    if cur_end > cur_start:
        pieces.append((cur_start, cur_end))
    out = []
    for s, e in pieces:  # trim spaces so text is exactly what the span shows
        while s < e and text[s] == " ":
            s += 1
        while e > s and text[e - 1] == " ":
            e -= 1
        if e > s:
            out.append((s, e))
    return out


# ---------------------------------------------------------------------------------------------------------
# tables

_HEADER_WORDS = (
    "一级指标", "二级指标", "三级指标", "指标值", "完成值", "分值", "得分", "权重", "偏差原因", "年初预算数",
    "全年预算数", "全年执行数", "执行数", "执行率", "预算数", "决算数", "行次", "科目名称", "科目编码", "项目",
    "栏次", "合计", "情况说明", "存在问题", "评价等级", "指标解释", "指标说明", "单位", "金额",
)
_DIGIT = re.compile(r"\d")
_INDICATOR_HEADER = ("一级指标", "二级指标", "三级指标")


def _cells(line: Line) -> list[str]:
    return list(line.cells) if line.cells is not None else line.text.split(CELL_SEP)


def is_header_row(cells: Sequence[str]) -> bool:
    """No figures, at least two short cells, most of them header words (一级指标, 年初预算数, 行次 …)."""
    filled = [c for c in cells if c]
    if len(filled) < 2 or any(_DIGIT.search(c) and not re.search(r"[（(]\d+[)）]", c) for c in filled):
        return False
    hits = sum(1 for c in filled if any(w in c for w in _HEADER_WORDS))
    return hits >= max(2, (len(filled) + 1) // 2) and all(len(c) <= 24 for c in filled)


_FIGURE_CELL = re.compile(r"\d")


def is_caption_row(cells: Sequence[str], next_cells: Sequence[str] | None) -> bool:
    """A header the word list does not know: at least three short cells without figures, directly above a
    row with figures in two cells or more (高新区's `二、预算执行情况 | 预算安排情况(调整后) | 资金到位情况 |
    … | 预算执行进度` over `预算数: 5 | 到位数: 5 | 执行数: 4.9745 | 99%`). Not inside an indicator table,
    whose rows of names (`预算和财务管理 | 预算编制完整性 | 完整`) sit above rows of targets."""
    filled = [c for c in cells if c]
    if len(filled) < 3 or any(len(c) > 16 or _FIGURE_CELL.search(c) for c in filled):
        return False
    return bool(next_cells) and sum(1 for c in next_cells if c and _FIGURE_CELL.search(c)) >= 2


def is_label_row(cells: Sequence[str]) -> bool:
    """A row that labels columns rather than holding figures: a header row (一级指标 / 年初预算数 …), or a
    row of column numbers (`栏次 1 2 3 …`, `1 2 3 … 12`). Such a row answers nothing on its own: its words
    are in the context of every row below it."""
    if is_header_row(cells):
        return True
    filled = [c for c in cells if c]
    nums = [c for c in filled if c.isdigit()]
    words = [c for c in filled if not c.isdigit()]
    return len(nums) >= 3 and len(words) <= 1 and [int(c) for c in nums] == list(range(int(nums[0]), int(nums[0]) + len(nums)))


@dataclass
class _TableState:
    header: list[str] = field(default_factory=list)
    indicator: bool = False
    prev_filled: list[str] = field(default_factory=list)
    group: str = ""
    section: str = ""  # the section the table belongs to ("" when prose came between heading and table)
    last_page: int = 0
    last_line: int = 0


def _row_context(state: _TableState, cells: list[str]) -> tuple[str, list[str]]:
    """Header words and the carried-down leading cells for one row; returns (context, filled cells)."""
    filled = list(cells)
    carried: list[str] = []
    if state.indicator and state.prev_filled:
        k = next((i for i, c in enumerate(cells) if c), len(cells))
        for i in range(min(k, len(state.prev_filled))):
            if state.prev_filled[i]:
                filled[i] = state.prev_filled[i]
                carried.append(state.prev_filled[i])
    parts = []
    if state.header:
        parts.append("表头: " + " ".join(h for h in state.header if h))
    if state.group:
        parts.append("分组: " + state.group)
    if carried:
        parts.append(" > ".join(carried))
    return " | ".join(parts), filled


# ---------------------------------------------------------------------------------------------------------
# the chunker

@dataclass
class _UnitInfo:
    unit_id: str | None
    kind: str
    project: str | None
    title: str
    year: int | None


def _assign_units(doc: LoadedDocument, units: Sequence[ReportUnit]) -> dict[tuple[int, int], int]:
    """(page, line) -> index into units; lines outside every unit are absent."""
    out: dict[tuple[int, int], int] = {}
    for i, u in enumerate(units):
        lo, hi = (u.page_start, u.line_start), (u.page_end, u.line_end)
        for line in doc.iter_lines():
            if lo <= line.key <= hi:
                out.setdefault(line.key, i)
    return out


_LABEL_KINDS = ("project", "summary", "department", "framework", "accounts")


def _unit_label(info: _UnitInfo) -> str:
    """What a question would call the unit: the project, else a named unit's title. Titles of `other`
    units are section headings (二、绩效自评工作开展情况), and titles with under four ideographs
    (`2022年度`) name nothing."""
    if info.project:
        return info.project
    title = info.title or ""
    if info.kind in _LABEL_KINDS and len(re.findall(r"[\u4e00-\u9fff]", title)) >= 4:
        return title
    return ""


def chunk_document(doc: LoadedDocument, units: Sequence[ReportUnit], *, max_chars: int = 400,
                   wrap: float | None = None) -> list[Chunk]:
    """Cut a loaded document into chunks that respect its units, sections and table rows.

    `units` come from `retrieval.segment.segment(doc)`; lines they do not cover form chunks of kind
    "other" without a unit. `wrap` is the prose line width (measured from the document when None), used
    to tell headings and paragraph ends from wrapped lines.
    """
    lines = list(doc.iter_lines())
    wrap = wrap or line_width(lines)
    issuer = "|".join(find_issuers(lines))
    unit_of = _assign_units(doc, units)
    doc_year = find_year([ln.text for ln in lines[:40]])
    infos: list[_UnitInfo] = []
    for i, u in enumerate(units):
        texts = [ln.text for ln in lines if unit_of.get(ln.key) == i]
        infos.append(_UnitInfo(u.unit_id, u.kind, u.project, u.title, find_year(texts) or doc_year))
    none_info = _UnitInfo(None, "other", None, "", doc_year)

    chunks: list[Chunk] = []

    def emit(kind: ChunkKind, text: str, context: str, first: Line, last: Line, info: _UnitInfo, section: str,
             role: str = ""):
        ordinal = len(chunks)
        chunks.append(Chunk(
            chunk_id=f"{doc.doc_id[:16]}-{ordinal:05d}", doc_id=doc.doc_id, ordinal=ordinal, kind=kind,
            text=text, context=context, page=first.page, line_start=first.line_no, page_end=last.page,
            line_end=last.line_no, unit_id=info.unit_id, unit_kind=info.kind, project=info.project,
            section=section, year=info.year, filename=doc.filename, label=_unit_label(info), issuer=issuer,
            role=role,
        ))

    # walk the lines, grouping consecutive prose lines of one unit + section
    cur_unit: int | None = -1
    headings: dict[int, tuple[str, Line]] = {}
    section = ""
    section_has_body = True
    prose_since_heading = 0
    prose: list[Line] = []
    table = _TableState()
    caption = ""
    prev_line: Line | None = None

    def flush_prose(info: _UnitInfo):
        nonlocal prose
        if not prose:
            return
        text, spans = join_with_offsets(prose)
        cuts, para, hard = _cut_points(text, spans, prose, wrap)
        prev_piece = ""
        for s, e in split_prose(text, cuts, para, max_chars, hard):
            covered = [ln for ln, (a, b) in zip(prose, spans) if a < e and b > s and b > a]
            context = section
            if s in hard or e in hard:
                # a form row flattened to prose: the piece before it is its header or the row above.
                # (Giving every row the form's column header instead, as table rows have, was measured:
                # each row then matched the header's words and the one row that answers lost its edge.)
                context = " | ".join(p for p in (section, prev_piece[:80]) if p)
            emit("prose", text[s:e], context, covered[0], covered[-1], info, section)
            prev_piece = text[s:e]
        prose = []

    def flush_heading(info: _UnitInfo, next_level: int | None = None):
        # a heading whose section stayed empty would otherwise be findable by no chunk; one followed by a
        # deeper heading is not empty: the sub-sections carry it in their section path
        if not section_has_body and headings and (next_level is None or next_level <= max(headings)):
            level = max(headings)
            text, line = headings[level]
            emit("heading", text, "", line, line, info, section)

    next_row: dict[tuple[int, int], list[str] | None] = {}  # each row line -> the row right after it
    for a, b in zip(lines, lines[1:] + [None]):
        if a.kind == "row":
            next_row[a.key] = _cells(b) if b is not None and b.kind == "row" else None

    for line in lines:
        uidx = unit_of.get(line.key)
        info = infos[uidx] if uidx is not None else none_info
        if uidx != cur_unit:
            if cur_unit != -1:
                prev_info = infos[cur_unit] if cur_unit is not None else none_info
                flush_prose(prev_info)
                flush_heading(prev_info)
            cur_unit = uidx
            headings, section, section_has_body, prose_since_heading = {}, "", True, 0
            table, caption = _TableState(), ""
        if line.kind == "row":
            flush_prose(info)
            cells = _cells(line)
            filled_nonempty = [c for c in cells if c]
            if len(filled_nonempty) == 1 and is_title(filled_nonempty[0]):
                flush_heading(info, 0)
                headings = {0: (filled_nonempty[0], line)}
                section, prose_since_heading = filled_nonempty[0], 0
            continuing = prev_line is not None and prev_line.kind == "row" and (
                (prev_line.page == line.page and prev_line.table_index == line.table_index)
                or prev_line.page != line.page)
            if not continuing:
                # a table right under its heading belongs to it; one after the heading's prose does not
                # (高新区's forms follow the narrative's last sub-section, 二、拟应用情况)
                table = _TableState(section=section if prose_since_heading == 0 else "")
            header = is_header_row(cells) or (not table.indicator and is_caption_row(cells, next_row.get(line.key)))
            if header:
                # consecutive header rows (项目 / 功能分类科目编码 …) merge cell by cell
                if table.header and table.last_page == line.page and table.last_line == line.line_no - 1 \
                        and not table.prev_filled and is_header_row(cells):
                    width = max(len(table.header), len(cells))
                    a = table.header + [""] * (width - len(table.header))
                    b = cells + [""] * (width - len(cells))
                    table.header = ["/".join(p for p in (x, y) if p) for x, y in zip(a, b)]
                else:
                    table.header = cells
                    table.prev_filled = []
                table.indicator = any(w in "".join(table.header) for w in _INDICATOR_HEADER)
            ctx, filled = _row_context(table, cells)
            if len(filled_nonempty) == 1 and len(cells) <= 2 and len(filled_nonempty[0]) <= 12 and table.header:
                table.group = filled_nonempty[0]  # a level-1 label on a row of its own
            context = " | ".join(p for p in (table.section, caption, ctx) if p)
            role = "header" if header or is_label_row(cells) else ""
            emit("row", line.text, context, line, line, info, table.section, role)
            section_has_body = True
            if not header:
                table.prev_filled = filled
            table.last_page, table.last_line = line.page, line.line_no
            prev_line = line
            continue
        level = 0 if is_title(line.text) else heading_level(line.text, wrap)
        if level is not None:
            flush_prose(info)
            flush_heading(info, level)
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = (line.text.strip(), line)
            section = " > ".join(headings[k][0] for k in sorted(headings))
            section_has_body = False
            prose_since_heading = 0
            caption = line.text.strip() if level == 0 else ""
            prev_line = line
            continue
        if _is_caption(line.text) and (prev_line is None or prev_line.kind == "row" or not prose):
            # short title lines between blocks name the table that follows (公开01表, 自评价评分附件表 …)
            caption = line.text.strip() if not caption or prev_line is None or prev_line.kind == "row" \
                else f"{caption} {line.text.strip()}"
        else:
            prose_since_heading += 1
        prose.append(line)
        section_has_body = True
        prev_line = line
    if cur_unit != -1:
        last_info = infos[cur_unit] if cur_unit is not None else none_info
        flush_prose(last_info)
        flush_heading(last_info)
    return chunks


def content_hash(chunks: Sequence[Chunk]) -> str:
    """Hash of everything a chunk stores: equal hashes mean re-indexing would change nothing."""
    h = hashlib.sha256()
    for c in chunks:
        h.update(json.dumps(c.to_dict(), sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# private fallback segmentation, used only while retrieval.segment is missing (tests, eval)

_UNIT_START = re.compile(
    r"^(?:财政项目支出绩效自评报告|部门预算项目绩效自评表|项目绩效自评$|项目支出绩效评价指标体系框架|"
    r"第[一二三四]部分|.{0,20}绩效评价报告$|.{0,12}绩效评价$|.{0,20}绩效$)")
_PROJECT_NAME = re.compile(r"^项目名称[:：]?\s*(.+)$")


def _fallback_units(doc: LoadedDocument) -> list[ReportUnit]:
    from service.models import ReportUnit

    starts: list[Line] = []
    for line in doc.iter_lines():
        text = line.text.replace(CELL_SEP, " ").strip()
        if _UNIT_START.match(text) and len(text) <= 30:
            starts.append(line)
    lines = list(doc.iter_lines())
    if not lines:
        return []
    if not starts or starts[0].key != lines[0].key:
        starts.insert(0, lines[0])
    keys = [ln.key for ln in lines]
    units = []
    for n, first in enumerate(starts):
        i0 = keys.index(first.key)
        i1 = keys.index(starts[n + 1].key) - 1 if n + 1 < len(starts) else len(lines) - 1
        span = lines[i0:i1 + 1]
        project = None
        for ln in span:
            cells = [c for c in (ln.cells or ln.text.split(CELL_SEP)) if c]
            for j, c in enumerate(cells):
                m = _PROJECT_NAME.match(c)
                if m and m.group(1).strip():
                    project = m.group(1).strip()
                elif c.startswith("项目名称") and j + 1 < len(cells):
                    project = cells[j + 1]
                if project:
                    break
            if project:
                break
        title = first.text.replace(CELL_SEP, " ").strip()
        kind = "project" if project else ("framework" if "框架" in title else
                                          "accounts" if "部分" in title else "other")
        units.append(ReportUnit(
            unit_id=f"{doc.doc_id[:12]}-u{n:03d}", doc_id=doc.doc_id, kind=kind, title=title, project=project,
            page_start=span[0].page, line_start=span[0].line_no, page_end=span[-1].page, line_end=span[-1].line_no,
        ))
    return units
