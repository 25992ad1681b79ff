"""Department-level arithmetic: R-DEPT-TOTAL (the 总体得分情况表 rows vs the stated total; amounts a section
states vs the project tables it prints) and R-DEPT-COUNTS (counts and rates stated in prose — "自评结果13个
为优…", "评优率为95%" — vs the grades of the projects listed).

A document with several department sections (seed 003: 劳动监察大队, 人才交流中心 …) is checked section by
section: a section runs from its heading to the next department's heading. A single department (seed 004)
covers the whole document, and its summary table, when there is one, lists the projects."""
from __future__ import annotations

import re
from decimal import Decimal

from service.checks.base import DocContext, make_finding
from service.checks.numbers import D0, D100, compare, decimals_of, fmt, grade_of, half_unit, normalize_grade, raw_or
from service.checks.text import light_key
from service.models import DepartmentEvaluation, Finding, ProjectEvaluation


def _start(dep: DepartmentEvaluation, dctx: DocContext) -> tuple[int, int]:
    if dep.ref is not None:
        return (dep.ref.page, dep.ref.line_start)
    span = next((u for u in dctx.units if u.unit_id == dep.unit_id), None)
    return (span.page_start, span.line_start) if span else (0, 0)


def section_projects(dep: DepartmentEvaluation, dctx: DocContext) -> list[ProjectEvaluation] | None:
    """The section's projects (one per name), or None for a single-department document."""
    if len(dctx.departments) < 2:
        return None
    starts = sorted(_start(d, dctx) for d in dctx.departments)
    lo = _start(dep, dctx)
    later = [s for s in starts if s > lo]
    hi = later[0] if later else (10**9, 0)
    spans = {u.unit_id: (u.page_start, u.line_start) for u in dctx.units}
    out: dict[str, ProjectEvaluation] = {}
    for p in dctx.projects:
        at = spans.get(p.unit_id)
        if at is None and p.ref is not None:
            at = (p.ref.page, p.ref.line_start)
        if at is not None and lo <= at < hi:
            key = light_key(p.project)
            # a project described in prose and then tabled counts once; the table (with a total) wins
            if key not in out or (out[key].reported_total is None and p.reported_total is not None):
                out[key] = p
    return list(out.values())


def _grade(p: ProjectEvaluation) -> str | None:
    g = normalize_grade(p.reported_grade.text) if p.reported_grade else None
    if g is None and p.reported_total is not None and p.reported_total.value is not None:
        g = grade_of(p.reported_total.value)
    return g


def _listed(dep: DepartmentEvaluation, dctx: DocContext) -> tuple[list[str], list[Decimal], list, str]:
    """(grades, scores, refs, what) of the projects the department's text speaks about."""
    section = section_projects(dep, dctx)
    if section is not None:
        grades = [g for g in (_grade(p) for p in section) if g]
        scores = [p.reported_total.value for p in section if p.reported_total and p.reported_total.value is not None]
        refs = [p.reported_grade or p.reported_total for p in section]
        return grades, scores, refs, "本部分所列项目 / the section's project tables"
    rows = [r for t in dctx.summaries for r in t.rows]
    if rows:
        grades, scores, refs = [], [], []
        for r in rows:
            g = normalize_grade(r.grade) if r.grade else None
            if r.score is not None and r.score.value is not None:
                scores.append(r.score.value)
                g = g or grade_of(r.score.value)
            if g:
                grades.append(g)
            refs.append(r.ref)
        return grades, scores, refs, "汇总表所列项目 / the summary table's rows"
    grades = [g for g in (_grade(p) for p in dctx.projects) if g]
    scores = [p.reported_total.value for p in dctx.projects if p.reported_total and p.reported_total.value is not None]
    return grades, scores, [p.reported_total for p in dctx.projects], "项目自评表 / the project tables"


def _f(dep, rule, sev, zh, en, variant, reported, recomputed, refs) -> Finding:
    return make_finding(rule, sev, unit_id=dep.unit_id, doc_id=dep.doc_id, project=dep.department, zh=zh, en=en,
                        variant=variant, reported=reported, recomputed=recomputed, refs=refs)


_TOTAL_WORDS = re.compile(r"涉及金额|共计|合计|总额|总体|总预算|共安排")


def check_dept_total(dep: DepartmentEvaluation, dctx: DocContext) -> list[Finding]:
    out: list[Finding] = []
    rows = [r for r in dep.score_rows if r.score is not None]
    rep = dep.reported_total
    if rows and rep is not None and rep.value is not None:
        s = sum((r.score for r in rows), D0)
        c = compare(rep.value, s, half_unit(rep.raw, rep.value), places=decimals_of(rep.raw, rep.value))
        if c.outcome != "exact":
            sev = "info" if c.rounding else "error"
            out.append(_f(dep, "R-DEPT-TOTAL", sev,
                          f"部门整体自评总分{raw_or(rep)}，得分表各项合计{fmt(s, None)}"
                          f"{'，差异在四舍五入范围内' if sev == 'info' else '，两者不符'}。",
                          f"Department total {raw_or(rep)}; the score table's rows sum to {fmt(s, None)}"
                          f"{' (within rounding)' if sev == 'info' else ''}.",
                          "dept-score-table", raw_or(rep), fmt(s, None), [rep, *rows]))
    weights = [r.weight for r in dep.score_rows if r.weight is not None]
    if weights and sum(weights, D0) != D100:
        out.append(_f(dep, "R-DEPT-TOTAL", "warning",
                      f"部门整体得分表权重合计{fmt(sum(weights, D0), None)}，不等于100。",
                      f"The department score table's weights sum to {fmt(sum(weights, D0), None)}, not 100.",
                      "dept-score-table", fmt(sum(weights, D0), None), "100", list(dep.score_rows)))
    # a department-wide form read as a form is checked by the project rules (R-GRADE, R-TOTAL …): its grade
    # is not reported a second time here
    if dep.reported_grade is not None and rep is not None and rep.value is not None and not dep.indicators:
        g = normalize_grade(dep.reported_grade.text)
        if g and g != grade_of(rep.value):
            out.append(_f(dep, "R-DEPT-TOTAL", "error",
                          f"部门整体自评总分{raw_or(rep)}对应等级“{grade_of(rep.value)}”，报告为“{dep.reported_grade.text}”。",
                          f"Department total {raw_or(rep)} grades as “{grade_of(rep.value)}”, reported "
                          f"“{dep.reported_grade.text}”.", "grade-bands-90/80/60", dep.reported_grade.text,
                          grade_of(rep.value), [dep.reported_grade, rep]))
    # totals a section states vs the project tables it prints: the printed part cannot exceed the whole
    section = section_projects(dep, dctx)
    if section:
        for kind, attr, zh, en in (("budget_amount", "adjusted_budget", "预算", "budget"),
                                   ("executed_amount", "executed", "实际支出", "executed")):
            figs = [getattr(p.funds, attr) for p in section]
            figs = [x for x in figs if x is not None and x.value is not None]
            if not figs:
                continue
            printed = sum((x.value for x in figs), D0)
            for claim in dep.stated_amounts:
                if claim.kind != kind or claim.value is None or not _TOTAL_WORDS.search(
                        (claim.ref.quote if claim.ref else "") + (claim.text or "")):
                    continue
                if printed > claim.value + Decimal("0.005") * len(figs):
                    out.append(_f(dep, "R-DEPT-TOTAL", "error",
                                  f"本部分称{zh}合计“{claim.text or fmt(claim.value, None)}”，但所附{len(figs)}张项目自评表的"
                                  f"{zh}数之和已达{fmt(printed)}万元，超过所称合计。",
                                  f"The section states a {en} total of {fmt(claim.value, None)} 万元, but the {len(figs)} "
                                  f"project tables it prints already add up to {fmt(printed)} 万元.",
                                  "section-sum", fmt(claim.value, None), fmt(printed), [claim, *figs]))
                    break
    return out


_GRADE_LABEL = re.compile(r"^(?:自评结果|评价结果|等级)?(?:为)?(优|良|中|差)(?:秀|好|等)?$")
_COUNT_LABEL = re.compile(r"项目数|项目个数|评价项目")
_RATE_LABEL = re.compile(r"评优率|优良率|优秀率")
_AVG_LABEL = re.compile(r"平均得分|平均分")


def check_dept_counts(dep: DepartmentEvaluation, dctx: DocContext) -> list[Finding]:
    grades, scores, refs, what_both = _listed(dep, dctx)
    # the Chinese message stays Chinese (it goes into the 审核意见); the English one names the same thing
    what, what_en = what_both.split(" / ")
    if not grades and not scores:
        return []
    out: list[Finding] = []
    stated_n = next((sc.value for sc in dep.stated_counts if _COUNT_LABEL.search(re.sub(r"\s", "", sc.label))), None)
    complete = stated_n is None or stated_n <= len(grades)  # are all the projects spoken of printed?
    for sc in dep.stated_counts:
        label = re.sub(r"\s", "", sc.label)
        m = _GRADE_LABEL.match(label)
        if m:
            g = m.group(1)
            n = Decimal(sum(1 for x in grades if x == g))
            if n == sc.value or (not complete and n < sc.value):
                continue
            out.append(_f(dep, "R-DEPT-COUNTS", "error",
                          f"文字称等级为“{g}”的项目{fmt(sc.value, None)}个，{what}中实为{fmt(n, None)}个。",
                          f"The text counts {fmt(sc.value, None)} projects graded “{g}”; {what_en} give "
                          f"{fmt(n, None)}.", "grade-bands-90/80/60", fmt(sc.value, None), fmt(n, None),
                          [sc.ref, *refs[:6]]))
        elif _RATE_LABEL.search(label) and grades and complete:
            good = ("优",) if "优良" not in label else ("优", "良")
            rate = Decimal(sum(1 for x in grades if x in good)) / Decimal(len(grades)) * D100
            c = compare(sc.value, rate, half_unit(None, sc.value), places=decimals_of(None, sc.value))
            if c.beyond:
                out.append(_f(dep, "R-DEPT-COUNTS", "error",
                              f"文字称{label}为{fmt(sc.value, None)}%，{what}中{len(grades)}个项目"
                              f"{'、'.join(good)}等级{sum(1 for x in grades if x in good)}个，应为{fmt(rate)}%。",
                              f"The text states {label} {fmt(sc.value, None)}%; of {len(grades)} listed projects "
                              f"{sum(1 for x in grades if x in good)} are {'/'.join(good)}, i.e. {fmt(rate)}%.",
                              "grade-bands-90/80/60", f"{fmt(sc.value, None)}%", f"{fmt(rate)}%", [sc.ref, *refs[:6]]))
        elif _AVG_LABEL.search(label) and scores and complete:
            avg = sum(scores, D0) / Decimal(len(scores))
            c = compare(sc.value, avg, half_unit(None, sc.value), places=decimals_of(None, sc.value))
            if c.beyond:
                out.append(_f(dep, "R-DEPT-COUNTS", "error",
                              f"文字称平均得分{fmt(sc.value, None)}分，{what}{len(scores)}个得分的平均为{fmt(avg)}。",
                              f"The text states an average of {fmt(sc.value, None)}; the {len(scores)} listed scores "
                              f"average {fmt(avg)}.", "mean", fmt(sc.value, None), fmt(avg), [sc.ref, *refs[:6]]))
    return out
