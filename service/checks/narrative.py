"""Numbers stated in prose vs the table: R-NARR-AMOUNT, R-NARR-TOTAL, R-NARR-GRADE, R-NARR-RATE."""
from __future__ import annotations

import re
from decimal import Decimal

from service.checks.base import UnitContext, finding
from service.checks.numbers import (
    D0,
    amount_half_unit,
    compare,
    decimals_of,
    fmt,
    fmt_pct,
    grade_of,
    half_unit,
    normalize_grade,
    raw_or,
    to_wan,
)
from service.models import Figure, Finding, NarrativeClaim, SourceRef


def _claim_text(c: NarrativeClaim) -> str:
    if c.ref is not None and c.ref.quote:
        return c.ref.quote
    if c.text:
        return c.text
    return f"{fmt(c.value, None)}{c.unit or ''}"


def _claim_wan(c: NarrativeClaim) -> tuple[Decimal, Decimal] | None:
    """(value in 万元, half unit in 万元) of an amount claim."""
    if c.value is None:
        return None
    hu = half_unit(None, c.value)
    return to_wan(c.value, c.unit), to_wan(hu, c.unit)


def _same_amount(claim: tuple[Decimal, Decimal], fig: Figure) -> bool:
    v, hu = claim
    tol = max(hu, amount_half_unit(fig.raw, fig.value))
    return abs(v - fig.value) <= tol


def _group(ctx: UnitContext, rule: str, bad: list[NarrativeClaim], zh, en, reported, recomputed, table_refs) -> list[Finding]:
    """One finding per distinct stated value (a report that repeats 973万元 twice is one contradiction)."""
    out: list[Finding] = []
    seen: dict[tuple, list[NarrativeClaim]] = {}
    for c in bad:
        key = (c.kind, c.value, c.unit, (c.text or "").strip() if c.value is None else "")
        seen.setdefault(key, []).append(c)
    for claims in seen.values():
        c = claims[0]
        out.append(finding(ctx, rule, "error", zh(c, claims), en(c, claims), reported=reported(c),
                           recomputed=recomputed, refs=[*claims, *table_refs]))
    return out


def _sentence_before(ctx: UnitContext, c: NarrativeClaim) -> str:
    """The text of the claim's sentence before the quoted amount (needs the loaded document)."""
    if ctx.doc is None or c.ref is None:
        return ""
    from retrieval.normalize import join_broken

    texts = []
    for line in ctx.doc.iter_lines():
        if line.page == c.ref.page and c.ref.line_start <= line.line_no <= c.ref.line_end:
            texts.append(line.text)
    text = join_broken(texts)
    pos = text.find(c.ref.quote)
    if pos < 0:
        return ""
    before = text[:pos]
    cut = max(before.rfind("。"), before.rfind("；"))
    return before[cut + 1:]


def _is_arrangement(ctx: UnitContext, c: NarrativeClaim) -> bool:
    """“2020年安排我局…X万元” states the year's initial arrangement, which a Hebei table (预算数 调整后) does
    not print: it can only contradict a printed 年初预算数."""
    return "安排" in _sentence_before(ctx, c)


def check_narr_amount(ctx: UnitContext) -> list[Finding]:
    """Executed / budget amounts stated in prose (万元 or 元) vs the funds table."""
    f = ctx.unit.funds
    claims = [c for c in ctx.unit.narrative_claims if c.kind in ("executed_amount", "budget_amount") and c.value is not None]
    if not claims:
        return []
    out: list[Finding] = []
    ex = f.executed
    if ex is not None and ex.value is not None:
        bad = [c for c in claims if c.kind == "executed_amount" and not _same_amount(_claim_wan(c), ex)]
        out += _group(
            ctx, "R-NARR-AMOUNT", bad,
            lambda c, cs: f"文字部分称实际支出/执行“{_claim_text(c)}”"
                          f"{f'（共{len(cs)}处）' if len(cs) > 1 else ''}，折合{fmt(_claim_wan(c)[0])}万元，"
                          f"与表中全年执行数{raw_or(ex)}万元不符。",
            lambda c, cs: f"The text states the amount spent as “{_claim_text(c)}”"
                          f"{f' ({len(cs)} places)' if len(cs) > 1 else ''} = {fmt(_claim_wan(c)[0])} 万元, but the "
                          f"table's executed amount is {raw_or(ex)} 万元.",
            lambda c: _claim_text(c), f"{raw_or(ex)}万元", [ex])
    budgets = [b for b in (f.adjusted_budget, f.initial_budget, f.available) if b is not None and b.value is not None]
    bclaims = [c for c in claims if c.kind == "budget_amount"]
    if budgets and bclaims:
        # budgets stated in parts (财政预算安排3万元；上级专款4.06万元) are fine when the parts add up; the
        # other amounts stated on the same line as a budget claim count as parts
        lines = {(c.ref.page, c.ref.line_start) for c in bclaims if c.ref is not None}
        parts = bclaims + [c for c in ctx.unit.narrative_claims if c.kind == "other_amount" and c.value is not None
                           and c.ref is not None and (c.ref.page, c.ref.line_start) in lines]
        total = sum((_claim_wan(c)[0] for c in parts), D0)
        parts_ok = len(parts) > 1 and any(abs(total - b.value) <= Decimal("0.01") * len(parts) for b in budgets)
        bad = [] if parts_ok else [c for c in bclaims if not any(_same_amount(_claim_wan(c), b) for b in budgets)]
        ini = f.initial_budget if f.initial_budget is not None and f.initial_budget.value else None
        bad = [c for c in bad if not (_is_arrangement(ctx, c) and
                                      (ini is None or _same_amount(_claim_wan(c), ini)))]
        main = budgets[0]
        out += _group(
            ctx, "R-NARR-AMOUNT", bad,
            lambda c, cs: f"文字部分称预算“{_claim_text(c)}”{f'（共{len(cs)}处）' if len(cs) > 1 else ''}，"
                          f"折合{fmt(_claim_wan(c)[0])}万元，与表中预算数{raw_or(main)}万元不符。",
            lambda c, cs: f"The text states the budget as “{_claim_text(c)}”{f' ({len(cs)} places)' if len(cs) > 1 else ''}"
                          f" = {fmt(_claim_wan(c)[0])} 万元, but the table's budget is {raw_or(main)} 万元.",
            lambda c: _claim_text(c), f"{raw_or(main)}万元", budgets)
    return out


def check_narr_total(ctx: UnitContext) -> list[Finding]:
    u = ctx.unit
    rep = u.reported_total
    if rep is None or rep.value is None:
        return []
    bad = []
    for c in u.narrative_claims:
        if c.kind != "total_score" or c.value is None or (c.ref is not None and c.ref == rep.ref):
            continue
        tol = max(half_unit(None, c.value), half_unit(rep.raw, rep.value))
        if abs(c.value - rep.value) > tol:
            bad.append(c)
    return _group(
        ctx, "R-NARR-TOTAL", bad,
        lambda c, cs: f"文字部分称自评总分{fmt(c.value, None)}分（“{_claim_text(c)}”），表中总分为{raw_or(rep)}。",
        lambda c, cs: f"The text states a total of {fmt(c.value, None)} (“{_claim_text(c)}”); the table's total is "
                      f"{raw_or(rep)}.",
        lambda c: fmt(c.value, None), raw_or(rep), [rep])


def check_narr_grade(ctx: UnitContext) -> list[Finding]:
    u = ctx.unit
    if u.reported_grade is not None and normalize_grade(u.reported_grade.text):
        table_grade, table_ref, label_zh, label_en = (normalize_grade(u.reported_grade.text), u.reported_grade,
                                                      f"表中评价等级为“{u.reported_grade.text}”",
                                                      f"the table grades it “{u.reported_grade.text}”")
    elif u.reported_total is not None and u.reported_total.value is not None:
        g = grade_of(u.reported_total.value)
        table_grade, table_ref, label_zh, label_en = (g, u.reported_total,
                                                      f"表中总分{raw_or(u.reported_total)}对应“{g}”",
                                                      f"the table's total {raw_or(u.reported_total)} grades as “{g}”")
    else:
        return []
    bad = []
    for c in u.narrative_claims:
        if c.kind != "grade" or (c.ref is not None and c.ref == table_ref.ref):
            continue
        g = normalize_grade(c.text)
        if g is not None and g != table_grade:
            bad.append(c)
    return _group(
        ctx, "R-NARR-GRADE", bad,
        lambda c, cs: f"文字部分称评价等级“{c.text}”（“{_claim_text(c)}”），{label_zh}。",
        lambda c, cs: f"The text gives the grade “{c.text}” (“{_claim_text(c)}”) but {label_en}.",
        lambda c: c.text or "", table_grade, [table_ref])


_DEV = re.compile(r"偏离度\s*(\d+(?:\.\d+)?)\s*%")
_TARGET_SPEC = re.compile(r"“([^”]*?)(>=|<=|≥|≤|>|<|=)\s*(\d+(?:\.\d+)?)\s*([^”\d]*)”")
_ACTUAL = re.compile(r"实际[^\d，,。]{0,24}?(\d+(?:\.\d+)?)")


def _deviation_findings(ctx: UnitContext) -> list[Finding]:
    """A deviation rate the text states for one of this project's indicators (seed 004's 项目自评总结报告:
    “城乡医疗救助人次>600人次”, 实际947人次, 偏离度27.83%) vs |actual − target| ÷ target."""
    if ctx.doc is None:
        return []
    from service.checks.text import light_key

    from retrieval.normalize import join_broken

    u = ctx.unit
    pkey = light_key(u.project)
    out: list[Finding] = []
    lines = [ln for ln in ctx.doc.iter_lines()]
    for k, line in enumerate(lines):
        if line.kind != "text" or "偏离度" not in line.text:
            continue
        # prose lines are visual lines: a sentence may start a few lines up (same page)
        window = [line]
        for prev in reversed(lines[max(0, k - 8):k]):
            if prev.kind != "text" or prev.page != line.page or prev.line_no != window[0].line_no - 1:
                break
            window.insert(0, prev)
        texts = [w.text for w in window]
        ends = [len(join_broken(texts[:i + 1])) for i in range(len(texts))]
        text = join_broken(texts)
        own_start = ends[-2] if len(ends) > 1 else 0
        for m in _DEV.finditer(text):
            if m.start() < own_start:
                continue  # reported from the line where it starts
            start = max(text.rfind("。", 0, m.start()) + 1, 0)
            sentence = text[start:m.end()]
            first = next(i for i, e in enumerate(ends) if e > start)
            if pkey not in light_key(sentence):
                continue
            spec = _TARGET_SPEC.search(sentence)
            if spec is None:
                continue
            act = _ACTUAL.search(sentence, spec.end())
            if act is None:
                continue
            target, actual, stated = Decimal(spec.group(3)), Decimal(act.group(1)), Decimal(m.group(1))
            name = light_key(spec.group(1))
            ind = next((i for i in u.indicators if i.target is not None and i.target.value == target
                        and i.level3 and (light_key(i.level3) in name or name in light_key(i.level3))), None)
            if ind is None or target == 0:
                continue
            dev = abs(actual - target) / target * 100
            if not compare(stated, dev, half_unit(m.group(1)), places=decimals_of(m.group(1))).beyond:
                continue
            quote = sentence.strip()
            ref = SourceRef(doc_id=u.doc_id, page=line.page, line_start=window[first].line_no,
                            line_end=line.line_no, quote=quote)
            out.append(finding(
                ctx, "R-NARR-RATE", "error",
                f"文字称“{spec.group(1)}{spec.group(2)}{spec.group(3)}{spec.group(4)}”实际{act.group(1)}、偏离度"
                f"{m.group(1)}%，按|实际−目标|÷目标计算为{fmt(dev)}%。",
                f"The text states a deviation of {m.group(1)}% for “{spec.group(1)}” (target {spec.group(3)}, actual "
                f"{act.group(1)}); |actual − target| ÷ target gives {fmt(dev)}%.",
                reported=f"{m.group(1)}%", recomputed=f"{fmt(dev)}%", refs=[ref, ind],
                variant=f"{ctx.scheme.variant}; deviation = |actual − target| / target [inferred]"))
    return out


def check_narr_rate(ctx: UnitContext) -> list[Finding]:
    dev = _deviation_findings(ctx)
    return dev + _narr_exec_rate(ctx)


def _narr_exec_rate(ctx: UnitContext) -> list[Finding]:
    u, rate = ctx.unit, ctx.rate
    rep = u.funds.reported_rate
    if rep is not None and rep.value is not None:
        table_val, table_txt, refs = rep.value, raw_or(rep), [rep]
        lo = hi = table_val
    elif rate is not None:
        table_val, table_txt, refs = rate.value, fmt_pct(rate.value), list(rate.refs)
        lo, hi = rate.low, rate.high
    else:
        return []
    bad = []
    for c in u.narrative_claims:
        if c.kind != "execution_rate" or c.value is None or (c.ref is not None and c.ref in refs):
            continue
        places = decimals_of(None, c.value)
        tol = max(half_unit(None, c.value), half_unit(rep.raw if rep else None, table_val))
        if compare(c.value, table_val, tol, places=places, low=lo, high=hi).beyond:
            bad.append(c)
    return _group(
        ctx, "R-NARR-RATE", bad,
        lambda c, cs: f"文字部分称执行率{fmt(c.value, None)}%（“{_claim_text(c)}”），表中为{table_txt}。",
        lambda c, cs: f"The text states an execution rate of {fmt(c.value, None)}% (“{_claim_text(c)}”); the table "
                      f"gives {table_txt}.",
        lambda c: f"{fmt(c.value, None)}%", table_txt, refs)


__all__ = ["check_narr_amount", "check_narr_total", "check_narr_grade", "check_narr_rate"]
