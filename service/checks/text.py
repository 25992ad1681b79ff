"""Text-side helpers for the checks: empty/placeholder explanations, indicator categories, project-name keys."""
from __future__ import annotations

import re

from service.models import Indicator

# Template hint text left in a cell counts as empty (seed 003: "(主要填写项目绩效存在问题及原因分析,…)";
# seeds 000/001: "…请说明原因和改进措施(默认显示，或提示信息）").
_PLACEHOLDER_MARKERS = ("主要填写", "请说明原因", "默认显示", "提示信息", "请填写", "填写说明")
_EMPTY_WORDS = {"", "无", "暂无", "没有", "null", "none", "n/a", "na", "/", "-", "--", "—", "——", "无。", "无."}


def is_empty_explanation(text: str | None) -> bool:
    """True when the text explains nothing: missing, a dash, 无, or the form's own hint text."""
    if text is None:
        return True
    t = re.sub(r"\s+", "", text).strip()
    if t.lower().rstrip("。.") in _EMPTY_WORDS or t.lower() in _EMPTY_WORDS:
        return True
    if any(m in t for m in _PLACEHOLDER_MARKERS):
        # the whole cell is the hint (possibly wrapped in brackets), not an answer that quotes it
        stripped = re.sub(r"[(（][^)）]*[)）]", "", t)
        return not stripped or any(m in stripped for m in _PLACEHOLDER_MARKERS)
    return False



# The wording of a form's own filling instructions (填表说明 left in a cell instead of an answer). Read for
# vocabulary from the national and provincial templates' hint cells: (主要填写…), 请简要说明…, 此处填写…
_INSTRUCTION_VERB = r"(填写|填报|注明|列明|说明|描述|阐述|概述)"
_INSTRUCTION_LEAD = re.compile(r"^(请|主要|此处|本栏|本项|应当?|须|需)(简要|如实|据实|认真|具体|逐项)?" + _INSTRUCTION_VERB
                               + r"|^(简要|如实|据实|逐项)" + _INSTRUCTION_VERB + r"|^填写")
_INSTRUCTION_INNER = re.compile(r"填写|填报|注明|列明|简要说明|请说明|据实")


def template_instruction(text: str | None) -> bool:
    """True when the cell holds only the form's filling instruction (a hint never replaced by an answer).

    An answer that quotes the instruction, or any text outside the brackets, is an answer: the test is about
    the whole cell, never a substring."""
    if text is None:
        return False
    t = re.sub(r"\s+", "", text).strip("。.；;：:")
    if not t:
        return False
    if any(m in t for m in _PLACEHOLDER_MARKERS) and is_empty_explanation(t):
        return True
    bracketed = re.fullmatch(r"[(（【\[](.+)[)）】\]]", t)
    if bracketed:
        return _INSTRUCTION_INNER.search(bracketed.group(1)) is not None
    return len(t) <= 80 and _INSTRUCTION_LEAD.match(t) is not None

# Categories (一级指标). The second-level name decides when the form lost a first-level heading
# (seed 003's 人事处 tables list 社会效益指标 rows under the merged 产出指标(50) cell).
CATEGORIES = ("预算执行", "资金管理", "投入管理", "成本", "产出", "效益", "满意度")
_L2_CATEGORY = (
    ("满意度", "满意度"),
    ("效益", "效益"),
    ("可持续影响", "效益"),
    ("成本", "成本"),
    ("数量", "产出"),
    ("质量", "产出"),
    ("时效", "产出"),
)
_L1_CATEGORY = (
    ("预算执行", "预算执行"),
    ("执行率", "预算执行"),
    ("资金管理", "资金管理"),
    ("投入", "投入管理"),
    ("成本", "成本"),
    ("产出", "产出"),
    ("效益", "效益"),
    ("效果", "效益"),
    ("满意度", "满意度"),
)


def strip_weight_suffix(name: str | None) -> str:
    """`产出指标(50)` → `产出指标`."""
    return re.sub(r"[(（]\s*\d+(?:\.\d+)?\s*分?[)）]\s*$", "", (name or "").strip())


def category_of_label(label: str | None) -> str | None:
    t = strip_weight_suffix(label)
    for key, cat in _L1_CATEGORY:
        if key in t:
            return cat
    return None


def category_of_level2(ind: Indicator) -> str | None:
    t2 = (ind.level2 or "").strip()
    for key, cat in _L2_CATEGORY:
        if key in t2:
            return cat
    return None


def category_of(ind: Indicator) -> str | None:
    """The indicator's category as the table prints it: the first-level heading (carried down merged
    cells). Only a row without one falls back to its second-level name. A row whose second-level name
    belongs elsewhere (社会效益指标 under 产出指标(50) in seed 003) stays under the printed heading, so the
    lost heading shows up in R-CATEGORY-SUM / R-WEIGHT-L1."""
    l1 = category_of_label(ind.level1)
    if l1 is None:
        fallback = category_of_level2(ind) or category_of_label(ind.level3)
        if fallback is None and (ind.level1 or "").strip():
            # a heading of its own (项目决策 / 项目管理 / 项目绩效 in a three-block form) is its own category
            return strip_weight_suffix(ind.level1).strip()
        return fallback
    return l1


_EXEC_NAME = re.compile(r"预算执行|执行率|执行进度|支出进度|资金执行|预算支出")


def is_exec_indicator(ind: Indicator) -> bool:
    """An indicator row that states the budget-execution rate (Hebei's 预算执行率(10) block, Henan's
    投入管理 预算执行率 row)."""
    return category_of_label(ind.level1) == "预算执行" or bool(_EXEC_NAME.search(ind.level3 or ""))


def states_exec_rate(ind: Indicator) -> bool:
    """The row's 实际完成值 is itself an execution rate (its own name says so: 资金执行情况, 预算支出进度 …),
    not a compliance measure such as 按相关规定拨付使用补助资金 under the 预算执行率 heading."""
    name = (ind.level3 or "").strip() or (ind.level2 or "").strip()
    return bool(re.search(r"执行率|执行进度|支出进度|执行情况|预算支出", name))


# Project names: spelled differently in summaries and reports.
_PUNCT = re.compile(r"[\s、,，.。:：;；·\-—_()（）\[\]【】“”\"'‘’《》<>]+")


def light_key(name: str | None) -> str:
    """Spacing, full-width forms and punctuation removed."""
    import unicodedata

    t = unicodedata.normalize("NFKC", name or "")
    return _PUNCT.sub("", t).lower()


def loose_key(name: str | None) -> str:
    """Also ignores 和/and/与/及 and 的 — used only when it identifies exactly one project."""
    k = light_key(name)
    for w in ("and", "和", "与", "及", "的"):
        k = k.replace(w, "")
    return k


def match_names(name: str, candidates: list[str]) -> tuple[list[int], str]:
    """Indexes of candidates the name refers to, and how ("exact" | "loose" | "none").
    Exact (light key) wins; the loose key is used only if it gives exactly one candidate."""
    lk = light_key(name)
    exact = [i for i, c in enumerate(candidates) if light_key(c) == lk]
    if exact:
        return exact, "exact"
    lo = loose_key(name)
    loose = [i for i, c in enumerate(candidates) if loose_key(c) == lo]
    if len(loose) == 1:
        return loose, "loose"
    return loose, "ambiguous" if loose else "none"
