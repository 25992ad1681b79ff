"""Numbers, units and 指标值 parsing (pure).

Reports write targets and actual values in many ways: `≥302人`, `≤10822251元`, `>=600元/人/月`, `100%`,
`有效保障`, `每月至少3次,并提前报备。`, `入孵企业能够切实享受政策支持达到80%以上`, `各基地考核85分以上`,
`约发放人数1.11万人`, a bare `≥` with no number. Text arrives already normalized (half-width, split digits
re-joined inside cells), so the parser only deals with wording. A value keeps the unit as written (`万人`,
`元/学期`) — converting 万 would hide the 元-vs-万元 slips the checks look for.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from service.models import Figure, Op, SourceRef, Target

# Base units seen in the seeds and the national templates, longest first so `万人次` wins over `万人`.
_BASE_UNITS = [
    "平方米", "万人次", "万元", "亿元", "千元", "万人", "万户", "人次", "户次", "小时", "分钟", "公里", "学期",
    "元", "人", "户", "家", "次", "个", "册", "件", "份", "场", "项", "天", "日", "月", "年", "分", "辆", "台",
    "套", "所", "名", "起", "批", "篇", "期", "处", "条", "座", "亩", "吨", "本", "间", "张", "宗", "部",
    "%", "‰",
]
_PER_UNITS = ["学期", "人次", "季度", "人", "月", "家", "年", "个", "次", "户", "天", "日", "季", "周", "件", "所"]
UNIT_RE = (
    "(?:" + "|".join(re.escape(u) for u in _BASE_UNITS) + ")"
    "(?:/(?:" + "|".join(re.escape(u) for u in _PER_UNITS) + "))*"
)
# A number: thousands separators allowed (`6,453.42`), no sign (reports never write negative targets).
NUMBER_RE = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

# Operators, longest first. Word forms map to the symbol they mean.
_OP_WORDS: list[tuple[str, Op]] = [
    ("大于或等于", ">="), ("大于等于", ">="), ("小于或等于", "<="), ("小于等于", "<="),
    ("不低于", ">="), ("不少于", ">="), ("不小于", ">="), ("不超过", "<="), ("不高于", "<="), ("不大于", "<="),
    ("不多于", "<="), ("至少", ">="), ("最少", ">="), ("至多", "<="), ("最多", "<="), ("高于", ">"),
    ("大于", ">"), ("超过", ">"), ("低于", "<"), ("小于", "<"),
    (">=", ">="), ("<=", "<="), ("≥", ">="), ("≤", "<="), ("=", "="), (">", ">"), ("<", "<"),
]
OP_RE = "(?:" + "|".join(re.escape(w) for w, _ in _OP_WORDS) + ")"
_OP_MAP = dict(_OP_WORDS)
# Suffixes that carry the operator after the number: 达到80%以上, 85分以上, 5%以内.
_SUFFIX_OPS: list[tuple[str, Op]] = [("以上", ">="), ("及以上", ">="), ("以下", "<="), ("及以下", "<="), ("以内", "<=")]

_VALUE_RE = re.compile(
    rf"(?P<op>{OP_RE})?\s*(?P<num>{NUMBER_RE})\s*(?P<unit>{UNIT_RE})?"
    rf"(?:\s*(?:[-~～至到])\s*(?P<num2>{NUMBER_RE})\s*(?P<unit2>{UNIT_RE})?)?"
    r"(?P<suffix>及以上|及以下|以上|以下|以内)?"
)
_FRACTION = re.compile(r"\d+/\d+(?!\d)")
_PERIOD_PREFIX = re.compile(r"每(月|年|季度|季|周|天|日|学期)")

# Qualitative values a target or actual takes in these forms. Longest first when matched at a string end.
QUALITATIVE_WORDS = sorted(
    {
        "有效保障", "有效提高", "有效提升", "有效衔接", "有效缓解", "明显提高", "明显提升", "明显降低", "成效明显",
        "进一步完善", "稳步提升", "正常开展", "按时给付到位", "基本完成", "全部完成", "按时完成", "圆满完成",
        "已完成", "未完成", "是否完成", "显著", "明显", "有效", "合理", "健全", "合规", "完备", "可控", "规范",
        "完整", "及时", "准确", "提升", "提高", "降低", "减少", "增加", "改善", "完成", "达标", "满意", "良好",
        "充分", "到位", "科学", "真实", "公开", "相关", "延续", "全部", "经常", "推进和提高", "是", "否", "无", "有",
    },
    key=len,
    reverse=True,
)


def parse_decimal(text: str | None) -> Decimal | None:
    """The first number in `text` as a Decimal (`6,453.42` → 6453.42), or None."""
    if not text:
        return None
    m = re.search(NUMBER_RE, text)
    if not m:
        return None
    try:
        return Decimal(m.group(0).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex only admits digits
        return None


def exact_decimal(text: str | None) -> Decimal | None:
    """A Decimal only when the whole text is one number, optionally with `%` (`93.76%` → 93.76)."""
    if text is None:
        return None
    t = text.strip()
    m = re.fullmatch(rf"({NUMBER_RE})\s*%?", t)
    return Decimal(m.group(1).replace(",", "")) if m else None


_BLANK_SCORE = re.compile(r"[\s\-—－–/／\\无]*")


def odd_score(text: str | None) -> str | None:
    """The 得分 cell when it holds something other than a score: a grade (优/良), a percentage (100%), words.
    None for a plain number (optionally with 分) and for a blank or a dash, which are simply not filled."""
    if text is None:
        return None
    t = text.strip()
    if _BLANK_SCORE.fullmatch(t) or re.fullmatch(rf"({NUMBER_RE})\s*分?", t):
        return None
    return t


def figure(raw: str, ref: SourceRef | None = None, default_unit: str | None = None) -> Figure | None:
    """A Figure from a cell or phrase: value and unit parsed, raw text kept. None for empty text."""
    raw = raw.strip()
    if not raw:
        return None
    m = re.search(rf"({NUMBER_RE})\s*({UNIT_RE})?", raw)
    if not m:
        return Figure(raw=raw, value=None, unit=default_unit, ref=ref)
    value = Decimal(m.group(1).replace(",", ""))
    unit = m.group(2) or default_unit
    return Figure(raw=raw, value=value, unit=unit, ref=ref)


def _op_word(text: str) -> Op | None:
    for word, op in _OP_WORDS:
        if word in text:
            return op
    return None


def parse_target(raw: str | None) -> Target:
    """Parse a 指标值 / 实际完成值 into operator, value(s), unit and qualitative words."""
    raw = (raw or "").strip()
    if not raw:
        return Target(raw="", op="none")
    text = raw.rstrip("。.;;,, ")
    m = _VALUE_RE.search(text)
    frac = _FRACTION.search(text)
    if frac and m and m.start() == frac.start():
        m = None  # `实际缴费额的2/3` is a share, not a quantity we can compare
    if m is None:
        op = _op_word(text)
        if op is None:
            return Target(raw=raw, op="qualitative", qualitative=text)
        rest = text
        for word, _ in _OP_WORDS:
            rest = rest.replace(word, "", 1) if word in rest else rest
        return Target(raw=raw, op=op, qualitative=rest.strip() or None)

    value = Decimal(m.group("num").replace(",", ""))
    unit = m.group("unit")
    op: Op
    value_high = None
    if m.group("num2"):
        op = "range"
        value_high = Decimal(m.group("num2").replace(",", ""))
        unit = unit or m.group("unit2")
        if m.group("unit2") and not m.group("unit"):
            unit = m.group("unit2")
    elif m.group("op"):
        op = _OP_MAP[m.group("op")]
    elif m.group("suffix"):
        op = dict(_SUFFIX_OPS)[m.group("suffix")]
    else:
        # an operator word may sit earlier in the phrase: `每月至少3次`, `大于或等于100万元`
        before = text[: m.start()]
        op = _op_word(before) or "none"
    period = _PERIOD_PREFIX.search(text[: m.start()])
    if period and unit and "/" not in unit and unit != "%":
        unit = f"{unit}/{period.group(1)}"  # `每月至少3次` is 3 a month
    return Target(raw=raw, op=op, value=value, value_high=value_high, unit=unit)


def targets_equivalent(a: Target, b: Target) -> bool:
    """Same meaning: equal operator, numbers (Decimal equality) and unit; or the same words."""
    if a.value is not None or b.value is not None:
        if a.value is None or b.value is None or a.value != b.value:
            return False
        if (a.value_high or None) != (b.value_high or None):
            return False
        ops = {a.op, b.op}
        if len(ops) > 1 and ops != {"none", "="}:
            return False
        return (a.unit or "") == (b.unit or "")
    return _squash(a.raw) == _squash(b.raw)


def _squash(text: str) -> str:
    return re.sub(r"[\s。.;;,,:“”\"]", "", text)


# --- finding a value at the end of a string (Henan text-extracted rows) ------------------------------

_TAIL_NUMERIC = re.compile(
    rf"(?:{OP_RE})?\s*(?:{NUMBER_RE})\s*(?:{UNIT_RE})?(?:及以上|及以下|以上|以下|以内)?$"
)


def value_at_end(text: str) -> int | None:
    """Start index of the value expression that ends `text` (`…人数≥302人` → index of `≥`), or None.

    Numeric expressions win; then a known qualitative word (longest first); then a doubled CJK word
    (`完成完成` ends in `完成`), which is how a text-extracted row shows equal target and actual."""
    text = text.rstrip()
    if not text:
        return None
    m = _TAIL_NUMERIC.search(text)
    if m:
        return m.start() + len(m.group(0)) - len(m.group(0).lstrip())
    for word in QUALITATIVE_WORDS:
        if len(word) > 1 and text.endswith(word):  # one-character words (是/否/有) end too many names
            return len(text) - len(word)
    return None


def doubled_tail(text: str, max_len: int = 8) -> int | None:
    """If `text` ends with a word written twice (`健全健全`), the start index of the second copy."""
    for n in range(max_len, 0, -1):
        if len(text) >= 2 * n and text[-n:] == text[-2 * n:-n]:
            return len(text) - n
    return None
