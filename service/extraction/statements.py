"""Department-level statements in prose (pure): counts and buckets of project results, rates and averages.

Wordings seen in the seeds:
  004  `本次完成绩效自评项目共计20个,其中可执行项目13个,待分项目7个。其中自评结果为优的13个、…`
       `自评结果13个为优,6个为良,1个为中,0个为差` / `预算执行率为100%项目2个,预算执行率高于90%(含)低于100%项目3个`
       `项目支出绩效自评平均得分为92.27分`
  003  `部门评价项目总数一项为部门预算资金,评价等级为优,评优率为95%` / `人才交流中心一共有4个评价项目,评价等级全部为优,
       评优率100%` / `我局自评等级为优的共10项,评优率为100%` / `共安排专项项目预算10个` / `部门整体绩效目标完成率为100%`
A count stated twice (the 决算's 预算绩效情况说明 repeats the 总结报告) is kept once: same label, same value.
"""
from __future__ import annotations

import re
from decimal import Decimal

from service.extraction.spans import Stream
from service.extraction.targets import NUMBER_RE
from service.models import StatedCount

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_N = r"(?P<n>\d+|[一二两三四五六七八九十])"
_PCT = rf"(?P<n>{NUMBER_RE})\s*%"

# (pattern, fixed label or None to take the `label` group); the first pattern to claim a span wins
_PATTERNS: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(rf"一共有{_N}个评价项目,?评价等级全部为(?P<label>优|良|中|差)"), "*all"),
    (re.compile(rf"一共有{_N}个评价项目"), "评价项目数"),
    (re.compile(rf"评价项目总数{_N}项"), "评价项目数"),
    (re.compile(rf"{_N}个为(?P<label>优|良|中|差)"), None),
    (re.compile(rf"(?:自评)?结果为(?P<label>优|良|中|差)的{_N}个"), None),
    (re.compile(rf"(?:自评)?等级为(?P<label>优|良|中|差)的共{_N}项"), None),
    (re.compile(rf"(?P<label>可执行项目|待分项目)(?:共计)?{_N}个"), None),
    (re.compile(rf"(?:完成)?绩效自评(?:的)?项目共计{_N}个"), "项目数"),
    (re.compile(rf"对(?:\d{{4}}年度)?{_N}个项目(?:支出)?绩效进行了自评"), "项目数"),
    (re.compile(rf"共安排专项项目(?:预算)?{_N}个"), "专项项目数"),
    (re.compile(r"(?P<label>预算执行率(?:为100\s*%|高于\d+\s*%(?:\(含\))?低于\d+\s*%|低于\d+\s*%))项目(?P<n>\d+)个"), None),
    (re.compile(rf"评优率(?:为|达)?\s*{_PCT}"), "评优率"),
    (re.compile(rf"(?P<label>部门整体绩效目标完成率)(?:为|达)?\s*{_PCT}"), None),
    (re.compile(rf"(?P<label>项目支出绩效自评平均得分)为?\s*(?P<n>{NUMBER_RE})\s*分"), None),
]
SECTION_GRADE = re.compile(r"整体绩效评价(?:结果)?为[“\"]?(?P<grade>优|良|中|差)")


def _value(raw: str) -> Decimal:
    return Decimal(_CN_DIGITS[raw]) if raw in _CN_DIGITS else Decimal(raw.replace(",", ""))


def stated_counts(stream: Stream) -> list[StatedCount]:
    found: list[tuple[int, int, list[StatedCount]]] = []
    text = stream.text
    for rx, fixed in _PATTERNS:
        for m in rx.finditer(text):
            if any(not (m.end() <= s or m.start() >= e) for s, e, _ in found):
                continue
            ref = stream.ref(m.start(), m.end())
            value = _value(m.group("n"))
            if fixed == "*all":  # `一共有4个评价项目,评价等级全部为优`: 4 projects, all 4 优
                items = [StatedCount(label="评价项目数", value=value, ref=ref),
                         StatedCount(label=m.group("label"), value=value, ref=ref)]
            else:
                items = [StatedCount(label=fixed or m.group("label"), value=value, ref=ref)]
            found.append((m.start(), m.end(), items))
    found.sort(key=lambda t: t[0])
    return [c for _, _, items in found for c in items]


def dedupe_counts(counts: list[StatedCount]) -> list[StatedCount]:
    seen: set[tuple[str, Decimal]] = set()
    out = []
    for c in counts:
        key = (c.label, c.value)
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out
