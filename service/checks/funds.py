"""Funds arithmetic and the execution score: R-EXEC-RATE, R-EXEC-OVER, R-EXEC-ROWS, R-EXEC-SCORE,
R-EXEC-EXPLAIN."""
from __future__ import annotations

from service.checks.base import UnitContext, finding, refs_of
from service.checks.numbers import (
    D0,
    D100,
    amount_tolerance,
    compare,
    decimals_of,
    fmt,
    fmt_pct,
    half_unit,
    rate_interval,
    raw_or,
)
from service.checks.text import category_of, is_empty_explanation, is_exec_indicator, states_exec_rate
from service.models import Figure, Finding, FundsSource, Indicator

_COLUMNS = (
    ("initial_budget", "年初预算数", "initial budget"),
    ("adjusted_budget", "全年预算数", "adjusted budget"),
    ("available", "到位数", "funds available"),
    ("executed", "执行数", "executed"),
)


def _budget_of(obj) -> Figure | None:
    adj = getattr(obj, "adjusted_budget", None)
    if adj is not None and adj.value is not None and adj.value != 0:
        return adj
    ini = getattr(obj, "initial_budget", None)
    if ini is not None and ini.value is not None:
        return ini
    return adj


def _rate_finding(ctx: UnitContext, label_zh: str, label_en: str, reported: Figure,
                  executed: Figure, budget: Figure) -> Finding | None:
    point, low, high = rate_interval(executed, budget)
    places = decimals_of(reported.raw, reported.value)
    cmp = compare(reported.value, point, half_unit(reported.raw, reported.value), places=places, low=low, high=high)
    if cmp.outcome == "exact":
        return None
    rec = fmt_pct(point)
    base_zh = (f"{label_zh}执行率填报为{raw_or(reported)}，按执行数{raw_or(executed)}÷预算数{raw_or(budget)}"
               f"计算为{rec}")
    base_en = (f"{label_en} execution rate reported as {raw_or(reported)}; executed {raw_or(executed)} ÷ budget "
               f"{raw_or(budget)} gives {rec}")
    if cmp.rounding:
        return finding(ctx, "R-EXEC-RATE", "info", base_zh + "，差异在四舍五入范围内。",
                       base_en + "; the difference is within rounding.",
                       reported=raw_or(reported), recomputed=rec, refs=[reported, executed, budget])
    return finding(ctx, "R-EXEC-RATE", "error", base_zh + "，两者不符。",
                   base_en + "; they disagree beyond rounding.",
                   reported=raw_or(reported), recomputed=rec, refs=[reported, executed, budget])


def check_exec_rate(ctx: UnitContext) -> list[Finding]:
    """Reported execution rate vs executed / adjusted budget, for the total row and each source row."""
    f = ctx.unit.funds
    out: list[Finding] = []
    rows: list[tuple[str, str, object]] = [("", "Total", f)]
    rows += [(f"{s.name}", s.name, s) for s in f.sources]
    for label_zh, label_en, row in rows:
        rep = getattr(row, "reported_rate", None)
        ex = getattr(row, "executed", None)
        bud = _budget_of(row)
        if rep is None or rep.value is None or ex is None or ex.value is None or bud is None \
                or bud.value is None or bud.value <= 0:
            continue
        fi = _rate_finding(ctx, label_zh, label_en, rep, ex, bud)
        if fi is not None:
            out.append(fi)
    out.extend(_exec_row_rates(ctx))
    return out


def _exec_row_rates(ctx: UnitContext) -> list[Finding]:
    """A 预算执行率 indicator row whose 实际完成值 is itself an execution rate (资金执行情况, 预算支出进度 …)
    must agree with executed ÷ budget; rows worded as compliance (按相关规定拨付…) are not rates."""
    rate = ctx.rate
    if rate is None or not rate.recomputed:
        return []
    out: list[Finding] = []
    for r in ctx.unit.indicators:
        if not (is_exec_indicator(r) and states_exec_rate(r)):
            continue
        a = r.actual
        if a is None or a.value is None or a.unit not in (None, "", "%") or a.op not in ("none", "="):
            continue
        c = compare(a.value, rate.value, half_unit(a.raw, a.value), places=decimals_of(a.raw, a.value),
                    low=rate.low, high=rate.high)
        if not c.beyond:
            continue
        name = r.level3 or r.level2 or "预算执行率"
        out.append(finding(
            ctx, "R-EXEC-RATE", "error",
            f"预算执行率指标行“{name}”实际完成值填{a.raw}，但执行数÷预算数为{fmt_pct(rate.value)}，两者不符。",
            f"The execution-rate row “{name}” states {a.raw}, but executed ÷ budget is {fmt_pct(rate.value)}.",
            reported=a.raw, recomputed=fmt_pct(rate.value), refs=[r, *rate.refs]))
    return out


def _exec_rows(ctx: UnitContext) -> list[Indicator]:
    if ctx.scheme.exec_source != "indicator":
        return []
    return [i for i in ctx.unit.indicators if category_of(i) == "预算执行"]


def check_exec_over(ctx: UnitContext) -> list[Finding]:
    """Executed above the budget (or above the funds available) beyond rounding."""
    f = ctx.unit.funds
    out: list[Finding] = []
    rows: list[tuple[str, str, object]] = [("", "", f)] + [(s.name, s.name + " ", s) for s in f.sources]
    for label_zh, label_en, row in rows:
        ex = getattr(row, "executed", None)
        bud = _budget_of(row)
        if ex is None or ex.value is None or bud is None or bud.value is None:
            continue
        tol = amount_tolerance(1)
        if ex.value > bud.value + tol:
            over = ex.value - bud.value
            out.append(finding(
                ctx, "R-EXEC-OVER", "error",
                f"{label_zh}执行数{raw_or(ex)}超过预算数{raw_or(bud)}（超出{fmt(over)}万元）。",
                f"{label_en}executed {raw_or(ex)} exceeds the budget {raw_or(bud)} by {fmt(over)} (万元).",
                reported=raw_or(ex), recomputed=f"≤{raw_or(bud)}", refs=[ex, bud]))
    return out


def check_exec_rows(ctx: UnitContext) -> list[Finding]:
    """年度资金总额 = Σ source rows (本年财政拨款 / 上年结转 / 其他资金 …), column by column."""
    f = ctx.unit.funds
    if not f.sources:
        return []
    out: list[Finding] = []
    for attr, zh, en in _COLUMNS:
        total: Figure | None = getattr(f, attr)
        parts: list[tuple[FundsSource, Figure | None]] = [(s, getattr(s, attr)) for s in f.sources]
        valued = [p for _, p in parts if p is not None and p.value is not None]
        if total is None or total.value is None or not valued:
            continue
        s = sum((p.value for p in valued), D0)
        tol = amount_tolerance(len(valued))
        diff = total.value - s
        if diff == 0:
            continue
        terms = " + ".join(f"{src.name}{raw_or(p) if p is not None else '(空)'}" for src, p in parts)
        terms_en = " + ".join(f"{src.name} {raw_or(p) if p is not None else '(blank)'}" for src, p in parts)
        sev = "info" if abs(diff) <= tol else "error"
        tail_zh = "，差异在四舍五入范围内。" if sev == "info" else "，合计行与分项之和不符。"
        tail_en = "; within rounding." if sev == "info" else "; the total row disagrees with its parts."
        out.append(finding(
            ctx, "R-EXEC-ROWS", sev,
            f"{zh}合计{raw_or(total)}，分项{terms}={fmt(s)}{tail_zh}",
            f"{en}: total {raw_or(total)} vs {terms_en} = {fmt(s)}{tail_en}",
            reported=raw_or(total), recomputed=fmt(s), refs=[total] + [p for _, p in parts]))
    return out


def check_exec_score(ctx: UnitContext) -> list[Finding]:
    """Execution score ≤ weight × min(rate, 1): above is inflation (error), far below is a warning."""
    sch, rate, unit = ctx.scheme, ctx.rate, ctx.unit
    if rate is None or sch.exec_source not in ("funds", "indicator"):
        return []
    rows = _exec_rows(ctx)
    if sch.exec_source == "funds":
        score_fig = unit.funds.exec_score
        weight = unit.funds.exec_weight.value if unit.funds.exec_weight is not None else sch.exec_weight
        if score_fig is None or score_fig.value is None or weight is None:
            return []
        score, score_raw, score_refs = score_fig.value, score_fig.raw, [score_fig, unit.funds.exec_weight]
    else:
        scored = [r for r in rows if r.score is not None]
        weight = sch.exec_weight
        if not scored or weight is None:
            return []
        score = sum((r.score for r in scored), D0)
        score_raw = None if len(scored) > 1 else format(scored[0].score, "f")
        score_refs = list(scored)
    capped_lo = min(rate.low, D100) / D100
    capped_hi = min(rate.high, D100) / D100
    rep_rate = unit.funds.reported_rate
    if rep_rate is not None and rep_rate.value is not None:
        # a score computed from the printed rate (92.05% × 10 = 9.205 → 9.21) is as right as one from the
        # amounts, as long as the printed rate itself is right to its last digit
        hu = half_unit(rep_rate.raw if "%" in (rep_rate.raw or "") else None, rep_rate.value)
        if rate.low - hu <= rep_rate.value <= rate.high + hu:
            capped_lo = min(capped_lo, min(rep_rate.value - hu, D100) / D100)
            capped_hi = max(capped_hi, min(rep_rate.value + hu, D100) / D100)
    expected = weight * min(rate.value, D100) / D100
    places = decimals_of(score_raw, score)
    cmp = compare(score, expected, half_unit(score_raw, score), places=places,
                  low=weight * capped_lo, high=weight * capped_hi)
    if cmp.outcome == "exact":
        return []
    # what the exec row itself claims, when it states a rate that the funds table contradicts
    stated = ""
    stated_en = ""
    for r in rows:
        if r.actual is not None and r.actual.value is not None and states_exec_rate(r) \
                and (r.actual.unit in (None, "", "%")):
            c = compare(r.actual.value, rate.value, half_unit(r.actual.raw, r.actual.value),
                        places=decimals_of(r.actual.raw, r.actual.value), low=rate.low, high=rate.high)
            if c.beyond:
                stated = f"（该行实际完成值填{r.actual.raw}）"
                stated_en = f" (the row itself states {r.actual.raw})"
    rate_txt = fmt_pct(rate.value)
    src_zh = "执行数÷预算数" if rate.recomputed else "填报执行率"
    src_en = "executed ÷ budget" if rate.recomputed else "the reported rate"
    rep = fmt(score, None)
    rec = fmt(expected)
    refs = score_refs + list(rate.refs)
    if cmp.rounding:
        return [finding(ctx, "R-EXEC-SCORE", "info",
                        f"预算执行得分{rep}，按{src_zh}{rate_txt}×分值{fmt(weight, None)}应为{rec}，差异在四舍五入范围内。",
                        f"Execution score {rep}; {src_en} {rate_txt} × weight {fmt(weight, None)} gives {rec}, "
                        f"within rounding.", reported=rep, recomputed=rec, refs=refs)]
    if score > weight:
        return [finding(ctx, "R-EXEC-SCORE", "error",
                        f"预算执行得分{rep}{stated}超过该项分值{fmt(weight, None)}；按执行率{rate_txt}（{src_zh}）应为{rec}分。",
                        f"Execution score {rep}{stated_en} exceeds its weight {fmt(weight, None)}; the rate {rate_txt} "
                        f"({src_en}) gives {rec}.", reported=rep, recomputed=rec, refs=refs)]
    if score > expected:
        return [finding(ctx, "R-EXEC-SCORE", "error",
                        f"预算执行率仅{rate_txt}（{src_zh}），预算执行得分却为{rep}{stated}，"
                        f"按分值{fmt(weight, None)}×执行率最多{rec}分。",
                        f"Execution rate is only {rate_txt} ({src_en}) yet the execution score is {rep}{stated_en}; "
                        f"weight {fmt(weight, None)} × rate allows at most {rec}.",
                        reported=rep, recomputed=rec, refs=refs)]
    return [finding(ctx, "R-EXEC-SCORE", "warning",
                    f"预算执行得分{rep}低于按{src_zh}{rate_txt}×分值{fmt(weight, None)}计算的{rec}分，未见扣分依据。",
                    f"Execution score {rep} is below {src_en} {rate_txt} × weight {fmt(weight, None)} = {rec}; "
                    f"no basis for the deduction is given.", reported=rep, recomputed=rec, refs=refs)]


def has_explanation(ctx: UnitContext, indicators: list[Indicator] | None = None) -> bool:
    """A reason is given: 存在问题 filled (not hint text / 无), or the rows' own 偏差原因 filled."""
    u = ctx.unit
    if u.stated_problems is not None and not is_empty_explanation(u.stated_problems.text):
        return True
    if u.stated_problems is None and u.stated_measures is not None \
            and not is_empty_explanation(u.stated_measures.text):
        return True
    for ind in indicators or []:
        if not is_empty_explanation(ind.deviation_note):
            return True
    return False


def check_exec_explain(ctx: UnitContext) -> list[Finding]:
    """Low execution (below the form's threshold, else 90%) needs a stated reason."""
    rate = ctx.rate
    if rate is None:
        return []
    # judged on the rate the report states (a contradicting rate is R-EXEC-RATE's finding, not a missing
    # explanation); the recomputed one only when none is printed
    rep = ctx.unit.funds.reported_rate
    value = rep.value if rep is not None and rep.value is not None else rate.value
    if value >= ctx.low_exec_threshold:
        return []
    exec_inds = [i for i in ctx.unit.indicators if is_exec_indicator(i)]
    if has_explanation(ctx, exec_inds):
        return []
    u = ctx.unit
    where = u.stated_problems or u.stated_measures
    thr = fmt(ctx.low_exec_threshold, None)
    return [finding(
        ctx, "R-EXEC-EXPLAIN", "warning",
        f"预算执行率{fmt_pct(value)}低于{thr}%（{ctx.threshold_source}），但“存在问题/偏差原因”未说明原因"
        f"{'（仅有模板提示文字）' if where is not None else ''}。",
        f"Execution rate {fmt_pct(value)} is below {thr}% "
        f"({'stated by the form' if ctx.threshold_source.startswith('表格规定') else 'the form states none; 90% assumed'})"
        f" but no reason is given in "
        f"存在问题 / 偏差原因{' (only the template hint text)' if where is not None else ''}.",
        reported=f"执行率{fmt_pct(value)}；存在问题：{(where.text if where is not None else '') or '未填写'}",
        recomputed=f"低于{thr}%应说明原因",
        refs=refs_of(list(rate.refs), where, exec_inds, ctx.threshold_ref))]


def check_zero_spend(ctx: UnitContext) -> list[Finding]:
    """Nothing spent of a positive budget, yet output/benefit indicators scored at full weight, or a cost
    indicator met only because the cost was 0 and scored in full (R-ZERO-SPEND). Rows without a printed weight
    (Hebei) cannot be called full and are left out."""
    u = ctx.unit
    f = u.funds
    budget = _budget_of(f)
    if f.executed is None or f.executed.value is None or f.executed.value != 0:
        return []
    if budget is None or budget.value is None or budget.value <= 0:
        return []
    full = [i for i in u.indicators
            if i.weight is not None and i.score is not None and i.weight > 0 and i.score >= i.weight]
    out_ben = [i for i in full if category_of(i) in ("产出", "效益")]
    cost = [i for i in full if category_of(i) == "成本" and i.actual is not None and i.actual.value is not None
            and i.actual.value == 0]
    if not out_ben and not cost:
        return []
    parts_zh, parts_en = [], []
    if cost:
        names = "、".join(f"“{i.level3}”" for i in cost[:3])
        parts_zh.append(f"成本指标{names}完成值为0仍得满分{fmt(sum(i.score for i in cost), None)}分")
        parts_en.append(f"cost indicator(s) {', '.join(i.level3 for i in cost[:3])} at 0 scored in full")
    if out_ben:
        parts_zh.append(f"产出、效益指标{len(out_ben)}项得满分（合计{fmt(sum(i.score for i in out_ben), None)}分）")
        parts_en.append(f"{len(out_ben)} output/benefit indicators scored in full")
    return [finding(
        ctx, "R-ZERO-SPEND", "warning",
        f"全年执行数为0（全年预算数{raw_or(budget)}万元），资金未使用，但{'，'.join(parts_zh)}；"
        f"相应的产出、效益和成本完成情况缺乏资金支出支撑，自评得分偏高，应说明依据或调整得分。",
        f"Nothing spent of a {raw_or(budget)} 万元 budget, yet {'; '.join(parts_en)}: the results are not backed by "
        f"any spending.",
        reported=f"执行数{raw_or(f.executed)}；满分指标{len(cost) + len(out_ben)}项",
        recomputed="资金未使用，满分缺乏依据", refs=[f.executed, budget, *cost, *out_ben[:4]])]


__all__ = [
    "check_zero_spend",
    "check_exec_rate", "check_exec_over", "check_exec_rows", "check_exec_score", "check_exec_explain",
    "has_explanation",
]
