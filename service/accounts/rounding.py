"""R-ROUND: the tolerances the 部门决算 checks apply, and the status they give.

Amounts are printed in 万元 with 2 decimals and the tables warn "因四舍五入可能存在尾差": a sum of n
rounded addends may differ from its rounded total by up to max(0.01, 0.005 × n) (RULEBOOK R-ROUND).
A stated percentage is right if it is the recomputed value rounded to the printed digits (half a unit of
its last digit); because the amounts it is computed from are themselves rounded, a stated value that
lies within the range those amounts allow is a difference within rounding (info), not an error.
"""
from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)


def decimals_of(raw: str) -> int:
    raw = raw.replace(",", "").rstrip("%")
    return len(raw.split(".", 1)[1]) if "." in raw else 0


def half_unit(raw: str) -> Decimal:
    return Decimal(5) * Decimal(10) ** -(decimals_of(raw) + 1)


def amount_tolerance(n_addends: int) -> Decimal:
    return max(Decimal("0.01"), Decimal("0.005") * n_addends)


def sum_status(reported: Decimal, recomputed: Decimal, n_addends: int) -> tuple[str, Decimal, Decimal]:
    diff = abs(reported - recomputed)
    tol = amount_tolerance(n_addends)
    if diff == 0:
        return "pass", diff, tol
    if diff <= tol:
        return "within_rounding", diff, tol
    return "fail", diff, tol


def amount_status(stated_raw: str, stated: Decimal, table: Decimal) -> tuple[str, Decimal, Decimal]:
    """A prose amount against the table value: equal, or equal at the precision the prose prints."""
    diff = abs(stated - table)
    tol = max(Decimal("0.01"), half_unit(stated_raw))
    if diff == 0:
        return "pass", diff, tol
    if diff <= tol:
        return "within_rounding", diff, tol
    return "fail", diff, tol


def _bounds(value: Decimal, raw: str | None) -> tuple[Decimal, Decimal]:
    if raw is None:
        return value, value
    h = half_unit(raw)
    return value - h, value + h


def ratio_status(stated_raw: str, stated: Decimal, num: Decimal, den: Decimal, *, num_raw: str | None = None,
                 den_raw: str | None = None, offset: Decimal = Decimal(0)) -> dict:
    """Status of a stated percentage against 100 × num / (den + offset).

    pass            — the recomputed value rounds to the stated one (within half a unit of its last digit);
    within_rounding — it does not, but some values of num/den consistent with their printed rounding give it,
                      or the stated value is the recomputed one truncated instead of rounded;
    fail            — otherwise (also when the base is zero and the stated value is not 0).
    """
    hu = half_unit(stated_raw)
    denom = den + offset
    if denom == 0:
        ok = stated == 0 and num == 0
        return {"status": "pass" if ok else "fail", "recomputed": None, "difference": None, "tolerance": hu,
                "note": "base is 0"}
    rec = num / denom * HUNDRED
    diff = abs(stated - rec)
    q = Decimal(10) ** -decimals_of(stated_raw)
    if diff <= hu:
        return {"status": "pass", "recomputed": rec, "difference": diff, "tolerance": hu, "note": None}
    # range allowed by the rounding of the inputs
    nlo, nhi = _bounds(num, num_raw)
    dlo, dhi = _bounds(den, den_raw)
    cands = []
    for n_ in (nlo, nhi):
        for d_ in (dlo, dhi):
            if d_ + offset > 0:
                cands.append(n_ / (d_ + offset) * HUNDRED)
    if cands and min(cands) - hu <= stated <= max(cands) + hu:
        return {"status": "within_rounding", "recomputed": rec, "difference": diff,
                "tolerance": max(abs(c - rec) for c in cands) + hu, "note": "within the rounding of the amounts"}
    if rec.quantize(q, rounding=ROUND_DOWN) == stated and rec >= 0:
        return {"status": "within_rounding", "recomputed": rec, "difference": diff, "tolerance": hu,
                "note": "truncated instead of rounded"}
    return {"status": "fail", "recomputed": rec, "difference": diff, "tolerance": hu, "note": None}


def fmt(d: Decimal | None, places: int = 2) -> str | None:
    if d is None:
        return None
    q = Decimal(10) ** -places
    return str(d.quantize(q, rounding=ROUND_HALF_UP))
