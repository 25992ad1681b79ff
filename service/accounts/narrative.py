"""Read the numbers stated in 第三部分 情况说明 of a 部门决算: amounts (万元), shares (占…%), year-on-year
changes (减少…万元，下降…%), completion of the initial budget (完成年初预算的…%) and initial budgets.

The section's prose is joined across visual lines (service.accounts.textmap) and cut into sentences;
every number is read with the words before it (its label) and, for a percentage, the amount it is a
share/change/completion of. What the label refers to in the tables is decided by the checks, per section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from retrieval.types import LoadedDocument, Line
from service.accounts.models import NarrativeItem
from service.accounts.textmap import JoinedText

NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SECTION = re.compile(r"^([一二三四五六七八九十]+)、(.{2,40})$")
_SUBSECTION = re.compile(r"^\(([一二三四五六七八九十]+)\)(.{1,60})$")
_PART3 = re.compile(r"^第[三四五]部分.*(决算)?情况说明")
_END = re.compile(r"^(第[四五六]部分|.*绩效自评报告$|项目名称[:：]|.*名词解释$)")
_TOKEN = re.compile(
    rf"(?P<chg>增加|减少|下降|增长|降低|上升|节约|节支)了?\s*(?P<n1>{NUM})\s*万元"
    rf"|(?P<n2>{NUM})\s*万元"
    rf"|(?P<n3>{NUM})\s*%")
_CLAUSE_DELIM = "，,；;：:。"
_ITEM = re.compile(r"^\s*(?:其中[:：])?\s*\d+[.、．]\s*(?P<subj>[^。；;:：]*?\(项\))")
_ITEM_ANY = re.compile(r"^\s*(?:其中[:：])?\s*(\d+)[.、．]")
_LABEL_PREFIX = re.compile(r"^(\d+[.、．]|其中|与上年度?相比|与上年相比|主要用于以下方面|20\d\d年度?|本年度?|全年)+")
_LABEL_SUFFIX = re.compile(r"(均为|各为|分别为|合计为|共计|为|是|达到|达|各|共)+$")

SECTION_KINDS: list[tuple[str, re.Pattern]] = [
    ("fa_total", re.compile(r"财政拨款收入支出决算总体")),
    ("total", re.compile(r"收入支出决算总体")),
    ("income", re.compile(r"^收入决算")),
    ("basic", re.compile(r"基本支出")),
    ("gpb", re.compile(r"一般公共预算财政拨款支出")),
    ("govfund", re.compile(r"政府性基金")),
    ("soe", re.compile(r"国有资本经营")),
    ("sangong", re.compile(r"三公")),
    ("ops", re.compile(r"机关运行经费")),
    ("procurement", re.compile(r"政府采购")),
    ("assets", re.compile(r"国有资产")),
    ("performance", re.compile(r"绩效")),
    ("expense", re.compile(r"^支出决算")),
]


def section_kind(title: str) -> str:
    for kind, pat in SECTION_KINDS:
        if pat.search(title):
            return kind
    return "other"


def to_decimal(raw: str) -> Decimal:
    return Decimal(raw.replace(",", ""))


def part3_lines(doc: LoadedDocument, after: tuple[int, int] | None = None) -> list[Line]:
    """The text lines of 第三部分 情况说明: from its heading (after the tables, so not the 目录 entry)
    to the next part, an attached report, or the first table that follows."""
    lines = list(doc.iter_lines())
    start = None
    for i, ln in enumerate(lines):
        if after is not None and ln.key <= after:
            continue
        if ln.kind == "text" and _PART3.match(ln.text):
            start = i + 1
            break
    if start is None:  # no part heading: start at the first section heading after the tables
        for i, ln in enumerate(lines):
            if after is not None and ln.key <= after:
                continue
            if ln.kind == "text" and re.match(r"^一、收入支出决算总体情况说明", ln.text):
                start = i
                break
    if start is None:
        return []
    out: list[Line] = []
    for ln in lines[start:]:
        if ln.kind == "row":
            break
        # a part/report title ends the section — not a wrapped prose line that happens to end in 自评报告
        prev = out[-1].text if out else ""
        if _END.match(ln.text) and len(ln.text) <= 30 and (
                not prev or prev.endswith(("。", ":", "：", ";", "；")) or ln.line_no == 1 or _is_heading(prev)):
            break
        out.append(ln)
    return out


def _is_heading(text: str) -> bool:
    """A section/sub-section heading line: short, no full stop inside, and worded like one."""
    t = text.strip()
    if len(t) > 40 or "。" in t[:-1]:
        return False
    if _SECTION.match(t):
        return bool(re.search(r"说明|情况|概况|解释|结果", t)) or len(t) <= 20
    return bool(_SUBSECTION.match(t))


def heading_keys(lines: list[Line]) -> set[tuple[int, int]]:
    return {ln.key for ln in lines if _is_heading(ln.text)}


@dataclass
class _Ctx:
    section: str = ""
    title: str = ""
    subsection: str | None = None
    subject: str | None = None


def _label_before(s: str, pos: int, floor: int = 0) -> tuple[str, int]:
    """Words between the previous clause delimiter (not before the sentence start `floor`) and pos, with
    connective words stripped. "、" after 万元/% also ends a clause (货物支出0.97万元、服务支出45.36万元)."""
    k = pos
    while k > floor and s[k - 1] not in _CLAUSE_DELIM and not (
            s[k - 1] == "、" and k >= 2 and s[k - 2] in "元%"):
        k -= 1
    raw = s[k:pos]
    label = _LABEL_SUFFIX.sub("", _LABEL_PREFIX.sub("", raw.strip()))
    return label.strip(), k


def parse_narrative(doc: LoadedDocument, lines: list[Line]) -> tuple[list[NarrativeItem], JoinedText]:
    jt = JoinedText.build(doc.doc_id, lines, heading_keys(lines))
    items: list[NarrativeItem] = []
    ctx = _Ctx()
    s = jt.search
    for sent_no, (a, b) in enumerate(jt.sentences()):
        sent = s[a:b]
        head = sent.strip()
        m = _SECTION.match(head)
        if m and not head.endswith("。") and len(head) <= 40:
            ctx = _Ctx(section=m.group(1), title=m.group(2))
            continue
        m = _SUBSECTION.match(head)
        if m and len(head) <= 60 and not re.search(NUM, head):
            ctx.subsection = m.group(2).rstrip("。.")
            ctx.subject = None
            continue
        if not ctx.section:
            continue
        mi = _ITEM.match(sent)
        if mi:
            ctx.subject = mi.group("subj").strip()
        elif _ITEM_ANY.match(sent):
            ctx.subject = None
        sent_items: list[int] = []
        clause_of: dict[int, int] = {}
        for tm in _TOKEN.finditer(sent):
            num_raw = tm.group("n1") or tm.group("n2") or tm.group("n3")
            num_start = a + tm.start("n1" if tm.group("n1") else "n2" if tm.group("n2") else "n3")
            end = a + tm.end()
            span_start = a + tm.start()
            if re.match(r"\s*(\(含\))?以[上下]", s[end:b]):
                continue  # a threshold (单价100万元(含)以上设备), not a stated amount
            label, clause_start = _label_before(s, span_start, floor=a)
            ref = jt.ref(clause_start, end, anchor=num_start)
            base = dict(section=ctx.section, section_title=ctx.title, subsection=ctx.subsection,
                        subject=ctx.subject, raw=num_raw, value=to_decimal(num_raw), ref=ref, sentence=sent_no)
            if tm.group("n1"):
                direction = "increase" if tm.group("chg") in ("增加", "增长", "上升") else "decrease"
                subj_idx = _last_amount(items, ctx.section)
                items.append(NarrativeItem(kind="yoy_amount", label=label or "", unit="万元",
                                           direction=direction, numerator_index=subj_idx,
                                           numerator_label=items[subj_idx].label if subj_idx is not None
                                           else None, **base))
            elif tm.group("n2"):
                kind = "initial_budget" if re.search(r"预算(数)?$", label) and "决算" not in label else "amount"
                items.append(NarrativeItem(kind=kind, label=label, unit="万元", **base))
            else:
                before = s[clause_start:span_start]
                item = _percent_item(before, label, base, items, sent_items,
                                     lambda i, j: s[clause_of[i]:clause_of[j]] if j in clause_of else "", ctx)
                if item is None:
                    continue
                # cite the percentage with the amount it is about when both are in this sentence
                anchor = item.numerator_index if item.kind == "share" else item.base_index
                if item.kind == "completion":
                    anchor = item.base_index
                if anchor is not None and anchor in clause_of:
                    item.ref = jt.ref(clause_of[anchor], end, anchor=num_start)
                items.append(item)
            clause_of[len(items) - 1] = clause_start
            sent_items.append(len(items) - 1)
    return items, jt


def _last_amount(items: list[NarrativeItem], section: str, kinds=("amount",)) -> int | None:
    for i in range(len(items) - 1, -1, -1):
        if items[i].section != section:
            return None
        if items[i].kind in kinds:
            return i
    return None


def _percent_item(before: str, label: str, base: dict, items: list[NarrativeItem], sent_items: list[int],
                  s_between, ctx: _Ctx) -> NarrativeItem | None:
    section = ctx.section
    if re.search(r"(完成|为)(年初)?预算(数)?的$", before):
        num = next((i for i in reversed(sent_items) if items[i].kind == "amount"), None)
        bud = next((i for i in reversed(sent_items) if items[i].kind == "initial_budget"), None)
        return NarrativeItem(kind="completion", label=label, unit="%", numerator_index=num, base_index=bud,
                             numerator_label=items[num].label if num is not None else None, **base)
    m = re.search(r"占(?P<base>[^占]*?)的?$", before)
    if m is not None:
        base_label = (m.group("base") or "").rstrip("的") or None
        num = next((i for i in reversed(sent_items) if items[i].kind == "amount"), None)
        base_idx = None
        if base_label:
            base_idx = _find_label(items, section, base_label, exclude=num)
        else:
            first = sent_items[0] if sent_items else None
            # "X合计N万元，其中：A a万元，占p%" — the base is the total the sentence opens with
            if first is not None and first != num and items[first].kind == "amount":
                between = s_between(first, num)
                if re.search(r"其中|主要用于|[:：]", between):
                    base_idx = first
        return NarrativeItem(kind="share", label=label, unit="%", base_label=base_label, numerator_index=num,
                             numerator_label=items[num].label if num is not None else None, base_index=base_idx,
                             **base)
    m = re.search(r"(增加|减少|下降|增长|降低|上升)了?$", before)
    if m is not None:
        direction = "increase" if m.group(1) in ("增加", "增长", "上升") else "decrease"
        chg = next((i for i in reversed(sent_items) if items[i].kind == "yoy_amount"), None)
        subj = items[chg].numerator_index if chg is not None else _last_amount(items, section)
        return NarrativeItem(kind="yoy_rate", label=label, unit="%", direction=direction, numerator_index=subj,
                             numerator_label=items[subj].label if subj is not None else None, base_index=chg,
                             **base)
    return None


def _find_label(items: list[NarrativeItem], section: str, base_label: str, exclude: int | None) -> int | None:
    """The most recent amount in the section whose label names the base (占政府采购支出总额的 …)."""
    want = base_label.replace("“", "").replace("”", "")
    for i in range(len(items) - 1, -1, -1):
        it = items[i]
        if it.section != section:
            break
        if i == exclude or it.kind != "amount":
            continue
        lab = it.label.replace("“", "").replace("”", "")
        if lab.endswith(want) or (want.endswith(lab) and len(lab) >= 4):
            return i
    return None
