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


def check_accounts_projects(dctx: DocContext) -> list[Finding]:
    if dctx.doc is None or not any(u.kind == "accounts" for u in dctx.units):
        return []
    from service.accounts import extract_accounts

    unit_id = next(u.unit_id for u in dctx.units if u.kind == "accounts")
    accounts = extract_accounts(dctx.doc, unit_id)
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


__all__ = ["check_accounts_projects"]
