"""Statements in prose (pure): totals, grades, rates and amounts a report states about a project, and
the sections (goals, problems, measures) its narrative is cut into.

Prose is matched on lines joined with `Stream` (renderings wrap every ~40 characters), and every claim
cites the lines it came from. Patterns are the wordings seen in the seeds:
  total   自评总得分100分 / 总得分99.31分 / 绩效总得分为100分 / 自评总分为95分 / 最终分数为95.04分
  grade   绩效评价等级为“优” / 属于“优”等级 / 评价结果为“优” / 评价等级优秀  (not `等级为优的共10项`, a count)
  rate    资金执行率达到99% / 支出率为95.1% / 执行率为70.51%
  budget  共需支付691033元 / 预计需支付970万元 / 资金预算共计5万元 / 财政预算安排3万元 / 预算数50万元
  spent   实际支付973万元 / 实际使用资金691032.8元 / 实际支出数为100万元 / 共支出就业资金1039万元 /
          共拨付“雨露计划”扶贫资金3万元 / 执行4,550.44万元
"""
from __future__ import annotations

import re
from decimal import Decimal

from retrieval.segment import numbering_rank
from retrieval.types import Line
from service.extraction.spans import Stream
from service.extraction.targets import NUMBER_RE
from service.models import ClaimKind, NarrativeClaim, TextField

N = rf"(?P<num>{NUMBER_RE})"
MONEY = r"\s*(?P<unit>万元|亿元|元)"

TOTAL_RE = re.compile(rf"(?<!平均)(?:总得分|总分|最终分数|最终得分|综合得分)(?:为|是|[::])?\s*{N}\s*分")
GRADE_WORDS = "优秀|良好|优|良|中等|中|差|合格|不合格"
GRADE_RE = re.compile(
    rf"(?:评价等级|绩效等级|自评等级|等级|评价结果|自评结果|属于)(?:为|是|[::])?\s*[“\"']?(?P<grade>{GRADE_WORDS})[”\"']?(?![的\d])"
)
RATE_RE = re.compile(rf"(?:执行率|支出率)(?:达到|为|达|是)?\s*{N}\s*%(?!\s*(?:\(含\))?(?:低于|高于|的)?项目)")
BUDGET_RE = re.compile(
    rf"(?:预算(?:资金)?(?:共计|安排|数为|数|为)|预计(?:需)?支付|预计使用资金|(?P<need>共需支付|需支付)"
    rf"|(?:补助|补贴)资金|涉及金额)\s*{N}{MONEY}"
)
# `共需支付` (the amount the calculation says is due) is a budget when the sentence dates it 年初/预计,
# and the actual payment when 实际 is the last such word before it or none is given.
_NEED_BUDGET = re.compile(r"年初|预计")
_NEED_ACTUAL = re.compile(r"实际")
PLACEHOLDER = re.compile(r"^\s*[((](?:主要填写|请填写|默认显示|填写)[^))]*[))]\s*$|^\s*[((][^))]{0,80}[))]\s*$")
NOTHING = {"无", "无。", "无.", "无;", "没有"}
EXEC_RE = re.compile(
    rf"(?:实际支付|实际使用资金|实际支出(?:数为|数|为)?|共支出[^,。;\d]{{0,8}}|共拨付[^,。;\d]{{0,16}}|预算执行金额|(?<![预算])执行)\s*{N}{MONEY}"
)
OTHER_RE = re.compile(rf"(?:上级专款|上级补助|追加资金)\s*{N}{MONEY}")

_CANON_GRADE = {"优秀": "优", "良好": "良", "中等": "中"}


def canonical_grade(word: str | None) -> str | None:
    if not word:
        return None
    word = word.strip().strip("“”\"'")
    return _CANON_GRADE.get(word, word)


def prose_stream(doc_id: str, lines: list[Line]) -> Stream:
    """Text lines only: table rows are read by the layout parsers."""
    return Stream(doc_id, [l for l in lines if l.kind == "text"])


def num_raw(phrase: str) -> str:
    """The number as written inside a stated phrase (`总得分88.41分` → `88.41`)."""
    m = re.search(NUMBER_RE, phrase)
    return m.group(0) if m else phrase


def find_total(stream: Stream) -> tuple[Decimal, int, int] | None:
    m = TOTAL_RE.search(stream.text)
    if not m:
        return None
    return Decimal(m.group("num").replace(",", "")), m.start(), m.end()


def find_grade(stream: Stream) -> tuple[str, int, int] | None:
    m = GRADE_RE.search(stream.text)
    if not m:
        return None
    return m.group("grade"), m.start(), m.end()


def claims_in(stream: Stream, *, amounts: bool = True, scores: bool = True) -> list[NarrativeClaim]:
    """Every claim the prose makes, in text order; one phrase gives at most one claim."""
    found: list[tuple[int, int, NarrativeClaim]] = []
    text = stream.text

    def add(kind: ClaimKind, m: re.Match, value: Decimal | None, word: str | None, unit: str | None) -> None:
        if any(not (m.end() <= s or m.start() >= e) for s, e, _ in found):
            return  # overlapping phrase already claimed
        found.append((m.start(), m.end(), NarrativeClaim(
            kind=kind, value=value, text=word if word else m.group(0), unit=unit, ref=stream.ref(m.start(), m.end()),
        )))

    if scores:
        for m in TOTAL_RE.finditer(text):
            add("total_score", m, Decimal(m.group("num").replace(",", "")), None, "分")
        for m in GRADE_RE.finditer(text):
            add("grade", m, None, m.group("grade"), None)
    if amounts:
        for m in RATE_RE.finditer(text):
            add("execution_rate", m, Decimal(m.group("num").replace(",", "")), None, "%")
        for kind, rx in (("executed_amount", EXEC_RE), ("budget_amount", BUDGET_RE), ("other_amount", OTHER_RE)):
            for m in rx.finditer(text):
                k = kind
                if rx is BUDGET_RE and m.group("need"):
                    k = _need_kind(text, m.start())
                add(k, m, Decimal(m.group("num").replace(",", "")), None, m.group("unit"))  # type: ignore[arg-type]
    found.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in found]


def _need_kind(text: str, at: int) -> ClaimKind:
    sentence = text[text.rfind("。", 0, at) + 1 : at]
    last_budget = max((m.end() for m in _NEED_BUDGET.finditer(sentence)), default=-1)
    last_actual = max((m.end() for m in _NEED_ACTUAL.finditer(sentence)), default=-1)
    return "budget_amount" if last_budget > last_actual else "executed_amount"


def is_empty_statement(text: str | None) -> bool:
    """Template prompts (`(主要填写项目绩效存在问题…)`) and `无` state nothing."""
    if not text or not text.strip():
        return True
    t = text.strip()
    return t in NOTHING or bool(PLACEHOLDER.match(t))


# --- sections -------------------------------------------------------------------------------------------

def _is_heading_like(text: str, wrap_width: int = 10_000) -> bool:
    """Short and no sentence punctuation; a line as long as the wrapped lines around it is a paragraph's
    first line, not a heading."""
    return (len(text) <= 25 and len(text) < wrap_width - 1 and not re.search(r"[。,;]", text)
            and not text.rstrip().endswith("."))


def _wrap_width(lines: list[Line]) -> int:
    widths = sorted(len(l.text) for l in lines if l.kind == "text")
    if len(widths) < 5:
        return 10_000
    return widths[int(len(widths) * 0.9)]  # lines this long are wrapped ones


def find_section(lines: list[Line], heading: re.Pattern[str], start: int = 0) -> tuple[int, int, int] | None:
    """(heading index, body start, body end) of the first section whose heading line matches `heading`.

    The body runs to the next heading of a higher level, or a sibling heading (same numbering style, short,
    no sentence punctuation — numbered list items inside the body are not headings), or a table row, or
    an `附表…` line."""
    for i in range(start, len(lines)):
        line = lines[i]
        if line.kind != "text" or not heading.search(line.text):
            continue
        rank = numbering_rank(line.text)
        width = _wrap_width(lines)
        j = i + 1
        while j < len(lines):
            cur = lines[j]
            if cur.kind == "row" or cur.text.startswith(("附表", "附件")):
                break
            r = numbering_rank(cur.text)
            # a sibling ends the section; at list level (1. / (1)) only when it reads as a heading, since
            # numbered items inside a section use the same numbering
            if r is not None and rank is not None and (
                r < rank or (r == rank and (rank <= 2 or _is_heading_like(cur.text, width)))
            ):
                break
            if r is not None and rank is None and r <= 2 and _is_heading_like(cur.text, width):
                break
            j += 1
        return i, i + 1, j
    return None


def section_field(doc_id: str, lines: list[Line], heading: re.Pattern[str], *, drop_subheads: bool = False,
                  start: int = 0) -> TextField | None:
    """The text of a section as a TextField citing its lines; `无`-only sub-items are dropped when
    `drop_subheads` (a list of 1.对项目决策的建议 / 无 / 2.… keeps only what was actually said)."""
    sec = find_section(lines, heading, start)
    if sec is None:
        return None
    _, b, e = sec
    body = [l for l in lines[b:e] if l.kind == "text"]
    if not body:
        return None
    if drop_subheads:
        kept = [l for l in body if not (numbering_rank(l.text) is not None and _is_heading_like(l.text))]
        said = [l for l in kept if l.text.strip() not in NOTHING]
        if not said:
            return None  # every item says 无
        body = said
    stream = Stream(doc_id, body)
    text = stream.text.strip()
    if is_empty_statement(text):
        return None
    return TextField(text=text, ref=stream.ref_all())


def problems_and_measures(doc_id: str, lines: list[Line], heading: re.Pattern[str]
                          ) -> tuple[TextField | None, TextField | None]:
    """A `发现的主要问题和改进措施` section: the lead sentence and numbered items that give a cause (原因)
    are the problems; the other numbered items are the measures."""
    sec = find_section(lines, heading)
    if sec is None:
        return None, None
    _, b, e = sec
    body = [l for l in lines[b:e] if l.kind == "text"]
    lead: list[Line] = []
    items: list[list[Line]] = []
    for l in body:
        if numbering_rank(l.text) == 3:  # a numbered item starts
            items.append([l])
        elif items:
            items[-1].append(l)
        else:
            lead.append(l)
    if not items:
        f = section_field(doc_id, lines, heading)
        return f, None
    problem_lines = lead + [l for g in items if "原因" in Stream(doc_id, g).text for l in g]
    measure_lines = [l for g in items if "原因" not in Stream(doc_id, g).text for l in g]

    def field(ls: list[Line]) -> TextField | None:
        if not ls:
            return None
        st = Stream(doc_id, ls)
        return None if is_empty_statement(st.text) else TextField(text=st.text, ref=st.ref_all())

    return field(problem_lines), field(measure_lines)
