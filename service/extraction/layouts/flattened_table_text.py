"""A scoring table that reached us as extracted text with no cell separators (layout id "henan", first seen in
seeds 000 and 001).

Nothing separates the cells: normalization drops the spaces next to CJK text, so a row reads
`预算编制合理性合理合理1.00 1.00` (name, target, actual, 分值, 得分) and `有效保障有效保障15.00 15.00`; long
cells wrap onto lines of their own (`保障我区集体破产企业` / `退休人员正常的医疗待` / `遇享受`) and a 偏差原因
note sits on the lines after its row (`享受补贴人数不固` / `定`). So the table is read as one joined stream:
  * the funds row `年度资金总额: 970.00 970.00 909.50 93.76% 10.00 9.38` gives 年初预算数, 全年预算数,
    全年执行数, 执行率, 资金执行分值, 资金执行得分; `其中:本年财政拨款 …` / `其他资金 …` the sources;
  * every indicator ends with its `分值 得分` pair (two numbers with two decimals, the last two of a run);
    between two pairs sit the previous row's note, level labels, the name, the target and the actual;
  * target and actual are peeled off the end: a number with operator and unit, a known qualitative word,
    or a word written twice; text between a numeric target and the actual's number belongs to the actual
    (`≥1.1万人` `约发放人数1.11万人`);
  * a note is told from a name by the line layout: lines before a level label, or before a values line that
    carries its own name, are the previous row's note.
"""
from __future__ import annotations

import re
from decimal import Decimal

from retrieval.types import Line
from service.extraction.prose import claims_in, find_grade, problems_and_measures, prose_stream
from service.extraction.spans import Stream
from service.extraction.targets import NUMBER_RE, OP_RE, UNIT_RE, doubled_tail, figure, parse_target, value_at_end
from service.models import Figure, Funds, FundsSource, Indicator, ProjectEvaluation, SourceRef, TextField

LAYOUT = "henan"
VARIANT = "henan-exec10"

LEVEL1 = ["投入和管理目标", "产出指标", "效益指标", "满意度指标", "成本指标"]
LEVEL2 = [
    "投入管理", "财务管理", "项目管理", "数量指标", "质量指标", "时效指标", "成本指标", "经济成本指标", "社会成本指标",
    "生态环境成本指标", "经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标", "经济效益", "社会效益",
    "生态效益", "可持续影响", "服务对象满意度指标", "服务对象满意度",
]
# Template names of 投入和管理目标 rows that begin with a level label (`项目管理制度健全性` is not
# `项目管理` + `制度健全性`).
PROTECTED_NAMES = ["财务管理制度健全性", "项目管理制度健全性", "财务管理制度", "项目管理制度"]
_LABELS = sorted(set(LEVEL1) | set(LEVEL2), key=len, reverse=True)

_TITLE = re.compile(r"项目(?:支出)?绩效自评(?:表)?")
N = rf"(?:{NUMBER_RE})"
_FUNDS_TOTAL = re.compile(
    rf"年度资金总额[::]?\s*(?P<a>{N})\s+(?P<b>{N})\s+(?P<c>{N})\s+(?P<r>{N})\s*%\s+(?P<w>{N})\s+(?P<s>{N})"
)
_FUNDS_SOURCE = re.compile(
    rf"(?:其中[::])?\s*(?P<name>[^\d\s:%:]{{2,12}}?)\s*(?P<a>{N})\s+(?P<b>{N})\s+(?P<c>{N})(?:\s+(?P<r>{N})\s*%)?"
)
_TOTAL = re.compile(rf"总分值\s*(?P<w>{N})\s*总得分\s*(?P<s>{N})")
_PAIR = re.compile(r"(?<![\d.])(\d+\.\d{2}) (\d+\.\d{2})(?![\d.%]| \d)")
_TAIL_NUMBER = re.compile(rf"(?:{OP_RE})?\s*(?:{NUMBER_RE})\s*(?:{UNIT_RE})?(?:及以上|及以下|以上|以下|以内)?")
_CJK_GAP = re.compile(r"[\u4e00-\u9fff]{1,8}")
_PROBLEMS = re.compile(r"发现的主要问题|存在的问题|存在问题")


def is_henan(lines: list[Line]) -> bool:
    from retrieval.segment import flattened_funds_row

    return any(l.kind == "text" and _TITLE.fullmatch(l.text) for l in lines) and flattened_funds_row(lines)


def _title_index(lines: list[Line]) -> int:
    for i, l in enumerate(lines):
        if l.kind == "text" and _TITLE.fullmatch(l.text):
            if any(x.text.startswith("项目名称") for x in lines[i + 1 : i + 5]):
                return i
    return 0


def _fig(raw: str, ref: SourceRef | None, unit: str | None) -> Figure | None:
    return figure(raw, ref, unit)


def parse(doc_id: str, unit_id: str, lines: list[Line]) -> ProjectEvaluation:
    t = _title_index(lines)
    prose, table = lines[:t], lines[t:]
    ts = Stream(doc_id, table)
    text = ts.text

    def grab(rx: str) -> re.Match | None:
        return re.search(rx, text)

    m = grab(r"项目名称[::]?\s*(.+?)(?=主管部门)")
    project = m.group(1).strip() if m else ""
    year = None
    if (m := grab(r"\(\s*(\d{4})\s*年度?\s*\)")):
        year = int(m.group(1))
    department = None
    if (m := grab(r"主管部门(?:及代码)?\s*(?:\[\d+\])?\s*(.+?)(?=实施单位)")):
        department = m.group(1).strip()
    implementer = None
    if (m := grab(r"实施单位\s*(.+?)(?=项目资金|预期目标)")):
        implementer = m.group(1).strip()

    funds = Funds(unit="万元")
    if (m := grab(r"项目资金\s*\((万元|元)\)")):
        funds.unit = m.group(1)
    ft = _FUNDS_TOTAL.search(text)
    if ft:
        ref = ts.ref(ft.start(), ft.end())
        u = funds.unit
        funds.initial_budget = _fig(ft.group("a"), ref, u)
        funds.adjusted_budget = _fig(ft.group("b"), ref, u)
        funds.executed = _fig(ft.group("c"), ref, u)
        funds.reported_rate = Figure(raw=ft.group("r") + "%", value=Decimal(ft.group("r")), unit="%", ref=ref)
        funds.exec_weight = _fig(ft.group("w"), ref, "分")
        funds.exec_score = _fig(ft.group("s"), ref, "分")
        end_src = text.find("预期目标", ft.end())
        region_end = end_src if end_src >= 0 else len(text)
        pos = ft.end()
        while pos < region_end:
            sm = _FUNDS_SOURCE.search(text, pos, region_end)
            if not sm:
                break
            sref = ts.ref(sm.start(), sm.end())
            name = sm.group("name").strip()
            funds.sources.append(FundsSource(
                name=name,
                initial_budget=_fig(sm.group("a"), sref, u),
                adjusted_budget=_fig(sm.group("b"), sref, u),
                executed=_fig(sm.group("c"), sref, u),
                reported_rate=(Figure(raw=sm.group("r") + "%", value=Decimal(sm.group("r")), unit="%", ref=sref)
                               if sm.group("r") else None),
            ))
            pos = sm.end()

    goals, completion = _goals(doc_id, table)
    reported_total = None
    if (m := _TOTAL.search(text)):
        reported_total = _fig(m.group("s"), ts.ref(m.start(), m.end()), "分")

    indicators = _indicators(doc_id, table)

    ps = prose_stream(doc_id, prose)
    grade = None
    if (g := find_grade(ps)):
        grade = TextField(text=g[0], ref=ps.ref(g[1], g[2]))
    problems, measures = problems_and_measures(doc_id, prose, _PROBLEMS)
    aliases = _title_aliases(prose, project)

    return ProjectEvaluation(
        unit_id=unit_id, doc_id=doc_id, project=project, aliases=aliases, department=department,
        implementer=implementer, year=year, funds=funds, indicators=indicators, reported_total=reported_total,
        reported_grade=grade, goals=goals, goal_completion=completion, stated_problems=problems,
        stated_measures=measures, narrative_claims=claims_in(ps),
    )


def _title_aliases(prose: list[Line], project: str) -> list[str]:
    """The report title names the project too: `(集体破产企业退休人员医疗费)` under the heading."""
    out = []
    for line in prose[:4]:
        m = re.fullmatch(r"\((.{4,40})\)", line.text.strip())
        if m and m.group(1) != project:
            out.append(m.group(1))
    return out


def _goals(doc_id: str, table: list[Line]) -> tuple[TextField | None, TextField | None]:
    """预期目标 / 目标实际完成情况: the goal ends at the first line ending in 。, the completion follows."""
    start = next((i for i, l in enumerate(table) if l.text.startswith("预期目标")), None)
    if start is None:
        return None, None
    end = next((i for i in range(start + 1, len(table)) if table[i].text.startswith("总分值")), len(table))
    body = table[start + 1 : end]
    if not body:
        return None, None
    cut = next((k + 1 for k, l in enumerate(body) if l.text.rstrip().endswith("。")), 1)
    goal_lines, done_lines = body[:cut], body[cut:]
    goal = Stream(doc_id, goal_lines)
    done = Stream(doc_id, done_lines) if done_lines else None
    return (
        TextField(text=goal.text, ref=goal.ref_all()) if goal.text else None,
        TextField(text=done.text, ref=done.ref_all()) if done and done.text else None,
    )


# --- indicators ------------------------------------------------------------------------------------------

def _label_at(text: str) -> str | None:
    if any(text.startswith(p) for p in PROTECTED_NAMES):
        return None
    for label in _LABELS:
        if text.startswith(label):
            return label
    return None


def _split_tail(s: str) -> tuple[int, int | None, int | None]:
    """(name end, target start, actual start) for the text before a `分值 得分` pair."""
    s = s.rstrip()
    a = value_at_end(s)
    if a is None:
        a = doubled_tail(s)
    if a is None:
        return len(s), None, None
    head = s[:a].rstrip()
    t = value_at_end(head)
    if t is None:
        # a numeric target followed by words that open the actual: `≥1.1万人` + `约发放人数1.11万人`
        last = None
        for m in _TAIL_NUMBER.finditer(head):
            if re.search(r"\d", m.group(0)):
                last = m
        if last is not None and _CJK_GAP.fullmatch(head[last.end():]):
            return last.start(), last.start(), last.end()
        d = doubled_tail(head)
        if d is not None and head[d:] == s[a:]:
            t = d
    if t is None:
        return a, None, a
    return t, t, a


def _indicators(doc_id: str, table: list[Line]) -> list[Indicator]:
    hdr = next((i for i, l in enumerate(table) if "一级指标" in l.text), None)
    if hdr is None:
        return []
    start = next((i for i in range(hdr + 1, len(table)) if any(table[i].text.startswith(x) for x in LEVEL1)), None)
    if start is None:
        return []
    body = Stream(doc_id, table[start:])
    text = body.text
    pairs = list(_PAIR.finditer(text))
    out: list[Indicator] = []
    level1: str | None = None
    level2: str | None = None
    prev_end = 0
    notes: list[str] = []
    for pm in pairs:
        a, b = prev_end, pm.start()
        rec = text[a:b]
        seg_starts = sorted({0} | {p - a for p in body.line_starts(a, b)})
        name_end, t_start, a_start = _split_tail(rec)
        p_text = rec[:name_end]
        note = ""
        label_seg = None
        for s0 in seg_starts:
            if s0 >= len(p_text):
                break
            if _label_at(p_text[s0:].lstrip()):
                label_seg = s0
                break
        if label_seg is not None:
            note = p_text[:label_seg].strip()
            rem = p_text[label_seg:].lstrip()
            while (lab := _label_at(rem)) is not None:
                nxt = rem[len(lab):]
                is_l1 = lab in LEVEL1 and (lab not in LEVEL2 or _label_at(nxt) is not None or level1 is None)
                if is_l1:
                    level1, level2 = lab, None
                else:
                    level2 = lab
                rem = nxt
            name = rem.strip()
            name_start = a + len(rec[:name_end]) - len(rem.lstrip()) if rem else a + name_end
        else:
            last_seg = max(s for s in seg_starts if s <= len(p_text)) if seg_starts else 0
            tail_part = p_text[last_seg:].strip()
            if tail_part and last_seg > 0:
                note = p_text[:last_seg].strip()
                name = tail_part
                name_start = a + last_seg + (len(p_text[last_seg:]) - len(p_text[last_seg:].lstrip()))
            else:
                name = p_text.strip()
                name_start = a + (len(p_text) - len(p_text.lstrip()))
        notes.append(note)
        target_raw = rec[t_start:a_start].strip() if t_start is not None and a_start is not None else ""
        actual_raw = rec[a_start:].strip() if a_start is not None else ""
        out.append(Indicator(
            level1=level1, level2=level2, level3=name or (level2 or level1 or ""),
            target=parse_target(target_raw) if target_raw else None,
            actual=parse_target(actual_raw) if actual_raw else None,
            weight=Decimal(pm.group(1)), score=Decimal(pm.group(2)),
            ref=body.ref(name_start, pm.end()),
        ))
        prev_end = pm.end()
    notes.append(text[prev_end:].strip())
    # a note belongs to the row before it
    for k, ind in enumerate(out):
        note = notes[k + 1]
        if note:
            ind.deviation_note = note
    return out
