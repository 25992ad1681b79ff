"""Report units (pure): cut a loaded document into project evaluations, summary tables, department-level
evaluation, 部门决算 blocks, framework text and other prose.

Units are found from content, never from file names:
  * Henan 上街区: a text line `项目绩效自评` with `项目名称…` below it starts the project table; the narrative
    report before it is that project's narrative, so both form one unit.
  * Hebei 高新区: a row `一、基本情况 | 项目名称 | X …` anchors a 部门预算项目绩效自评表; the table runs back over
    its title lines (附件2 / 部门预算项目绩效自评表 / (2020年度) / 填报部门) and forward over its rows to
    填报人. Prose between tables is cut at office sections (`二、人才交流中心绩效评价`); a section followed
    by a single table joins it, a section followed by several tables is cut at sub-headings that name
    one of those projects (`1.就业专项资金`, `(一)建国前老党员生活补贴`), the rest staying `other`.
  * Zhongyuan 中原区: `财政项目支出绩效自评报告` + `项目名称:X` starts a project report that runs to the next
    marker; `项目自评总结报告` / `项目自评汇总表` start a summary, `…部门整体绩效自评报告` a department
    unit, a `…部门决算` title or `第四部分名词解释` an accounts unit.
  * Narrative only: a document with no project marker whose prose states `“X”项目…总得分…分` is one project.
  * `项目支出绩效评价指标体系框架` starts framework text.
A unit never straddles two projects. `unit_id = f"{doc_id[:12]}-u{ordinal:03d}"`, ordinals from 1.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from retrieval.normalize import join_broken
from retrieval.types import Line, LoadedDocument
from service.models import ReportUnit, UnitKind

# --- markers ----------------------------------------------------------------------------------------

_HENAN_TITLE = re.compile(r"项目(?:支出)?绩效自评(?:表)?")
_ZY_TITLE = re.compile(r"(?:财政)?项目(?:支出)?绩效自评(?:价)?报告")
_FRAMEWORK = re.compile(r"(?:附件\d*[::]?\s*)?(?:项目支出)?绩效评价指标体系框架")
_SUMMARY = re.compile(r".{0,20}项目自评总结报告|.{0,20}项目(?:支出)?(?:绩效)?自评(?:结果|情况)?汇总表")
_DEPARTMENT = re.compile(r".{0,30}部门整体(?:支出)?绩效自评(?:价)?报告")
_ACCOUNTS = re.compile(r"第[一二三四五六七八九十]+部分\s*名词解释")
_ORG_LINE = re.compile(r"[^\s,。;:、]{2,25}(?:局|委员会|委|办公室|中心|院|厅|政府|部)")
_HEBEI_TITLE = re.compile(
    r"附件\d*|.{0,8}部门预算项目绩效自评表|\(?\s*\d{4}\s*年度?\s*\)?|填报部门.*|(?:金额)?单位[::].*|万元|元"
)
_SECTION = re.compile(r"(?:[一二三四五六七八九十]+|\d+)[、.．]\s*\S{2,16}?绩效评价?")
_NUMBERING = re.compile(
    r"^(?P<num>\([一二三四五六七八九十]+\)|[一二三四五六七八九十]+[、.．]|\(\d+\)|\d+[、.．](?!\d))[、]?\s*(?P<rest>.*)$"
)
_QUOTED_PROJECT_TOTAL = re.compile(r"“([^”]{2,40})”项目(?:绩效)?(?:自评)?总得分")


def first_cell(line: Line) -> str:
    if line.kind == "row" and line.cells:
        return next((c for c in line.cells if c), "")
    return line.text


def numbering_rank(text: str) -> int | None:
    """Heading level of a numbered line: 一、 → 1, (一) → 2, 1. → 3, (1) → 4; None when not numbered."""
    m = _NUMBERING.match(text)
    if not m:
        return None
    num = m.group("num")
    if num.startswith("(") and re.match(r"\([一二三四五六七八九十]", num):
        return 2
    if num.startswith("("):
        return 4
    if re.match(r"[一二三四五六七八九十]", num):
        return 1
    return 3


def strip_numbering(text: str) -> str:
    m = _NUMBERING.match(text)
    return m.group("rest").strip() if m else text.strip()


@dataclass
class Span:
    """A planned unit over flat line indices [start, end)."""

    start: int
    end: int
    kind: UnitKind
    title: str
    project: str | None = None
    layout: str | None = None  # henan | hebei | zhongyuan | narrative, when a project layout was seen
    aliases: list[str] = field(default_factory=list)


def flat_lines(doc: LoadedDocument) -> list[Line]:
    return [line for page in doc.pages for line in page.lines]


# --- project names -------------------------------------------------------------------------------------
# One project is written several ways within a report: `破产、困难企业…` in its own report and `破产困难企业…`
# in the summary table, `检查and专项` / `检查和专项`, `劳务派遣人员专项资金资金` (a doubled word), a table name
# with `(专项资金)` appended, a trailing `1`. Yet different projects can differ by exactly such a detail:
# seed 004 has `…医疗救助补助的资金` and `…医疗救助补助资金` as two reports. So a link is made only when it
# is unambiguous: an exact match on the light key always wins; a looser key or containment counts only when
# it singles out one project. (service.extraction.names re-exports these for the extractor and the eval.)

_PUNCT = re.compile(r"[\s、,，.。:：;；·\-—_()（）\[\]【】“”\"'‘’《》<>!！?？]+")
_PAREN = re.compile(r"[(（][^()（）]{1,12}[)）]")
_TRAILING_NUM = re.compile(r"\d+$")
_DOUBLED = re.compile(r"(.{2,4})\1$")


def light_key(name: str) -> str:
    """Spacing and punctuation removed, lower case; every word kept."""
    return _PUNCT.sub("", name or "").lower()


def loose_key(name: str) -> str:
    """Also ignores a short parenthetical, 的, 和/and/与/及, a doubled last word and a trailing number, and
    reads 经费 as 资金."""
    key = _PAREN.sub("", name or "")
    key = light_key(key).replace("经费", "资金")  # 专项经费 and 专项资金 name the same kind of money
    for word in ("and", "和", "与", "及", "的"):
        key = key.replace(word, "")
    key = _TRAILING_NUM.sub("", key)
    m = _DOUBLED.search(key)
    if m:
        key = key[: m.start(1) + len(m.group(1))]
    return key


def match_name(mention: str, names: Iterable[str], *, allow_contains: bool = True) -> str | None:
    """The one name in `names` that `mention` denotes, or None when unknown or ambiguous."""
    names = list(dict.fromkeys(names))
    light = light_key(mention)
    if not light:
        return None
    exact = [n for n in names if light_key(n) == light]
    if len(exact) == 1:
        return exact[0]
    if exact:
        return None
    loose = loose_key(mention)
    by_loose = [n for n in names if loose_key(n) == loose]
    if len(by_loose) == 1:
        return by_loose[0]
    if by_loose or not allow_contains or len(loose) < 4:
        return None
    contained = [n for n in names if loose in loose_key(n) or (len(loose_key(n)) >= 4 and loose_key(n) in loose)]
    return contained[0] if len(contained) == 1 else None


# --- project anchors ----------------------------------------------------------------------------------

_FLAT_FUNDS = re.compile(r"^年度资金总额\S*\s*\d[\d.,]*\s+\d[\d.,]*\s+\d")


def flattened_funds_row(lines: list[Line]) -> bool:
    """The funds row of a table extracted as plain text: label and figures run together on one text line
    (`年度资金总额: 970.00 970.00 909.50 93.76% 10.00 9.38`)."""
    return any(ln.kind == "text" and _FLAT_FUNDS.match(ln.text) for ln in lines)


def _henan_project(lines: list[Line], i: int) -> str | None:
    """Name under a Henan `项目绩效自评` title: `项目名称X`, continued up to `主管部门`."""
    if lines[i].kind != "text" or not _HENAN_TITLE.fullmatch(lines[i].text):
        return None
    if not flattened_funds_row(lines[i : i + 80]):
        return None  # a form whose cells kept their separation is the general reader's
    for j in range(i + 1, min(i + 5, len(lines))):
        t = lines[j].text
        if lines[j].kind == "text" and t.startswith("项目名称"):
            parts = [t[len("项目名称"):].lstrip(":: ")]
            for k in range(j + 1, min(j + 4, len(lines))):
                if lines[k].text.startswith(("主管部门", "实施单位", "项目资金")):
                    break
                parts.append(lines[k].text)
            return join_broken(parts) or None
    return None


_FIELD_STOP = re.compile(r"^(?:项目名称|项目单位|主管部门|实施单位|项目资金|\d{4}\s*年\s*\d{1,2}\s*月|[一二三四五六七八九十]+、)")


def labelled_value(lines: list[Line], key: str, start: int = 0, window: int = 8) -> str | None:
    """`项目名称:X` in a report header, the value continued over wrapped lines up to the next field."""
    for j in range(start, min(start + window, len(lines))):
        t = lines[j].text
        if lines[j].kind == "text" and t.startswith(key):
            parts = [t[len(key):].lstrip(":: ")]
            for k in range(j + 1, min(j + 4, len(lines))):
                if lines[k].kind != "text" or _FIELD_STOP.match(lines[k].text):
                    break
                parts.append(lines[k].text)
            return join_broken(parts) or None
    return None


# --- general forms (any template): a form title, or a 项目名称 / 部门(单位)名称 label ------------------------

_FORM_TITLE = re.compile(
    r"^(?:附件\s*\d*\s*[:：]?)?(?:\(?\s*20\d{2}\s*年度?\s*\)?)?\S{0,30}?绩效(?:自评|自评价|自我评价)(?:表|结果表|情况表)"
    r"(?:\(?\s*20\d{2}\s*年度?\s*\)?)?$"
)
_DEPT_FORM = re.compile(r"部门整体|整体支出|部门\(单位\)整体|单位整体")


def _label_value(line: Line, labels: tuple[str, ...], nxt: Line | None = None) -> str | None:
    """The value of a `label` cell (the next non-empty cell) or a `label：value` line, when `line` has one."""
    from service.extraction.form_grid import kv_cells
    from service.extraction.vocabulary import classify_header, label_in

    if line.kind == "row" and line.cells:
        cells = [c for c in line.cells if c.strip()]
        if sum(1 for c in cells if classify_header(c).field) >= 3:
            return None  # a list's column header (序号 | 项目名称 | 全年预算数 …), not a form's label
        for k, c in enumerate(cells):
            if label_in(c, labels):
                return cells[k + 1].strip() if k + 1 < len(cells) else ""
            m = re.match(r"^(" + "|".join(map(re.escape, labels)) + r")\s*[:：]\s*(\S.*)$", c.strip())
            if m:
                return m.group(2)
        return None
    kv = kv_cells(line.text)
    if kv and label_in(kv[0], labels):
        return kv[1]
    if label_in(line.text, labels) and nxt is not None and nxt.kind == "text":
        return nxt.text.strip()  # a table copied one cell per line: the value is the next line
    return None


def form_start(lines: list[Line], i: int) -> tuple[UnitKind, str, int] | None:
    """(kind, name, lines the start covers) when a general self-evaluation form starts at line i: its title
    (…绩效自评表, with the 项目名称 or 部门名称 label in the next few lines giving the name), or a 项目名称 /
    部门(单位)名称 label with no title above it."""
    from service.extraction.vocabulary import DEPARTMENT_LABELS, PROJECT_LABELS

    line = lines[i]
    text = first_cell(line).strip()
    dept_labels = ("部门(单位)名称", "部门名称", "单位名称")
    if len(text) <= 40 and (line.kind == "text" or len([c for c in line.cells or [] if c.strip()]) == 1) \
            and numbering_rank(text) is None and _FORM_TITLE.match(re.sub(r"\s+", "", text)):
        dept = bool(_DEPT_FORM.search(text))
        for j in range(i + 1, min(i + 8, len(lines))):
            nxt = lines[j + 1] if j + 1 < len(lines) else None
            name = _label_value(lines[j], PROJECT_LABELS, nxt)
            if name is not None and not dept:
                return "project", name, j - i + 1
            name = _label_value(lines[j], dept_labels + DEPARTMENT_LABELS[:3], nxt)
            if name is not None and dept:
                return "department", name, j - i + 1
        return ("department" if dept else "project"), "", 1
    name = _label_value(line, PROJECT_LABELS)
    if name:
        return "project", name, 1
    return None


def _zhongyuan_project(lines: list[Line], i: int) -> str | None:
    if lines[i].kind != "text" or not _ZY_TITLE.fullmatch(lines[i].text):
        return None
    return labelled_value(lines, "项目名称", i + 1, 3)


def hebei_project(line: Line) -> str | None:
    """Project name on a Hebei `一、基本情况 | 项目名称 | X` row."""
    if line.kind != "row" or not line.cells:
        return None
    cells = line.cells
    if not first_cell(line).startswith("一、基本情况") or "项目名称" not in cells:
        return None
    k = cells.index("项目名称")
    return cells[k + 1].strip() if k + 1 < len(cells) and cells[k + 1].strip() else None


def is_hebei_title(line: Line) -> bool:
    text = first_cell(line).strip()
    return bool(text) and len(text) <= 40 and bool(_HEBEI_TITLE.fullmatch(text))


def _hebei_tables(lines: list[Line]) -> list[Span]:
    spans: list[Span] = []
    i = 0
    n = len(lines)
    while i < n:
        name = hebei_project(lines[i])
        if name is None:
            i += 1
            continue
        start = i
        floor = spans[-1].end if spans else 0
        while start - 1 >= floor and i - start < 8 and is_hebei_title(lines[start - 1]):
            start -= 1
        end = i + 1
        while end < n:
            line = lines[end]
            if hebei_project(line) is not None or is_hebei_title(line):
                break
            if line.kind == "row" or first_cell(line).startswith(("填报人", "联系电话")):
                end += 1
                continue
            break
        spans.append(Span(start, end, "project", name, project=name, layout="hebei"))
        i = end
    return spans


# --- the plan -------------------------------------------------------------------------------------------

def _title_of(lines: list[Line], start: int, end: int) -> str:
    for line in lines[start:end]:
        t = first_cell(line).strip()
        if t:
            return t[:60]
    return ""


def _org_lookback(lines: list[Line], i: int, floor: int) -> int:
    """Include the issuer line (`郑州市中原区医疗保障局`) printed above a report title."""
    if i - 1 >= floor and lines[i - 1].kind == "text" and _ORG_LINE.fullmatch(lines[i - 1].text):
        return i - 1
    return i


_LEGACY = {"henan", "zhongyuan", "hebei", "narrative"}
_LEGACY_HEAD = 8  # a legacy anchor's own 项目名称 line sits within its first lines


_TOKEN = re.compile(r"[\d.,%]+|[—\-/]+|优秀|良好|中等|较差|合格|不合格|优|良|中|差")


def _report_before(lines: list[Line], i: int, floor: int, name: str) -> int:
    """Where a form's unit starts: at its title, or earlier when the prose right above the title is that
    form's own report (it names the project): in a file of several reports each report precedes its table."""
    if not name:
        return i
    def prose(ln: Line) -> bool:  # a paragraph typed into one cell of a sheet counts as prose
        text = ln.text.strip()
        if _TOKEN.fullmatch(text):  # a figure or a grade: the previous form's last cells, copied one per line
            return False
        return ln.kind == "text" or len([c for c in ln.cells or [] if c.strip()]) == 1

    key = light_key(name)
    start = i
    back = i
    while back - 1 > floor and i - back < 40 and prose(lines[back - 1]):
        back -= 1
        if key in light_key(lines[back].text):
            start = back  # the earliest line of the block that names the form's project
    return start


def plan(doc: LoadedDocument) -> list[Span]:
    lines = flat_lines(doc)
    n = len(lines)
    if n == 0:
        return []
    hebei = _hebei_tables(lines)
    hebei_at = {s.start: s for s in hebei}

    head = " ".join(l.text for l in lines[:5])
    cur_kind: UnitKind = "accounts" if "部门决算" in head and "说明" not in head else "other"
    spans: list[Span] = [Span(0, n, cur_kind, _title_of(lines, 0, n))]

    def cut(i: int, kind: UnitKind, title: str, project: str | None = None, layout: str | None = None) -> None:
        last = spans[-1]
        if i <= last.start:
            last.kind, last.title, last.project, last.layout = kind, title, project, layout
            return
        last.end = i
        spans.append(Span(i, n, kind, title, project, layout))

    i = 0
    while i < n:
        if i in hebei_at:
            t = hebei_at[i]
            cut(t.start, "project", t.project or "", t.project, "hebei")
            if t.end < n:
                cut(t.end, "other", _title_of(lines, t.end, n))
            i = t.end
            continue
        line = lines[i]
        text = line.text.strip()
        cur = spans[-1]
        name = _zhongyuan_project(lines, i)
        if name:
            cut(i, "project", name, name, "zhongyuan")
            i += 1
            continue
        name = _henan_project(lines, i)
        if name:
            cut(i, "project", name, name, "henan")
            i += 1
            continue
        near_legacy = any(h in hebei_at for h in range(i, i + _LEGACY_HEAD))
        if (cur.layout not in _LEGACY or i - cur.start > _LEGACY_HEAD) and not near_legacy:
            start = form_start(lines, i)
            if start is not None:
                kind, name, covers = start
                cut(_report_before(lines, i, cur.start, name), kind, name or _title_of(lines, i, n), name or None,
                    "form")
                i += covers
                continue
        cell = first_cell(line).strip()
        if _FRAMEWORK.fullmatch(cell) and cur.kind != "framework":
            cut(i, "framework", cell)
        elif _SUMMARY.fullmatch(cell) and cur.kind != "summary":
            cut(_org_lookback(lines, i, cur.start + 1), "summary", cell)
        elif _DEPARTMENT.fullmatch(cell) and cur.kind != "department":
            cut(_org_lookback(lines, i, cur.start + 1), "department", cell)
        elif _ACCOUNTS.fullmatch(text) and cur.kind != "accounts":
            cut(i, "accounts", text)
        i += 1

    if hebei:
        spans = _split_hebei_prose(lines, spans, [s.project or "" for s in hebei])
    spans = _merge_narratives(lines, spans)
    if not any(s.kind == "project" for s in spans):
        _narrative_project(lines, spans)
    for s in spans:
        if s.kind == "project" and s.project:
            s.title = s.project
    return [s for s in spans if s.end > s.start]


def section_headings(lines: list[Line]) -> list[tuple[int, str]]:
    """Office sections of a multi-office report (`二、人才交流中心绩效评价` → (index, `人才交流中心`))."""
    out = []
    for i, line in enumerate(lines):
        text = line.text.strip()
        if line.kind == "text" and _SECTION.fullmatch(text):
            name = re.sub(r"绩效评价?$", "", strip_numbering(text)).strip()
            out.append((i, name))
    return out


def _split_hebei_prose(lines: list[Line], spans: list[Span], projects: list[str]) -> list[Span]:
    """Cut prose between Hebei tables into office sections, and sections into per-project parts."""
    out: list[Span] = []
    for sp in spans:
        if sp.kind != "other":
            out.append(sp)
            continue
        cuts: list[tuple[int, UnitKind, str | None]] = [(sp.start, "other", None)]
        project_rank: int | None = None
        for i in range(sp.start, sp.end):
            line = lines[i]
            if line.kind != "text":
                continue
            text = line.text.strip()
            if _SECTION.fullmatch(text):
                cuts.append((i, "other", None))
                project_rank = None
                continue
            rank = numbering_rank(text)
            if rank is None:
                continue
            rest = strip_numbering(text)
            hit = None
            if len(rest) <= 40 and "。" not in rest:
                hit = match_name(rest, projects)
            if hit:
                cuts.append((i, "project", hit))
                project_rank = rank
            elif project_rank is not None and rank <= project_rank:
                cuts.append((i, "other", None))
                project_rank = None
        bounds = [c[0] for c in cuts] + [sp.end]
        for (start, kind, project), end in zip(cuts, bounds[1:]):
            if end <= start:
                continue
            if out and out[-1].kind == kind == "other" and out[-1].end == start and project is None and (
                not _SECTION.fullmatch(lines[start].text.strip())
            ):
                out[-1].end = end
                continue
            title = project if project else _title_of(lines, start, end)
            out.append(Span(start, end, kind, title, project, "hebei" if project else None))
    return out


def _merge_narratives(lines: list[Line], spans: list[Span]) -> list[Span]:
    """A prose unit with no project, directly followed by the one project table it introduces, joins it:
    the Henan narrative report before its table, a Hebei office section before its single table."""
    out: list[Span] = []
    for idx, sp in enumerate(spans):
        if (
            out
            and sp.kind == "project"
            and sp.layout in {"henan", "hebei", "form"}
            and out[-1].kind == "other"
            and out[-1].project is None
            and out[-1].end == sp.start
        ):
            prev = out[-1]
            nxt = spans[idx + 1] if idx + 1 < len(spans) else None
            single = sp.layout in ("henan", "form") or nxt is None or not (nxt.kind == "project" and nxt.layout == "hebei")
            intro_only = sp.layout == "hebei" and not _SECTION.fullmatch(lines[prev.start].text.strip())
            if single and not intro_only:
                out[-1] = Span(prev.start, sp.end, "project", sp.title, sp.project, sp.layout, sp.aliases)
                continue
        out.append(sp)
    return out


def _narrative_project(lines: list[Line], spans: list[Span]) -> None:
    """A report with no project table: its prose is one project when it states the project's total."""
    for sp in spans:
        if sp.kind != "other":
            continue
        text = join_broken([l.text for l in lines[sp.start:sp.end] if l.kind == "text"])
        m = _QUOTED_PROJECT_TOTAL.search(text)
        if not m:
            continue
        sp.kind = "project"
        sp.project = m.group(1)
        sp.layout = "narrative"
        return


def segment(doc: LoadedDocument) -> list[ReportUnit]:
    return [unit for unit, _ in segment_with_plan(doc)]


def segment_with_plan(doc: LoadedDocument) -> list[tuple[ReportUnit, Span]]:
    """Units with the plan they came from (flat line indices, layout seen), for the extractor."""
    lines = flat_lines(doc)
    units: list[tuple[ReportUnit, Span]] = []
    for k, sp in enumerate(plan(doc), start=1):
        first, last = lines[sp.start], lines[sp.end - 1]
        units.append((
            ReportUnit(
                unit_id=f"{doc.doc_id[:12]}-u{k:03d}",
                doc_id=doc.doc_id,
                kind=sp.kind,
                title=sp.title,
                project=sp.project,
                page_start=first.page,
                line_start=first.line_no,
                page_end=last.page,
                line_end=last.line_no,
            ),
            sp,
        ))
    return units


def unit_lines(doc: LoadedDocument, unit: ReportUnit) -> list[Line]:
    """The lines of a unit, in order."""
    out = []
    for page in doc.pages:
        if page.number < unit.page_start or page.number > unit.page_end:
            continue
        for line in page.lines:
            if (page.number, line.line_no) < (unit.page_start, unit.line_start):
                continue
            if (page.number, line.line_no) > (unit.page_end, unit.line_end):
                break
            out.append(line)
    return out
