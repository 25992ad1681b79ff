"""Totals, weights and grades: R-TOTAL, R-CATEGORY-SUM, R-WEIGHT-L1, R-GRADE."""
from __future__ import annotations

from decimal import Decimal

from service.checks.base import UnitContext, finding
from service.checks.numbers import D0, D100, compare, decimals_of, fmt, fmt_pct, grade_of, half_unit, normalize_grade, raw_or
from service.checks.scheme import ZHONGYUAN_EXEC, ZHONGYUAN_FUND, score_sum, weight_sum
from service.checks.score import UNREVIEWABLE_ZH, unreadable_scores
from service.checks.text import category_of
from service.models import Finding

_CENT = Decimal("0.01")


def recompute_total(ctx: UnitContext) -> tuple[Decimal, Decimal, Decimal, str, str] | None:
    """(point, low, high, formula_zh, formula_en) of the total the scheme gives, or None."""
    u, sch = ctx.unit, ctx.scheme
    if unreadable_scores(u):  # grades or percentages typed into 得分 cannot be summed into a total
        return None
    s = score_sum(u)
    if s is None:
        return None
    n = sum(1 for i in u.indicators if i.score is not None)
    if sch.exec_source == "funds":
        es = u.funds.exec_score
        if es is None or es.value is None:
            return None
        t = s + es.value
        return (t, t, t, f"资金执行得分{raw_or(es)} + 指标得分合计{fmt(s, None)}（{n}项）",
                f"execution score {raw_or(es)} + Σ {n} indicator scores {fmt(s, None)}")
    if sch.family == "zhongyuan":
        rate = ctx.rate
        if rate is None:
            return None
        pt = ZHONGYUAN_EXEC * min(rate.value, D100) / D100
        lo = ZHONGYUAN_EXEC * min(rate.low, D100) / D100
        hi = ZHONGYUAN_EXEC * min(rate.high, D100) / D100
        fixed = sum(sch.fixed_blocks.values(), D0)
        return (s + pt + fixed, s + lo + fixed, s + hi + fixed,
                f"指标得分合计{fmt(s, None)}（{n}项） + 预算执行{fmt(ZHONGYUAN_EXEC, None)}×{fmt_pct(rate.value)}"
                f"={fmt(pt)} + 资金管理{fmt(ZHONGYUAN_FUND, None)}",
                f"Σ {n} indicator scores {fmt(s, None)} + execution {fmt(ZHONGYUAN_EXEC, None)} × "
                f"{fmt_pct(rate.value)} = {fmt(pt)} + 资金管理 {fmt(ZHONGYUAN_FUND, None)}")
    return (s, s, s, f"指标得分合计（{n}项）", f"Σ {n} indicator scores")


def check_total(ctx: UnitContext) -> list[Finding]:
    """Σ scores (+ execution score, + fixed blocks) vs the reported total; a total above 100 is an error."""
    u = ctx.unit
    rep = u.reported_total
    if rep is None or rep.value is None:
        return []
    out: list[Finding] = []
    if rep.value > D100:
        out.append(finding(ctx, "R-TOTAL", "error", f"总分{raw_or(rep)}超过100分（不得加分）。",
                           f"Total {raw_or(rep)} exceeds 100 (no bonus points).",
                           reported=raw_or(rep), recomputed="≤100", refs=[rep]))
    odd = unreadable_scores(u)
    if odd:
        # one finding for the whole column: a total "recomputed" from the numeric cells alone would be a number
        # the report never meant (335 against a stated 90), so the reviewer asks for the table again instead
        cells = "、".join(dict.fromkeys(f"“{i.score_text}”" for i in odd))
        out.append(finding(ctx, "R-TOTAL", "error",
                           f"自评得分栏有{len(odd)}项填写的不是分值（{cells}），{UNREVIEWABLE_ZH}",
                           f"{len(odd)} cells of the score column hold no score ({cells}); the total cannot be "
                           f"reviewed — the table must be filled in again.",
                           reported=raw_or(rep), recomputed="无法复核", refs=[rep, *odd]))
        return out
    rec = recompute_total(ctx)
    if rec is None:
        return out
    point, low, high, fz, fe = rec
    places = decimals_of(rep.raw, rep.value)
    tol = half_unit(rep.raw, rep.value)
    cmp = compare(rep.value, point, tol, places=places, low=low, high=high)
    if cmp.outcome == "exact":
        return out
    scored = [i for i in u.indicators if i.score is not None]
    refs = [rep] + scored + ([u.funds.exec_score] if ctx.scheme.exec_source == "funds" else []) + \
        (list(ctx.rate.refs) if ctx.scheme.family == "zhongyuan" and ctx.rate else [])
    missing = sum(1 for i in u.indicators if i.score is None and (i.weight is not None or i.target is not None))
    extra_zh = f"（另有{missing}项得分非数字或空白）" if missing else ""
    extra_en = f" ({missing} scores are blank or not numbers)" if missing else ""
    if cmp.rounding:
        out.append(finding(ctx, "R-TOTAL", "info",
                           f"总分{raw_or(rep)}，按{fz}为{fmt(point)}，差异在四舍五入范围内。",
                           f"Total {raw_or(rep)}; {fe} = {fmt(point)}, within rounding.",
                           reported=raw_or(rep), recomputed=fmt(point), refs=refs))
    else:
        out.append(finding(ctx, "R-TOTAL", "error",
                           f"总分填报{raw_or(rep)}，但{fz}={fmt(point)}{extra_zh}，相差{fmt(rep.value - point)}分。",
                           f"Total reported as {raw_or(rep)} but {fe} = {fmt(point)}{extra_en}; "
                           f"off by {fmt(rep.value - point)}.",
                           reported=raw_or(rep), recomputed=fmt(point), refs=refs))
    return out


def check_category_sum(ctx: UnitContext) -> list[Finding]:
    """Scores under a printed heading must not exceed the heading's weight (warning)."""
    from service.checks.text import category_of_level2

    sch = ctx.scheme
    if not sch.category_weights:
        return []
    out: list[Finding] = []
    for cat, weight in sch.category_weights.items():
        inds = [i for i in ctx.unit.indicators if category_of(i) == cat and i.score is not None]
        if not inds:
            continue
        s = sum((i.score for i in inds), D0)
        if s > weight + Decimal("0.005") * len(inds):
            strays = [i for i in inds if category_of_level2(i) in sch.inferred_categories]
            note_zh = note_en = ""
            severity = "warning"
            if strays:
                kinds = "、".join(sorted({i.level2 or "" for i in strays}))
                note_zh = f"（其中{kinds}{len(strays)}行列在该标题下，表中缺少相应一级指标行）"
                note_en = f" ({len(strays)} {kinds} rows sit under this heading; their own heading is missing)"
                # issue 16: a lost heading is a layout slip, not a scoring one, when the rows fit once put back
                # where their second-level names say — the heading's own rows within its weight, the strays
                # within the weight the headers leave over (100 − Σ printed), the weights still 100
                rest = s - sum((i.score for i in strays), D0)
                stray_sum = sum((i.score for i in strays), D0)
                room = D100 - sum(sch.category_weights.values(), D0)
                tol = Decimal("0.005") * len(inds)
                if room > 0 and rest <= weight + tol and stray_sum <= room + tol:
                    severity = "info"
                    note_zh += (f"；按二级指标归类后，{cat}指标得分{fmt(rest, None)}不超过{fmt(weight, None)}，"
                                f"{kinds}得分{fmt(stray_sum, None)}不超过表头未列的{fmt(room, None)}分，权重合计仍为100，"
                                f"得分不受影响，属表格版式问题，请补列一级指标行")
                    note_en += (f"; put back by their second-level names the rows fit ({fmt(rest, None)} ≤ "
                                f"{fmt(weight, None)}, {fmt(stray_sum, None)} ≤ {fmt(room, None)}) and the weights "
                                f"still add to 100: a layout slip, scores unaffected")
            out.append(finding(
                ctx, "R-CATEGORY-SUM", severity,
                f"{cat}指标（分值{fmt(weight, None)}）下各项得分合计{fmt(s, None)}，超过该类分值{note_zh}。",
                f"Rows under the {cat} heading (weight {fmt(weight, None)}) score {fmt(s, None)} in all, above "
                f"the weight{note_en}.",
                reported=fmt(s, None), recomputed=f"≤{fmt(weight, None)}", refs=inds))
    return out


def check_category_weight(ctx: UnitContext) -> list[Finding]:
    """The rows under a printed heading carry the heading's points: 产出指标（50分） over rows weighing 45 in all
    is a weighting slip the total hides (warning). Only where every row under the heading prints a weight and none
    belongs under another heading by its second-level name (a lost heading is R-CATEGORY-SUM's and R-WEIGHT-L1's)."""
    from service.checks.text import category_of_label, category_of_level2, strip_weight_suffix

    sch = ctx.scheme
    if not ctx.unit.category_weights:
        return []

    def heading(label: str | None) -> str:
        # rows are grouped by the heading the table prints over them, known (产出指标) or its own (项目绩效)
        return category_of_label(label) or strip_weight_suffix(label or "").strip()

    out: list[Finding] = []
    for label, weight in ctx.unit.category_weights.items():
        cat = heading(label)
        inds = [i for i in ctx.unit.indicators if heading(i.level1) == cat]
        if not inds or any(i.weight is None for i in inds):
            continue
        if category_of_label(label) is not None and any(category_of_level2(i) in sch.inferred_categories
                                                         for i in inds):
            continue
        s = sum((i.weight for i in inds), D0)
        if abs(s - weight) <= Decimal("0.005") * len(inds):
            continue
        out.append(finding(
            ctx, "R-CATEGORY-WEIGHT", "warning",
            f"{cat}指标标题所列分值为{fmt(weight, None)}分，其下{len(inds)}项三级指标分值合计{fmt(s, None)}分，"
            f"{'少' if s < weight else '多'}{fmt(abs(weight - s), None)}分；指标分值与标题不一致，请核实各项分值。",
            f"The {cat} heading prints {fmt(weight, None)} points but its {len(inds)} rows weigh {fmt(s, None)} in "
            f"all.", reported=fmt(s, None), recomputed=fmt(weight, None), refs=inds))
    return out


def check_weight_l1(ctx: UnitContext) -> list[Finding]:
    """First-level weights sum to 100 (with the scheme's fixed blocks)."""
    u, sch = ctx.unit, ctx.scheme
    out: list[Finding] = []
    if sch.family == "hebei":
        total = sum(sch.category_weights.values(), D0)
        if total != D100:
            parts = "+".join(f"{k}{fmt(v, None)}" for k, v in sch.category_weights.items())
            miss_zh = f"，缺少{'、'.join(sch.inferred_categories)}指标标题行" if sch.inferred_categories else ""
            miss_en = (f"; no heading printed for {', '.join(sch.inferred_categories)}"
                       if sch.inferred_categories else "")
            heads = [i for i in u.indicators if i.level1][:1]
            severity = "warning"
            if sch.inferred_categories:
                # issue 16: the gap is exactly the lost heading's usual weight and its rows score within it, so
                # the weights still add to 100 and no score moves — a layout slip (info), not a weighting error
                from service.checks.scheme import HEBEI_DEFAULTS
                from service.checks.text import category_of_level2

                gap = D100 - total
                usual = sum((HEBEI_DEFAULTS[c] for c in sch.inferred_categories), D0)
                strays = [i for i in u.indicators if category_of_level2(i) in sch.inferred_categories
                          and i.score is not None]
                if gap == usual and strays and sum((i.score for i in strays), D0) <= gap + Decimal("0.005") * len(strays):
                    severity = "info"
                    miss_zh += (f"；缺少的标题按通行分值{fmt(usual, None)}补足后合计为100，其下各行得分"
                                f"{fmt(sum((i.score for i in strays), D0), None)}未超出，分值和得分不受影响，属表格版式问题")
                    miss_en += (f"; with the missing heading's usual {fmt(usual, None)} the weights add to 100 and its "
                                f"rows score within it: a layout slip")
            out.append(finding(
                ctx, "R-WEIGHT-L1", severity,
                f"表头所列一级指标分值合计{fmt(total, None)}（{parts}），不等于100{miss_zh}。",
                f"First-level weights printed in the headers sum to {fmt(total, None)} ({parts}), not 100{miss_en}.",
                reported=fmt(total, None), recomputed="100", refs=heads or [u.ref]))
        return out
    ws = weight_sum(u)
    if ws is None:
        return out
    weighted = [i for i in u.indicators if i.weight is not None]
    expected = sch.indicator_weight_total
    if expected is None:
        return out
    if abs(ws - expected) > Decimal("0.005") * len(weighted):
        if sch.family == "henan":
            zh = f"资金执行分值{fmt(sch.exec_weight, None)} + 指标分值合计{fmt(ws, None)} = {fmt(ws + sch.exec_weight, None)}，不等于100。"
            en = f"Execution weight {fmt(sch.exec_weight, None)} + Σ indicator weights {fmt(ws, None)} = {fmt(ws + sch.exec_weight, None)}, not 100."
        elif sch.family == "zhongyuan":
            zh = (f"指标分值合计{fmt(ws, None)}，按本方案（资金管理20 + 预算执行10 + 指标70）应为70；"
                  f"一级分值合计{fmt(ws + 30, None)}，不等于100。")
            en = (f"Indicator weights sum to {fmt(ws, None)}; this scheme (资金管理 20 + execution 10 + indicators 70) "
                  f"needs 70, so the weights total {fmt(ws + 30, None)}, not 100.")
        else:
            zh = f"指标分值合计{fmt(ws, None)}，不等于{fmt(expected, None)}。"
            en = f"Indicator weights sum to {fmt(ws, None)}, not {fmt(expected, None)}."
        out.append(finding(ctx, "R-WEIGHT-L1", "warning", zh, en, reported=fmt(ws, None),
                           recomputed=fmt(expected, None), refs=weighted))
    return out


def check_grade(ctx: UnitContext) -> list[Finding]:
    """Reported grade vs the grade of the reported total (优 ≥90, 良 ≥80, 中 ≥60, else 差)."""
    u = ctx.unit
    if u.reported_total is None or u.reported_total.value is None or u.reported_grade is None:
        return []
    g = normalize_grade(u.reported_grade.text)
    if g is None:
        return []
    expect = grade_of(u.reported_total.value)
    if g == expect:
        return []
    return [finding(
        ctx, "R-GRADE", "error",
        f"总分{raw_or(u.reported_total)}对应等级应为“{expect}”（90–100优、80–<90良、60–<80中、<60差），"
        f"表中评价等级却为“{u.reported_grade.text}”。",
        f"Total {raw_or(u.reported_total)} grades as “{expect}” (90–100 优, 80–<90 良, 60–<80 中, <60 差) but the "
        f"grade given is “{u.reported_grade.text}”.",
        reported=u.reported_grade.text, recomputed=expect, refs=[u.reported_grade, u.reported_total])]
