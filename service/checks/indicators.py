"""Indicator attainment and its explanations: R-QUANT-POS, R-QUANT-NEG, R-QUANT-EQ, R-QUAL,
R-FULL-BUT-DEDUCTED, R-EMPTY-VALUE, R-DEVIATION, R-UNIT-MAGNITUDE."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from service.checks.base import UnitContext, finding, refs_of
from service.checks.funds import has_explanation
from service.checks.numbers import D0, D1, D100, WAN, compare, decimals_of, fmt, half_unit, raw_or
from service.checks.text import category_of, is_empty_explanation, light_key
from service.models import Finding, Indicator, Target

_POSITIVE_WORDS = ("完成", "达到", "达成", "有效", "显著", "提高", "提升", "及时", "准确", "合规", "规范", "健全",
                   "完备", "可控", "合理", "是", "满意", "正常", "保障", "到位", "实现", "明显", "稳定", "符合")
_NEGATIVE = re.compile(r"未|没有|不(?!低于|少于|超过|高于)|无法|较差|差")
_PARTIAL = re.compile(r"一定|部分|基本|初步|较好|有所")


@dataclass(frozen=True)
class Assessment:
    kind: str  # pos | neg | eq | range | qual
    status: str  # met | partial | missed | unknown
    target: Decimal | None = None
    actual: Decimal | None = None
    unit: str | None = None
    formula: Decimal | None = None  # score the formula gives when missed (point)
    formula_alt: Decimal | None = None  # the vendor variant for ≤ targets
    note: str = ""  # how the target was read


def _norm_unit(u: str | None) -> str | None:
    if u is None:
        return None
    u = u.strip()
    if not u:
        return None
    return {"人次": "人", "名": "人", "个百分点": "%", "％": "%"}.get(u, u)


_RATE_NAME = re.compile(r"率|比例|比重|占比|%|百分")
_NAME_UNIT = re.compile(r"[(（]\s*([^()（）]{1,4})\s*[)）]\s*$")


def _common(t: Target, a: Target, name: str = "") -> tuple[Decimal, Decimal, str | None] | None:
    """Target and actual values in one unit, or None when they cannot be compared. A bare number against a
    percentage is compared only when the indicator is a rate (seed 003: 日常检查企业数(家) ≥100% → 72.00 is a
    count against a completion rate, not comparable)."""
    tu, au = _norm_unit(t.unit), _norm_unit(a.unit)
    tv, av = t.value, a.value
    if tv is None or av is None:
        return None
    if (tu is None) != (au is None):
        m = _NAME_UNIT.search(name or "")
        named = _norm_unit(m.group(1)) if m else None
        known = tu or au
        if named is not None and named != known:
            return None
        if known == "%" and named is None and not _RATE_NAME.search(name or ""):
            return None
    if tu == au or tu is None or au is None:
        return tv, av, tu or au
    money = {"元": D1, "万元": WAN, "亿元": WAN * WAN}
    if tu in money and au in money:
        return tv * money[tu], av * money[au], "元"
    return None


def _qual_status(target: Target | None, actual: Target | None) -> str:
    if actual is None:
        return "unknown"
    if actual.value is not None and _norm_unit(actual.unit) in ("%", None) and actual.op in ("none", "=", ">=", "<="):
        v = actual.value
        if v >= D100:
            return "met"
        return "missed" if v == 0 else "partial"
    word = (actual.qualitative or actual.raw or "").strip()
    tword = ((target.qualitative or target.raw) if target is not None else "") or ""
    if not word:
        return "unknown"
    if light_key(word) == light_key(tword) or (tword.startswith("是否") and word in ("是", tword[2:4])):
        return "met"
    if tword in ("否", "无") and word in ("否", "无"):
        return "met"
    if tword in ("否", "无") and word in ("是", "有"):
        return "missed"
    if _PARTIAL.search(word):
        return "partial"
    if _NEGATIVE.search(word) and not _NEGATIVE.search(tword):
        return "missed"
    if any(w in word for w in _POSITIVE_WORDS) or word in tword:
        return "met"
    return "unknown"


def assess(ind: Indicator) -> Assessment | None:
    t, a = ind.target, ind.actual
    if t is None:
        return None
    op = t.op
    note = ""
    if op == "qualitative" or (t.value is None and op in ("none", "qualitative")):
        return Assessment("qual", _qual_status(t, a))
    if a is None or a.value is None:
        if a is not None and (a.qualitative or a.raw):
            # numeric target, worded result: judge the words
            st = _qual_status(t, a)
            return Assessment("qual", st, note="数值目标、文字结果 / numeric target, worded result")
        return None
    common = _common(t, a, " ".join(x for x in (ind.level3, ind.level2) if x))
    if common is None:
        return None
    tv, av, unit = common
    if op == "none":
        if category_of(ind) == "成本":
            op, note = "<=", "成本指标无符号, 按≤理解 / bare cost target read as ≤"
        else:
            op, note = ">=", "无符号目标按≥理解 / bare target read as ≥"
    if op in (">=", ">"):
        met = av > tv if op == ">" else av >= tv
        formula = (av / tv) if tv > 0 else (D1 if av >= tv else D0)
        return Assessment("pos", "met" if met else "missed", tv, av, unit,
                          None if met or ind.weight is None else min(formula, D1) * ind.weight, note=note)
    if op in ("<=", "<"):
        met = av < tv if op == "<" else av <= tv
        if met or ind.weight is None:
            return Assessment("neg", "met" if met else "missed", tv, av, unit, note=note)
        formula = (tv / av) if av > 0 else D0
        alt = max(D0, D1 - (av - tv) / tv) if tv > 0 else D0
        return Assessment("neg", "missed", tv, av, unit, min(formula, D1) * ind.weight,
                          min(alt, D1) * ind.weight, note=note)
    if op == "=":
        if tv > 0:
            met = av >= tv
            formula = min(av / tv, D1)
        else:
            met = av <= 0
            formula = D1 if met else D0
        return Assessment("eq", "met" if met else "missed", tv, av, unit,
                          None if met or ind.weight is None else formula * ind.weight,
                          note="等于目标: 目标>0 按≥计 / = target scored as ≥ when positive")
    if op == "range" and t.value_high is not None:
        met = tv <= av <= t.value_high
        return Assessment("range", "met" if met else "missed", tv, av, unit)
    return None


_RULE_OF_KIND = {"pos": "R-QUANT-POS", "neg": "R-QUANT-NEG", "eq": "R-QUANT-EQ", "range": "R-QUANT-POS"}
_KIND_FORMULA = {
    "pos": ("完成值÷目标值×分值", "actual ÷ target × weight"),
    "neg": ("目标值÷完成值×分值", "target ÷ actual × weight"),
    "eq": ("完成值÷目标值×分值", "actual ÷ target × weight"),
    "range": ("区间外按比例", "proportional outside the range"),
}


def _scored_indicators(ctx: UnitContext) -> list[Indicator]:
    """Indicators judged on their own: the execution block of the Hebei form is R-EXEC-SCORE's."""
    out = []
    for ind in ctx.unit.indicators:
        if ctx.scheme.exec_source == "indicator" and category_of(ind) == "预算执行":
            continue
        out.append(ind)
    return out


def _label(ind: Indicator) -> str:
    return ind.level3 or ind.level2 or ind.level1 or "?"


def _score_places(ind: Indicator) -> int:
    return decimals_of(None, ind.score) if ind.score is not None else 0


def _quant(ctx: UnitContext, kinds: tuple[str, ...]) -> list[Finding]:
    out: list[Finding] = []
    for ind in _scored_indicators(ctx):
        a = assess(ind)
        if a is None or a.kind not in kinds or a.status != "missed":
            continue
        if ind.weight is None or ind.score is None:
            continue
        rule = _RULE_OF_KIND[a.kind]
        w, s = ind.weight, ind.score
        tol = half_unit(None, s)
        t_raw = ind.target.raw if ind.target else "?"
        act_raw = ind.actual.raw if ind.actual else "?"
        fz, fe = _KIND_FORMULA[a.kind]
        if s >= w - tol:
            out.append(finding(
                ctx, rule, "error",
                f"指标“{_label(ind)}”目标{t_raw}、实际{act_raw}，未达成却得满分{fmt(s, None)}/{fmt(w, None)}"
                + (f"（按{fz}应为{fmt(a.formula)}）" if a.formula is not None else "") + "。",
                f"Indicator “{_label(ind)}”: target {t_raw}, actual {act_raw} — missed, yet full score "
                f"{fmt(s, None)}/{fmt(w, None)}" + (f" ({fe} gives {fmt(a.formula)})" if a.formula is not None else "")
                + ".",
                reported=fmt(s, None), recomputed=fmt(a.formula) if a.formula is not None else f"<{fmt(w, None)}",
                refs=[ind], variant=f"{ctx.scheme.variant}; {rule}:{fe}" + (f"; {a.note}" if a.note else "")))
            continue
        if a.formula is None or a.kind == "range":
            continue
        places = _score_places(ind)
        candidates = [a.formula] + ([a.formula_alt] if a.formula_alt is not None else [])
        cmps = [compare(s, c, tol, places=places) for c in candidates]
        if any(c.outcome == "exact" for c in cmps):
            continue
        best = min(range(len(candidates)), key=lambda k: abs(s - candidates[k]))
        used = candidates[best]
        which = "" if best == 0 else "（按(1−(实际−目标)/目标)×分值）"
        which_en = "" if best == 0 else " (vendor variant (1 − (actual − target)/target) × weight)"
        if cmps[best].rounding:
            out.append(finding(
                ctx, rule, "info",
                f"指标“{_label(ind)}”得分{fmt(s, None)}，按{fz}为{fmt(used, 4)}{which}，差异在四舍五入范围内。",
                f"Indicator “{_label(ind)}” score {fmt(s, None)}; {fe} gives {fmt(used, 4)}{which_en}, within rounding.",
                reported=fmt(s, None), recomputed=fmt(used), refs=[ind]))
        elif s < used:
            slip_zh, slip_en = _magnitude_note(ctx, ind, a, s)
            out.append(finding(
                ctx, rule, "warning",
                f"指标“{_label(ind)}”目标{t_raw}、实际{act_raw}，得分{fmt(s, None)}低于按{fz}计算的{fmt(used)}{slip_zh}。",
                f"Indicator “{_label(ind)}”: target {t_raw}, actual {act_raw}; score {fmt(s, None)} is below "
                f"{fe} = {fmt(used)}{slip_en}.",
                reported=fmt(s, None), recomputed=fmt(used), refs=[ind],
                variant=f"{ctx.scheme.variant}; {rule}:{fe}"))
        else:
            out.append(finding(
                ctx, rule, "warning",
                f"指标“{_label(ind)}”目标{t_raw}、实际{act_raw}，得分{fmt(s, None)}高于按{fz}计算的{fmt(used)}。",
                f"Indicator “{_label(ind)}”: target {t_raw}, actual {act_raw}; score {fmt(s, None)} is above "
                f"{fe} = {fmt(used)}.",
                reported=fmt(s, None), recomputed=fmt(used), refs=[ind],
                variant=f"{ctx.scheme.variant}; {rule}:{fe}"))
    return out


def _magnitude_note(ctx: UnitContext, ind: Indicator, a: Assessment, score: Decimal) -> tuple[str, str]:
    """When the printed 元 target is a power of ten off the project's budget and the score fits the budget,
    say so (seed 004: =231000.00元 against 231.00万元, scored 0.35 = 10 × 80400/2310000)."""
    if a.target is None or a.actual is None or ind.weight is None or _norm_unit(ind.target.unit) != "元":
        return "", ""
    for zh, en, fv, _ in _money_figures(ctx):
        yuan = fv * WAN
        if yuan == a.target or yuan <= 0:
            continue
        ratio = yuan / a.target
        if ratio in (Decimal(10), Decimal(100), Decimal(1000), Decimal("0.1"), Decimal("0.01")):
            alt = min(a.actual / yuan, D1) * ind.weight
            if compare(score, alt, half_unit(None, score), places=_score_places(ind)).outcome != "beyond":
                return (f"；目标值为{zh}{fmt(fv)}万元（{fmt(yuan, None)}元）的{fmt(1 / ratio, None)}倍，"
                        f"得分{fmt(score, None)}系按{fmt(yuan, None)}元计算",
                        f"; the printed target is {fmt(1 / ratio, None)}× the {en} {fmt(fv)} 万元 "
                        f"({fmt(yuan, None)} 元), and the score fits the {en}")
    return "", ""


def check_quant_pos(ctx: UnitContext) -> list[Finding]:
    return _quant(ctx, ("pos", "range"))


def check_quant_neg(ctx: UnitContext) -> list[Finding]:
    return _quant(ctx, ("neg",))


def check_quant_eq(ctx: UnitContext) -> list[Finding]:
    return _quant(ctx, ("eq",))


_QUAL_BANDS = {"met": (Decimal("0.8"), D1), "partial": (Decimal("0.6"), Decimal("0.8")), "missed": (D0, Decimal("0.6"))}


def check_qual(ctx: UnitContext) -> list[Finding]:
    """Qualitative indicators: 达成 80–100% of the weight, 部分达成 60–80%, 未达成 0–60%; full score despite a
    partial or failed result is an error."""
    out: list[Finding] = []
    for ind in _scored_indicators(ctx):
        a = assess(ind)
        if a is None or a.kind != "qual" or a.status not in ("partial", "missed"):
            continue
        if ind.weight is None or ind.score is None or ind.weight <= 0:
            continue
        w, s = ind.weight, ind.score
        tol = half_unit(None, s)
        act_raw = ind.actual.raw if ind.actual else "?"
        t_raw = ind.target.raw if ind.target else "?"
        lo, hi = _QUAL_BANDS[a.status]
        status_zh = {"partial": "部分达成", "missed": "未达成"}[a.status]
        if s >= w - tol:
            out.append(finding(
                ctx, "R-QUAL", "error",
                f"定性指标“{_label(ind)}”目标“{t_raw}”、实际“{act_raw}”（{status_zh}），却得满分{fmt(s, None)}/"
                f"{fmt(w, None)}；按档次应在{fmt(lo * w, None)}–{fmt(hi * w, None)}分。",
                f"Qualitative indicator “{_label(ind)}”: target “{t_raw}”, actual “{act_raw}” ({a.status}), yet full "
                f"score {fmt(s, None)}/{fmt(w, None)}; the band allows {fmt(lo * w, None)}–{fmt(hi * w, None)}.",
                reported=fmt(s, None), recomputed=f"{fmt(lo * w, None)}–{fmt(hi * w, None)}", refs=[ind],
                variant=f"{ctx.scheme.variant}; R-QUAL bands 100–80/80–60/60–0 [recalled]"))
    return out


def check_full_but_deducted(ctx: UnitContext) -> list[Finding]:
    """Target met, score below the weight (info)."""
    out: list[Finding] = []
    for ind in _scored_indicators(ctx):
        a = assess(ind)
        if a is None or a.status != "met" or ind.weight is None or ind.score is None:
            continue
        if ind.score >= ind.weight - half_unit(None, ind.score):
            continue
        t_raw = ind.target.raw if ind.target else "?"
        act_raw = ind.actual.raw if ind.actual else "?"
        why = f"；偏差说明：{ind.deviation_note}" if not is_empty_explanation(ind.deviation_note) else ""
        why_en = f"; stated reason: {ind.deviation_note}" if why else ""
        out.append(finding(
            ctx, "R-FULL-BUT-DEDUCTED", "info",
            f"指标“{_label(ind)}”目标{t_raw}、实际{act_raw}已达成，却扣分（{fmt(ind.score, None)}/"
            f"{fmt(ind.weight, None)}）{why}。",
            f"Indicator “{_label(ind)}”: target {t_raw}, actual {act_raw} — met, yet scored "
            f"{fmt(ind.score, None)}/{fmt(ind.weight, None)}{why_en}.",
            reported=fmt(ind.score, None), recomputed=fmt(ind.weight, None), refs=[ind]))
    return out


# A value cell that says nothing: blank, a dash, or the template's own placeholder (××, XX, 请填写). "无" is not
# here: as an actual value it is an answer (无投诉, 无安全事故), unlike an explanation cell where it says nothing.
_BLANK_VALUE = re.compile(r"[\s/／\-—－–]*|[×xX＊*＿_]{1,6}|.*(?:请填写|请输入|填写说明|主要填写|默认显示).*")


def blank_value(t: Target | None) -> bool:
    return t is None or _BLANK_VALUE.fullmatch((t.raw or "").strip()) is not None


def check_empty_value(ctx: UnitContext) -> list[Finding]:
    """Full score for an indicator whose 指标值 or 实际完成值 was left empty (or as the template's placeholder):
    nothing shows the score was earned, and nothing can be recomputed. Only where the same form fills that
    column for at least two other indicators, so a layout without the column is never flagged row by row."""
    out: list[Finding] = []
    inds = _scored_indicators(ctx)
    for field_name, zh_name, en_name in (("actual", "实际完成值", "actual value"), ("target", "年度指标值", "target")):
        filled = sum(not blank_value(getattr(i, field_name)) for i in inds)
        for ind in inds:
            if not blank_value(getattr(ind, field_name)) or filled < 2:
                continue
            if ind.weight is None or ind.score is None or ind.weight <= 0:
                continue
            if ind.score < ind.weight - half_unit(None, ind.score):
                continue
            raw = (getattr(ind, field_name).raw if getattr(ind, field_name) is not None else "").strip()
            shown = f"（填为“{raw}”）" if raw else ""
            out.append(finding(
                ctx, "R-EMPTY-VALUE", "warning",
                f"指标“{_label(ind)}”{zh_name}未填写{shown}，却得满分{fmt(ind.score, None)}/{fmt(ind.weight, None)}；"
                f"无法据以复核，请补填{zh_name}并说明得分依据。",
                f"Indicator “{_label(ind)}”: {en_name} left empty{f' (“{raw}”)' if raw else ''}, yet full score "
                f"{fmt(ind.score, None)}/{fmt(ind.weight, None)}; nothing supports the score.",
                reported=fmt(ind.score, None), recomputed="无法复核", refs=[ind]))
    return out


def _has_deviation_column(ctx: UnitContext) -> bool:
    """Whether reasons are given row by row: the scheme's forms carry a 偏差原因 column, or this form's rows
    carry reasons (whatever its scheme: a form with category weights in its headers can have the column too)."""
    inds = ctx.unit.indicators
    return (ctx.scheme.family in ("henan", "zhongyuan", "weights") and any(i.weight is not None for i in inds)) \
        or any(not is_empty_explanation(i.deviation_note) for i in inds)


def check_deviation(ctx: UnitContext) -> list[Finding]:
    """A missed target (or a deducted score) needs a reason: the row's 偏差原因分析 where the form has the
    column, else the 存在问题 section."""
    out: list[Finding] = []
    per_row = _has_deviation_column(ctx)
    unexplained: list[Indicator] = []
    for ind in _scored_indicators(ctx):
        a = assess(ind)
        missed = a is not None and a.status in ("missed", "partial")
        deducted = ind.weight is not None and ind.score is not None and \
            ind.score < ind.weight - half_unit(None, ind.score)
        if not (missed or deducted):
            continue
        if per_row:
            if is_empty_explanation(ind.deviation_note):
                what = "未达成目标" if missed else "被扣分"
                what_en = "missed its target" if missed else "was scored below its weight"
                out.append(finding(
                    ctx, "R-DEVIATION", "warning",
                    f"指标“{_label(ind)}”{what}（目标{ind.target.raw if ind.target else '?'}、实际"
                    f"{ind.actual.raw if ind.actual else '?'}、得分{fmt(ind.score, None)}/{fmt(ind.weight, None)}），"
                    f"偏差原因分析栏为空。",
                    f"Indicator “{_label(ind)}” {what_en} (target {ind.target.raw if ind.target else '?'}, actual "
                    f"{ind.actual.raw if ind.actual else '?'}, score {fmt(ind.score, None)}/{fmt(ind.weight, None)}) "
                    f"but its 偏差原因分析 cell is empty.",
                    reported=ind.deviation_note or "", recomputed="须说明偏差原因", refs=[ind]))
        elif missed and a.kind != "qual":
            unexplained.append(ind)
    if not per_row:
        # forms without a per-row reason column or per-row 分值 (Hebei): a clearly missed quantitative target
        # needs the 存在问题 section; worded results and category deductions are not judged (the weight of
        # a row is unknown)
        deducted_cats: list[tuple[str, Decimal, Decimal]] = []
        if unexplained and not has_explanation(ctx):
            parts_zh = [f"“{_label(i)}”（目标{i.target.raw if i.target else '?'}、实际{i.actual.raw if i.actual else '?'}）"
                        for i in unexplained]
            parts_zh += [f"{c}指标得分{fmt(s, None)}/{fmt(w, None)}" for c, s, w in deducted_cats]
            parts_en = [f"“{_label(i)}” (target {i.target.raw if i.target else '?'}, actual "
                        f"{i.actual.raw if i.actual else '?'})" for i in unexplained]
            parts_en += [f"{c} scored {fmt(s, None)}/{fmt(w, None)}" for c, s, w in deducted_cats]
            sp = ctx.unit.stated_problems
            out.append(finding(
                ctx, "R-DEVIATION", "warning",
                f"{'、'.join(parts_zh)}，但“存在问题、原因及整改措施”未填写"
                f"{'（仅有模板提示文字）' if sp is not None and sp.text.strip() else ''}。",
                f"{'; '.join(parts_en)} — yet 存在问题、原因及整改措施 is empty"
                f"{' (template hint text only)' if sp is not None and sp.text.strip() else ''}.",
                reported=sp.text if sp is not None else "", recomputed="须说明偏差原因",
                refs=refs_of(unexplained, sp)))
    return out


def _money_figures(ctx: UnitContext) -> list[tuple[str, str, Decimal, object]]:
    f = ctx.unit.funds
    out = []
    for attr, zh, en in (("adjusted_budget", "全年预算数", "budget"), ("initial_budget", "年初预算数", "initial budget"),
                         ("executed", "执行数", "executed")):
        fig = getattr(f, attr)
        if fig is not None and fig.value is not None and fig.value > 0:
            out.append((zh, en, fig.value, fig))
    return out


def check_unit_magnitude(ctx: UnitContext) -> list[Finding]:
    """A 元 figure that equals a funds amount only after ×10⁴: 742.81元 where the project executed 742.81万元
    — the 万元 figure written in 元 (error)."""
    funds = _money_figures(ctx)
    if not funds:
        return []
    out: list[Finding] = []
    for ind in ctx.unit.indicators:
        for side_zh, side_en, tg in (("目标值", "target", ind.target), ("实际完成值", "actual", ind.actual)):
            if tg is None or tg.value is None or tg.value <= 0 or _norm_unit(tg.unit) != "元":
                continue
            v = tg.value
            hv = half_unit(tg.raw, v)
            matches0 = False
            hit = None
            for zh, en, fv, fig in funds:
                yuan = fv * WAN
                tol = Decimal(50) + Decimal(1)  # 0.005万元 plus a yuan of the figure's own rounding
                if abs(v - yuan) <= tol + hv:
                    matches0 = True
                    break
                for k in (4,):  # 元 vs 万元; other powers of ten are magnitude slips noted by R-QUANT-*
                    scaled = v * (Decimal(10) ** k)
                    if abs(scaled - yuan) <= tol + hv * (Decimal(10) ** k) and hit is None:
                        hit = (k, zh, en, fv, fig)
            if matches0 or hit is None:
                continue
            k, zh, en, fv, fig = hit
            other = ind.target if tg is ind.actual else ind.actual
            if k == 4:
                sev = "error"
                why_zh = f"与{zh}{fmt(fv)}万元数字相同，系将万元数填作元（相差10⁴倍）"
                why_en = f"equals the {en} {fmt(fv)} 万元 — a 万元 figure written in 元 (off by 10⁴)"
            else:
                sev = "warning"
                why_zh = f"乘以10^{k}后才等于{zh}{fmt(fv)}万元（{fmt(fv * WAN, None)}元），数量级有误"
                why_en = f"matches the {en} {fmt(fv)} 万元 ({fmt(fv * WAN, None)} 元) only after ×10^{k}: a magnitude slip"
            vs = f"；对照{'目标' if other is ind.target else '实际'}{other.raw}" if other is not None and other.raw else ""
            vs_en = f"; compare {'target' if other is ind.target else 'actual'} {other.raw}" if vs else ""
            out.append(finding(
                ctx, "R-UNIT-MAGNITUDE", sev,
                f"指标“{_label(ind)}”{side_zh}{tg.raw}{why_zh}{vs}。",
                f"Indicator “{_label(ind)}” {side_en} {tg.raw} {why_en}{vs_en}.",
                reported=tg.raw, recomputed=f"{fmt(fv * WAN, None)}元", refs=[ind, fig]))
    return out


__all__ = [
    "assess", "check_quant_pos", "check_quant_neg", "check_quant_eq", "check_qual", "check_full_but_deducted", "check_empty_value", "blank_value",
    "check_deviation", "check_unit_magnitude", "raw_or",
]
