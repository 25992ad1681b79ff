"""Decimal arithmetic for the checks: precision of reported figures, R-ROUND tolerances, unit conversion,
grades and formatting.

Every comparison in the rulebook goes through `compare`, so "within rounding" means one thing everywhere:
the reported figure may differ from the recomputed one by half a unit of its own last digit, plus whatever
the rounding of the recomputation's own inputs allows (an interval, not a guess).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal

from service.models import Figure

D0 = Decimal(0)
D1 = Decimal(1)
D100 = Decimal(100)
WAN = Decimal(10000)  # 元 per 万元
AMOUNT_HALF_UNIT = Decimal("0.005")  # 万元 amounts are published to 2 decimals (R-ROUND)

_NUM = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+")


def dec(value) -> Decimal | None:
    """A Decimal from a Decimal/int/str/Figure, or None."""
    if value is None:
        return None
    if isinstance(value, Figure):
        return value.value
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    m = _NUM.search(str(value))
    if not m:
        return None
    return Decimal(m.group(0).replace(",", ""))


def decimals_of(raw: str | None, value: Decimal | None = None) -> int:
    """Number of decimals the report printed: `93.76%` → 2, `99%` → 0, `10.00` → 2."""
    if raw:
        m = _NUM.search(raw)
        if m:
            text = m.group(0)
            return len(text.split(".", 1)[1]) if "." in text else 0
    if value is not None:
        exp = value.as_tuple().exponent
        return max(0, -exp) if isinstance(exp, int) else 0
    return 0


def half_unit(raw: str | None, value: Decimal | None = None) -> Decimal:
    """Half a unit of the last printed digit: `93.76` → 0.005, `10` → 0.5."""
    return Decimal(5) / (Decimal(10) ** (decimals_of(raw, value) + 1))


def amount_half_unit(raw: str | None, value: Decimal | None = None) -> Decimal:
    """Half unit for a 万元 amount: never looser than the 2-decimal convention (R-ROUND), so `5` means 5.00."""
    return min(half_unit(raw, value), AMOUNT_HALF_UNIT)


def amount_tolerance(n_addends: int) -> Decimal:
    """R-ROUND for sums of amounts: max(0.01, 0.005 × number of addends)."""
    return max(Decimal("0.01"), AMOUNT_HALF_UNIT * max(n_addends, 1))


def quantize(value: Decimal, places: int, mode=ROUND_HALF_UP) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=mode)


def fmt(value: Decimal | None, places: int | None = 2, unit: str = "") -> str:
    """Human string: fixed places (half-up) unless places is None (then trailing zeros trimmed)."""
    if value is None:
        return "—"
    if places is None:
        text = format(value.normalize(), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = format(quantize(value, places), "f")
    return f"{text}{unit}"


def fmt_pct(value: Decimal | None, places: int = 2) -> str:
    return fmt(value, places, "%")


def raw_or(fig: Figure | None, places: int | None = 2, unit: str = "") -> str:
    """The figure as the report printed it, else formatted."""
    if fig is None:
        return "—"
    if fig.raw:
        return fig.raw
    return fmt(fig.value, places, unit)


def to_wan(value: Decimal, unit: str | None) -> Decimal:
    """An amount in 万元 from 元/万元/亿元 (unknown units are taken as 万元, the forms' default)."""
    u = (unit or "").strip()
    if u == "元":
        return value / WAN
    if u == "亿元":
        return value * WAN
    return value


Outcome = Literal["exact", "rounding", "beyond"]


@dataclass(frozen=True)
class Comparison:
    outcome: Outcome
    diff: Decimal  # reported − recomputed (point estimate)
    tolerance: Decimal

    @property
    def beyond(self) -> bool:
        return self.outcome == "beyond"

    @property
    def rounding(self) -> bool:
        return self.outcome == "rounding"


def compare(reported: Decimal, recomputed: Decimal, tolerance: Decimal, *, places: int | None = None,
            low: Decimal | None = None, high: Decimal | None = None) -> Comparison:
    """Classify reported vs recomputed.

    exact: equal, or equal to the recomputed value rounded half-up to the reported places;
    rounding: within `tolerance` of the interval [low, high] (defaults to the point) — R-ROUND, info at most;
    beyond: anything else.
    """
    diff = reported - recomputed
    if diff == 0:
        return Comparison("exact", diff, tolerance)
    if places is not None and quantize(recomputed, places) == reported:
        return Comparison("exact", diff, tolerance)
    lo = recomputed if low is None else low
    hi = recomputed if high is None else high
    if lo - tolerance <= reported <= hi + tolerance:
        return Comparison("rounding", diff, tolerance)
    # truncation (0.9376 → 0.93) is beyond half a unit: the gold for seed 001 counts it as a deviation
    return Comparison("beyond", diff, tolerance)


def rate_pct(executed: Decimal, budget: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        return executed / budget * D100


def rate_interval(executed: Figure, budget: Figure) -> tuple[Decimal, Decimal, Decimal]:
    """(point, low, high) of executed/budget in percent. The executed amount, a sum of payments, carries its
    printed rounding; the budget is an appropriation and is taken as exact (14.99 of 15.00 is 99.90–99.97%,
    never 100.00%)."""
    e, b = executed.value, budget.value
    he = amount_half_unit(executed.raw, e)
    point = rate_pct(e, b)
    low = rate_pct(max(e - he, D0), b)
    high = rate_pct(e + he, b)
    return point, low, high


# R-GRADE: 优 90–100, 良 80–<90, 中 60–<80, 差 <60 (lower bound inclusive)
GRADE_BANDS: tuple[tuple[Decimal, str], ...] = ((Decimal(90), "优"), (Decimal(80), "良"), (Decimal(60), "中"))

_GRADE_WORDS = {
    "优": "优", "优秀": "优", "a": "优",
    "良": "良", "良好": "良", "b": "良",
    "中": "中", "中等": "中", "合格": "中", "一般": "中", "c": "中",
    "差": "差", "较差": "差", "不合格": "差", "d": "差",
}


def grade_of(total: Decimal) -> str:
    for bound, grade in GRADE_BANDS:
        if total >= bound:
            return grade
    return "差"


@functools.lru_cache(maxsize=4096)  # a few spellings recur in every form: a filter over 10,000 reads each once
def normalize_grade(text: str | None) -> str | None:
    """`优秀` → 优, `“良”` → 良; None when the text is not a grade word."""
    if not text:
        return None
    t = re.sub(r"[\s“”\"'‘’「」()（）【】:：,，。.]", "", text).lower()
    for prefix in ("等级为", "等级", "评价为", "属于", "为"):
        if t.startswith(prefix):
            t = t[len(prefix):]
    for suffix in ("等级", "级", "等"):
        if t.endswith(suffix) and t[: -len(suffix)] in _GRADE_WORDS:
            t = t[: -len(suffix)]
    return _GRADE_WORDS.get(t)
