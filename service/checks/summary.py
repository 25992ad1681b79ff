"""Summary tables vs the project reports they list: R-SUMMARY; one project listed twice: R-SUMMARY-DUP.

A row is compared with the report of the same project. Names are matched exactly after light normalization;
a looser key (和/and, 的, punctuation) is used only when it points at exactly one report, because seed 004
has genuinely different projects that differ only by such a detail (…补助的资金 / …补助资金)."""
from __future__ import annotations

from decimal import Decimal

from service.checks.base import DocContext, compute_rate, make_finding
from service.checks.numbers import D0, D100, compare, decimals_of, fmt, grade_of, half_unit, normalize_grade, quantize, raw_or
from service.checks.text import category_of, category_of_label, match_names
from service.models import Figure, Finding, ProjectEvaluation, SummaryRow, SummaryTable


def category_rates(p: ProjectEvaluation) -> dict[str, Decimal]:
    """Σ score ÷ Σ weight per category, in percent (categories with weights only)."""
    sums: dict[str, list[Decimal]] = {}
    for i in p.indicators:
        if i.weight is None or i.score is None:
            continue
        cat = category_of(i)
        if cat is None:
            continue
        acc = sums.setdefault(cat, [D0, D0])
        acc[0] += i.score
        acc[1] += i.weight
    return {c: s / w * D100 for c, (s, w) in sums.items() if w > 0}


def _cmp_amount(row_fig: Figure | None, proj_fig: Figure | None):
    if row_fig is None or row_fig.value is None or proj_fig is None or proj_fig.value is None:
        return None
    tol = max(half_unit(row_fig.raw, row_fig.value), Decimal("0.005"))
    places = decimals_of(row_fig.raw, row_fig.value)
    return compare(row_fig.value, proj_fig.value, tol, places=places)


def _row_checks(row: SummaryRow, p: ProjectEvaluation, dctx: DocContext):
    """[(label_zh, label_en, row_text, project_text, Comparison-outcome, refs)]."""
    items = []
    f = p.funds
    budget = f.adjusted_budget if f.adjusted_budget is not None and f.adjusted_budget.value else f.initial_budget
    for label_zh, label_en, rf, pf in (("全年预算数", "budget", row.budget, budget),
                                       ("全年执行数", "executed", row.executed, f.executed)):
        c = _cmp_amount(rf, pf)
        if c is not None and c.outcome != "exact":
            items.append((label_zh, label_en, raw_or(rf), raw_or(pf), c.outcome, [pf]))
    if row.rate is not None and row.rate.value is not None:
        rate = compute_rate(p)
        pr = f.reported_rate
        if pr is not None and pr.value is not None:
            ref_val, ref_txt, lo, hi, refs = pr.value, raw_or(pr), pr.value, pr.value, [pr]
        elif rate is not None:
            ref_val, ref_txt, lo, hi, refs = rate.value, fmt(rate.value) + "%", rate.low, rate.high, list(rate.refs)
        else:
            ref_val = None
        if ref_val is not None:
            c = compare(row.rate.value, ref_val, half_unit(row.rate.raw, row.rate.value),
                        places=decimals_of(row.rate.raw, row.rate.value), low=lo, high=hi)
            if c.outcome != "exact":
                items.append(("预算执行率", "execution rate", raw_or(row.rate), ref_txt, c.outcome, refs))
    tot = p.reported_total
    if row.score is not None and row.score.value is not None and tot is not None and tot.value is not None:
        tol = max(half_unit(row.score.raw, row.score.value), half_unit(tot.raw, tot.value))
        c = compare(row.score.value, tot.value, tol, places=decimals_of(row.score.raw, row.score.value))
        if c.outcome != "exact":
            items.append(("自评得分", "score", raw_or(row.score), raw_or(tot), c.outcome, [tot]))
    if row.grade:
        g = normalize_grade(row.grade)
        pg = normalize_grade(p.reported_grade.text) if p.reported_grade is not None else None
        if pg is None and tot is not None and tot.value is not None:
            pg = grade_of(tot.value)
        if g and pg and g != pg:
            items.append(("评价等级", "grade", row.grade, pg, "beyond", [p.reported_grade or tot]))
    if row.category_rates:
        rates = category_rates(p)
        sch = dctx.schemes.get(p.unit_id)
        for key, val in row.category_rates.items():
            cat = category_of_label(key)
            if cat is None:
                continue
            if cat == "资金管理" and sch is not None and "资金管理" in sch.fixed_blocks:
                rec = D100  # the scheme's fixed block is taken as fully scored in the total
            elif cat in rates:
                rec = rates[cat]
            else:
                continue
            c = compare(val, rec, half_unit(None, val), places=decimals_of(None, val))
            if c.outcome != "exact":
                cat_refs = [i for i in p.indicators if category_of(i) == cat][:4]
                items.append((f"{key}", f"{key} (score rate)", f"{fmt(val, None)}%", f"{fmt(rec)}%", c.outcome, cat_refs))
    return items


def _assignment(dctx: DocContext) -> dict[int, int]:
    """id(row) → project index. A report claimed by several rows (seed 004 lists some names twice, once
    under 可执行项目 and once under 待分项目) belongs to the row that agrees with it best; the other rows
    are read as listing a same-named project whose report the document does not contain."""
    names = [p.project for p in dctx.projects]
    claims: dict[int, list[SummaryRow]] = {}
    for t in dctx.summaries:
        for row in t.rows:
            idx, how = match_names(row.project, names)
            if how in ("exact", "loose") and len(idx) == 1:
                claims.setdefault(idx[0], []).append(row)
    out: dict[int, int] = {}
    for k, rows in claims.items():
        if len(rows) == 1:
            out[id(rows[0])] = k
            continue
        def badness(r: SummaryRow):
            items = _row_checks(r, dctx.projects[k], dctx)
            return (sum(1 for it in items if it[4] == "beyond"), len(items))
        best = min(rows, key=badness)  # min keeps the first of equals
        out[id(best)] = k
    return out


def check_summary(table: SummaryTable, dctx: DocContext) -> list[Finding]:
    names = [p.project for p in dctx.projects]
    assigned = _assignment(dctx)
    out: list[Finding] = []
    for row in table.rows:
        idx, how = match_names(row.project, names)
        if how not in ("exact", "loose") or len(idx) != 1:
            continue
        p = dctx.projects[idx[0]]
        if id(row) not in assigned:
            grp = f"[{row.group}] " if row.group else ""
            out.append(make_finding(
                "R-SUMMARY", "info", unit_id=table.unit_id, doc_id=table.doc_id, project=row.project,
                zh=f"{grp}汇总表中“{row.project}”出现不止一行；与报告相符的一行已核对，本行视为文档未收录其报告的同名项目，未比对。",
                en=f"{grp}“{row.project}” is listed more than once; the row that agrees with the report was checked, "
                   f"this one is read as a same-named project whose report is not in the document.",
                variant="summary; duplicate name",
                reported=f"自评得分={raw_or(row.score)}" if row.score is not None else row.project,
                recomputed="未比对 / not compared", refs=[row.ref]))
            continue
        items = _row_checks(row, p, dctx)
        if not items:
            continue
        sch = dctx.schemes.get(p.unit_id)
        variant = (sch.variant if sch else "unknown") + f"; name matched {how}"
        bad = [it for it in items if it[4] == "beyond"]
        sev = "error" if bad else "info"
        shown = bad or items
        spelled = "" if how == "exact" else f"（汇总表写作“{row.project}”，报告写作“{p.project}”）"
        spelled_en = "" if how == "exact" else f" (listed as “{row.project}”, reported as “{p.project}”)"
        grp = f"[{row.group}] " if row.group else ""
        zh = (f"{grp}汇总表“{row.project}”一行与项目自评报告不符{spelled}：" if bad else
              f"{grp}汇总表“{row.project}”一行与项目自评报告的差异在四舍五入范围内{spelled}：") + \
            "；".join(f"{a}汇总表{r}、报告{q}" for a, _, r, q, _, _ in shown) + "。"
        en = (f"{grp}Summary row “{row.project}” disagrees with the project's report{spelled_en}: " if bad else
              f"{grp}Summary row “{row.project}” differs from the report within rounding{spelled_en}: ") + \
            "; ".join(f"{b} {r} in the summary vs {q} in the report" for _, b, r, q, _, _ in shown) + "."
        refs = [row.ref] + [r for it in shown for r in it[5]]
        out.append(make_finding(
            "R-SUMMARY", sev, unit_id=table.unit_id, doc_id=table.doc_id, project=row.project, zh=zh, en=en,
            variant=variant, reported="; ".join(f"{a}={r}" for a, _, r, _, _, _ in shown),
            recomputed="; ".join(f"{a}={q}" for a, _, _, q, _, _ in shown), refs=refs))
    return out


def _same_score(a: Figure, b: Figure) -> bool:
    """Two printings of one score agree when the more precise one rounds to the other (98.70 ~ 98.7), not when
    they merely lie within each other's half unit (98.75 rounds to 98.8, so 98.75 and 98.7 differ)."""
    places = min(decimals_of(a.raw, a.value), decimals_of(b.raw, b.value))
    return quantize(a.value, places) == quantize(b.value, places)


def check_summary_dup(table: SummaryTable, dctx: DocContext) -> list[Finding]:
    """The same project listed twice in one summary table with two different scores (R-SUMMARY-DUP)."""
    from service.checks.text import light_key

    groups: dict[str, list[SummaryRow]] = {}
    for row in table.rows:
        if row.score is not None and row.score.value is not None and row.project.strip():
            groups.setdefault(light_key(row.project), []).append(row)
    out: list[Finding] = []
    for rows in groups.values():
        first = rows[0]
        differing = [r for r in rows[1:] if not _same_score(first.score, r.score)]
        if not differing:
            continue
        listed = [first, *differing]
        where = "、".join((f"{('“' + r.group + '”') if r.group else ''}第{r.ref.page}页第{r.ref.line_start}行"
                           if r.ref else "另一行") for r in listed)
        scores = "、".join(raw_or(r.score) for r in listed)
        out.append(make_finding(
            "R-SUMMARY-DUP", "warning", unit_id=table.unit_id, doc_id=table.doc_id, project=first.project,
            zh=f"汇总表中“{first.project}”列示{len(listed)}次（{where}），自评得分分别为{scores}，同一项目的得分应当一致。",
            en=f"The summary lists “{first.project}” {len(listed)} times with different scores ({scores}); one "
               f"project has one score.",
            variant="summary; same name", reported=scores, recomputed="同一得分", refs=[r.ref for r in listed]))
    return out
