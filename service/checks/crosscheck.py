"""部门决算 ↔ project self-evaluations: R-ACCOUNTS-PROJECT.

A document that carries both the department's final accounts (部门决算) and its projects' self-evaluations
states each project's spending twice: as 项目支出 of a 功能分类 item in 公开03 支出决算表 and as 全年执行数 in
the project's table. Only an item whose name is the project's name is compared (seed 004: 2101301 城乡医疗救助
58.89 万元 in the accounts, 0.00 executed in the project table). A functional item can hold more than one
project's money and the two tables may count different fund sources, so a difference is a warning with that
caveat, never an error."""
from __future__ import annotations

from service.checks.base import DocContext, make_finding
from service.checks.numbers import amount_tolerance, fmt, raw_or, to_wan
from service.checks.text import light_key
from service.models import Finding

_ITEM_DIGITS = 7  # 项: the finest 功能分类 level, the one a project is budgeted under


def document_accounts(dctx: DocContext):
    """The document's 部门决算 tables, parsed once per check run however many rules compare against them
    (None when the document has none)."""
    if "accounts" not in dctx.memo:
        accounts = None
        # found by its tables (公开NN表 markers or standard titles), as ingest finds it: a 决算 part without the
        # 名词解释 heading the segmenter cuts an accounts unit at is still a 决算
        unit_id = next((u.unit_id for u in dctx.units if u.kind == "accounts"), None)
        if dctx.doc is not None:
            from service.accounts import extract_accounts

            accounts = extract_accounts(dctx.doc, unit_id)
        dctx.memo["accounts"] = accounts
    return dctx.memo["accounts"]


def check_accounts_projects(dctx: DocContext) -> list[Finding]:
    accounts = document_accounts(dctx)
    if accounts is None:
        return []
    table = next((t for t in accounts.tables if t.table_id == "03"), None)  # 支出决算表: 基本/项目支出
    if table is None:
        return []
    by_name: dict[str, list] = {}
    for p in dctx.projects:
        by_name.setdefault(light_key(p.project), []).append(p)
    out: list[Finding] = []
    for row in table.rows:
        if row.is_total or not row.code or len(row.code) != _ITEM_DIGITS:
            continue
        projects = by_name.get(light_key(row.name), [])
        spent = row.value_obj("项目支出")
        if len(projects) != 1 or spent is None or spent.value is None:
            continue  # no project of that name, or several: nothing to pair
        p = projects[0]
        ex = p.funds.executed
        if ex is None or ex.value is None:
            continue
        executed = to_wan(ex.value, ex.unit or p.funds.unit)
        accounts_wan = to_wan(spent.value, table.unit)
        if abs(executed - accounts_wan) <= amount_tolerance(1):
            continue
        out.append(make_finding(
            "R-ACCOUNTS-PROJECT", "warning", unit_id=p.unit_id, doc_id=p.doc_id, project=p.project,
            zh=(f"部门决算支出决算表“{row.code} {row.name}”项目支出{spent.raw}万元，同名项目自评表全年执行数为"
                f"{raw_or(ex)}{ex.unit or p.funds.unit}，两者相差{fmt(abs(accounts_wan - executed))}万元；"
                f"决算按功能分类科目汇总，可能含其他项目或其他资金来源，请核实口径并说明差异。"),
            en=(f"The accounts (支出决算表) show 项目支出 {spent.raw} 万元 under {row.code} {row.name}; the project's "
                f"self-evaluation of the same name states {raw_or(ex)} executed. The item may hold other projects or "
                f"fund sources; the difference needs explaining."),
            variant="部门决算公开03 项目支出 vs 全年执行数; same name, 项 level",
            reported=f"执行数{raw_or(ex)}", recomputed=f"决算项目支出{spent.raw}", refs=[ex, spent]))
    return out



# ---------------------------------------------------------------- one project reported twice

def _same_score(a, b) -> bool:
    """Two printings of one score agree when the more precise one rounds to the other (98.70 ~ 98.7; 98.75 and
    98.7 differ) — as in R-SUMMARY-DUP."""
    from service.checks.numbers import decimals_of, quantize

    places = min(decimals_of(a.raw, a.value), decimals_of(b.raw, b.value))
    return quantize(a.value, places) == quantize(b.value, places)


def check_project_twice(dctx: DocContext) -> list[Finding]:
    """R-PROJECT-DUP: two self-evaluation tables for one project name with different funds or totals.

    Names are compared after light normalization, or by the loose key (和/and/与/及, 的, punctuation) — seed 004
    prints 提前下达2022年省级财政医疗救助补助的资金 and …补助资金 as two reports with the same 8.00 万元 budget, the
    same description and two totals. A loose pair may be two allocations the department keeps apart (可执行 /
    待分), so the finding is a warning that asks the department to reconcile or to name them apart."""
    from service.checks.text import loose_key

    groups: dict[str, list] = {}
    for p in dctx.projects:
        if p.project.strip():
            groups.setdefault(loose_key(p.project), []).append(p)
    out: list[Finding] = []
    for ps in groups.values():
        if len(ps) < 2:
            continue
        first = ps[0]
        for other in ps[1:]:
            diffs = []  # (label, first figure, other figure)
            for label, get, amount in (
                    ("全年预算数", lambda p: p.funds.adjusted_budget or p.funds.initial_budget, True),
                    ("全年执行数", lambda p: p.funds.executed, True),
                    ("自评总分", lambda p: p.reported_total, False)):
                a, b = get(first), get(other)
                if a is None or b is None or a.value is None or b.value is None:
                    continue
                if amount:
                    # 万元 amounts are 2-decimal figures (R-ROUND): 76 and 76.00 are one amount, 76.4 is another
                    a_w, b_w = to_wan(a.value, a.unit or first.funds.unit), to_wan(b.value, b.unit or other.funds.unit)
                    if abs(a_w - b_w) <= amount_tolerance(1):
                        continue
                elif _same_score(a, b):
                    continue
                diffs.append((label, a, b))
            if not diffs:
                continue
            same_name = light_key(first.project) == light_key(other.project)
            names = f"“{first.project}”" if same_name else f"“{first.project}”与“{other.project}”"
            caveat = ("" if same_name else
                      "两者名称仅差“的”、连接词或标点，若确为两笔不同资金，请在项目名称中加以区分并分别说明；")
            where = "、".join(f"第{p.ref.page}页第{p.ref.line_start}行" for p in (first, other) if p.ref is not None)
            zh = (f"{names}填报了两份项目自评表（{where}），"
                  + "，".join(f"{lab}分别为{raw_or(a)}和{raw_or(b)}" for lab, a, b in diffs)
                  + f"。同一项目只能有一个预算数、执行数和自评结果，{caveat}请核实后统一。")
            en = (f"{names} has two self-evaluation tables with different "
                  + ", ".join(f"{lab} ({raw_or(a)} / {raw_or(b)})" for lab, a, b in diffs)
                  + "; one project has one budget, one executed amount and one result"
                  + ("" if same_name else " (the names differ only by 的 / a conjunction / punctuation: if these are "
                     "two allocations, they need distinct names)") + ".")
            out.append(make_finding(
                "R-PROJECT-DUP", "warning", unit_id=first.unit_id, doc_id=first.doc_id, project=first.project,
                zh=zh, en=en, variant="same name" if same_name else "same name but 的/和/punctuation",
                reported="; ".join(f"{lab}={raw_or(a)}/{raw_or(b)}" for lab, a, b in diffs),
                recomputed="同一数值 / one value",
                refs=[x for _, a, b in diffs for x in (a, b)] + [first.ref, other.ref]))
    return out


# ---------------------------------------------------------------- 部门整体自评 ↔ 部门决算

_GENERAL_BUDGET_INITIAL = "一般公共预算财政拨款支出年初预算"


def _dept_of(dctx: DocContext, ref):
    """The department unit whose span holds the statement (else the only/first one)."""
    if ref is not None:
        for u in dctx.units:
            if u.kind == "department" and (u.page_start, u.line_start) <= (ref.page, ref.line_start) \
                    <= (u.page_end, u.line_end):
                return next((d for d in dctx.departments if d.unit_id == u.unit_id), None) or u
    return dctx.departments[0] if dctx.departments else None


def _form_executed(dctx: DocContext):
    """The 部门整体支出绩效自评表's own 全年执行数 (in 万元), when the document states no 预算执行金额 in prose."""
    from types import SimpleNamespace

    for d in dctx.departments:
        ex = d.funds.executed if d.funds is not None else None
        if ex is not None and ex.value is not None:
            value = to_wan(ex.value, ex.unit or d.funds.unit)
            return SimpleNamespace(value=value, raw=fmt(value), ref=ex.ref)
    return None


def check_accounts_department(dctx: DocContext) -> list[Finding]:
    """R-ACCOUNTS-DEPT: the 部门整体 self-evaluation's 预算执行金额 vs the 部门决算's 本年支出合计.

    The 决算's 本年支出合计 (公开01) is everything the department spent in the year, from every source and
    including carried-over money, so a department-wide execution figure above it is a contradiction unless the
    self-evaluation counts money the accounts do not carry (a fund kept outside the 部门决算, money executed by
    other units); the finding says so and stays a warning. The two initial budgets are compared first: equal
    figures (seed 004: 5,549.66 both) show the two speak of the same budget. An execution figure below the
    accounts' total may just be a narrower scope (项目支出 only, 财政拨款 only): info, not a problem."""
    accounts = document_accounts(dctx)
    if accounts is None:
        return []
    stated = {}
    for st in accounts.dept.statements:  # the first statement of each kind; later ones repeat the sentence
        if st.kind in ("dept_initial_budget", "dept_adjusted_budget", "dept_executed", "dept_exec_rate") \
                and st.value is not None:
            stated.setdefault(st.kind, st)
    exe = stated.get("dept_executed") or _form_executed(dctx)
    t01 = accounts.table("01")
    spent_row = t01.find("本年支出合计", side="expense") if t01 is not None else None
    spent = spent_row.value_obj("决算数") if spent_row is not None else None
    if spent is None or spent.value is None:
        t03 = accounts.table("03")
        spent_row = t03.total_row() if t03 is not None else None
        spent = spent_row.value_obj("本年支出合计") if spent_row is not None else None
    if exe is None or spent is None or spent.value is None:
        return []
    diff = exe.value - spent.value
    if abs(diff) <= amount_tolerance(1):
        return []
    ini = stated.get("dept_initial_budget")
    acc_ini = next((it for it in accounts.narrative if it.kind == "initial_budget" and it.subject is None
                    and _GENERAL_BUDGET_INITIAL in it.label), None)
    same_budget = ini is not None and acc_ini is not None and abs(ini.value - acc_ini.value) <= amount_tolerance(1)
    if same_budget:
        scope = (f"两者所列年初预算同为{ini.raw}万元（决算为一般公共预算财政拨款支出年初预算），说明所说的是同一部门预算；")
    elif ini is not None and acc_ini is not None:
        scope = (f"但两者年初预算不同（自评{ini.raw}万元、决算{acc_ini.raw}万元），口径可能不同；")
    else:
        scope = ""
    rate = stated.get("dept_exec_rate")
    rate_txt = f"（预算执行率{rate.raw}%）" if rate is not None else ""
    dep = _dept_of(dctx, exe.ref)
    unit_id = dep.unit_id if dep is not None else accounts.unit_id
    name = (getattr(dep, "department", None) or accounts.department) if dep is not None else accounts.department
    refs = [exe, spent, ini, acc_ini]
    if diff > 0:
        return [make_finding(
            "R-ACCOUNTS-DEPT", "warning", unit_id=unit_id, doc_id=dctx.doc_id, project=name,
            zh=(f"部门整体绩效自评称预算执行金额{exe.raw}万元{rate_txt}，而同一文件所附部门决算本年支出合计为"
                f"{spent.raw}万元，自评执行金额高出{fmt(diff)}万元；{scope}决算本年支出合计已包含各资金来源及结转资金"
                f"的当年支出，部门整体的预算执行金额不应高于该数。若自评计入了未在部门决算中反映的资金（如由其他单位"
                f"执行或单独核算的资金），请说明口径；否则请按决算数更正执行金额和执行率。"),
            en=(f"The department-wide self-evaluation states 预算执行金额 {exe.raw} 万元; the 部门决算 in the same "
                f"document spends {spent.raw} 万元 in all (本年支出合计), {fmt(diff)} 万元 less. The accounts' total "
                f"covers every source and carried-over money, so the self-evaluation's figure cannot exceed it unless "
                f"it counts money the accounts do not carry; the department must state its scope or correct it."
                + (f" Both state the same initial budget ({ini.raw} 万元)." if same_budget else "")),
            variant="部门整体 预算执行金额 vs 决算公开01 本年支出合计" + ("; initial budgets agree" if same_budget else ""),
            reported=f"预算执行金额{exe.raw}", recomputed=f"决算本年支出合计{spent.raw}", refs=refs)]
    return [make_finding(
        "R-ACCOUNTS-DEPT", "info", unit_id=unit_id, doc_id=dctx.doc_id, project=name,
        zh=(f"部门整体绩效自评称预算执行金额{exe.raw}万元，部门决算本年支出合计为{spent.raw}万元；{scope}"
            f"自评可能只计部分资金（如项目支出或财政拨款），请在报告中注明口径。"),
        en=(f"The department-wide self-evaluation states 预算执行金额 {exe.raw} 万元, below the accounts' 本年支出合计 "
            f"{spent.raw} 万元: possibly a narrower scope; the report should say which."),
        variant="部门整体 预算执行金额 vs 决算公开01 本年支出合计; lower: scope", reported=f"预算执行金额{exe.raw}",
        recomputed=f"决算本年支出合计{spent.raw}", refs=refs)]


__all__ = ["check_accounts_projects", "check_project_twice", "check_accounts_department"]
