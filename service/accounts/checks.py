"""Checks of a parsed 部门决算 (pure): table identities, cross-table equalities, 三公 composition, the
numbers of 第三部分 情况说明 recomputed from the tables, and the department-level performance statements.

Every identity checked yields a CheckResult (passing ones too); failures become error Findings and
differences within rounding (R-ROUND) become info Findings. Identities whose terms are all zero are not
listed: 0 = 0 + 0 says nothing and would bury the rest.
"""
from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

from service.accounts.models import (
    AccountsExtraction, AccountsRow, AccountsTable, AccountsValue, CheckResult, NarrativeItem,
)
from service.accounts.narrative import section_kind
from service.accounts.rounding import amount_status, fmt, ratio_status, sum_status
from service.models import Finding, SourceRef

HUNDRED = Decimal(100)


def _show(d) -> str | None:
    """A Decimal for display: 2 decimals, or up to 4 when they matter (146.875, not 146.88)."""
    if d is None or isinstance(d, str):
        return d
    q4 = d.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return fmt(d) if q4 == d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) else str(q4).rstrip("0")


class _Collector:
    def __init__(self, acc: AccountsExtraction):
        self.acc = acc
        self.results: list[CheckResult] = []
        self._ids: Counter = Counter()

    def add(self, *, rule_id: str, check_id: str, status: str, zh: str, en: str, reported=None, recomputed=None,
            difference=None, tolerance=None, variant: str | None = None, formula: str | None = None,
            refs: list[SourceRef] | None = None, fail_severity: str = "error") -> CheckResult:
        self._ids[check_id] += 1
        if self._ids[check_id] > 1:
            check_id = f"{check_id}#{self._ids[check_id]}"
        severity = None if status == "pass" else ("info" if status == "within_rounding" else fail_severity)
        seen: set = set()
        uniq: list[SourceRef] = []
        for r in refs or []:
            if r is not None and r not in seen:
                seen.add(r)
                uniq.append(r)
        res = CheckResult(check_id=check_id, rule_id=rule_id, status=status, severity=severity,
                          description_zh=zh, description_en=en,
                          reported=_show(reported), recomputed=_show(recomputed), difference=_show(difference),
                          tolerance=tolerance if isinstance(tolerance, (str, type(None))) else str(tolerance),
                          variant=variant, formula=formula, refs=uniq)
        self.results.append(res)
        return res


# ---------------------------------------------------------------- table helpers

def _v(row: AccountsRow | None, key: str) -> AccountsValue | None:
    if row is None:
        return None
    v = row.value_obj(key)
    return v if v is not None and v.value is not None else None


def _sum_check(c: _Collector, rule: str, check_id: str, zh: str, en: str, total: AccountsValue | None,
               parts: list[AccountsValue | None], formula: str, variant: str | None = None,
               fail_severity: str = "error") -> None:
    if total is None or any(p is None for p in parts) or not parts:
        return
    if total.value == 0 and all(p.value == 0 for p in parts):
        return
    rec = sum((p.value for p in parts), Decimal(0))
    status, diff, tol = sum_status(total.value, rec, len(parts))
    refs = [total.ref] + [p.ref for p in parts if p.value != 0]
    c.add(rule_id=rule, check_id=check_id, status=status, zh=zh, en=en, reported=total.raw, recomputed=rec,
          difference=diff, tolerance=tol, variant=variant, formula=formula, refs=refs, fail_severity=fail_severity)


def _eq_check(c: _Collector, rule: str, check_id: str, zh: str, en: str, a: AccountsValue | None,
              b: AccountsValue | None, formula: str, n_addends: int = 1) -> None:
    if a is None or b is None:
        return
    if a.value == 0 and b.value == 0:
        return
    status, diff, tol = sum_status(a.value, b.value, n_addends)
    c.add(rule_id=rule, check_id=check_id, status=status, zh=zh, en=en, reported=a.raw, recomputed=b.value,
          difference=diff, tolerance=tol, formula=formula, refs=[a.ref, b.ref])


def _row_key(row: AccountsRow) -> str:
    return row.code or row.name


def _side_rows(t: AccountsTable, side: str) -> list[AccountsRow]:
    return [r for r in t.rows if r.side == side]


def _named(rows: list[AccountsRow], pattern: str) -> AccountsRow | None:
    for r in rows:
        if re.search(pattern, r.name):
            return r
    return None


# ---------------------------------------------------------------- table identities

def _check_hierarchy(c: _Collector, t: AccountsTable) -> None:
    coded = [r for r in t.rows if r.code]
    if not coded:
        return
    cols = [col.key for col in t.columns]
    for parent in coded:
        if len(parent.code) not in (3, 5):
            continue
        children = [r for r in coded if len(r.code) == len(parent.code) + 2 and r.code.startswith(parent.code)]
        if not children:
            continue
        for key in cols:
            _sum_check(c, "R-FA-HIER", f"R-FA-HIER:{t.table_id}:{parent.code}:{key}",
                       f"公开{t.table_id}表 {parent.code} {parent.name}「{key}」= 下级科目之和",
                       f"Table {t.table_id}: {parent.code} {parent.name} [{key}] = sum of its sub-items",
                       _v(parent, key), [_v(ch, key) for ch in children],
                       f"{parent.code} = Σ {', '.join(ch.code for ch in children)}")
    total = t.total_row()
    lei = [r for r in coded if len(r.code) == 3]
    if total is not None and lei and t.kind == "functional":
        for key in cols:
            _sum_check(c, "R-FA-HIER", f"R-FA-HIER:{t.table_id}:合计:{key}",
                       f"公开{t.table_id}表 合计「{key}」= 各类之和",
                       f"Table {t.table_id}: total [{key}] = sum of the 类 rows",
                       _v(total, key), [_v(r, key) for r in lei], f"合计 = Σ {', '.join(r.code for r in lei)}")


def _check_economic(c: _Collector, t: AccountsTable) -> None:
    """公开06: 人员经费合计 = 工资福利支出(301) + 对个人和家庭的补助(303); 公用经费合计 = the other 类."""
    lei = {r.code: r for r in t.rows if r.code and len(r.code) == 3}
    personnel = _named(t.rows, r"^人员经费")
    public = _named(t.rows, r"^公用经费")
    variant = "人员经费=301+303; 公用经费=302+307+309+310+399 (基本支出经济分类)"
    if personnel is not None:
        parts = [lei[k] for k in ("301", "303") if k in lei]
        _sum_check(c, "R-FA-HIER", "R-FA-HIER:06:人员经费合计", "公开06表 人员经费合计 = 工资福利支出 + 对个人和家庭的补助",
                   "Table 06: personnel total = 301 wages and benefits + 303 transfers to households",
                   _v(personnel, "决算数"), [_v(r, "决算数") for r in parts],
                   "人员经费合计 = " + " + ".join(r.code for r in parts), variant)
    if public is not None:
        parts = [r for k, r in sorted(lei.items()) if k not in ("301", "303")]
        _sum_check(c, "R-FA-HIER", "R-FA-HIER:06:公用经费合计", "公开06表 公用经费合计 = 商品和服务支出等其余各类之和",
                   "Table 06: public-expense total = 302 goods and services + the other classes",
                   _v(public, "决算数"), [_v(r, "决算数") for r in parts],
                   "公用经费合计 = " + " + ".join(r.code for r in parts), variant)


def _check_row_identities(c: _Collector, t: AccountsTable) -> None:
    """Per row: a total column = the columns it totals (02: 本年收入合计 = Σ sources; 03: 本年支出合计 = 基本 +
    项目 + 上缴上级 + 经营 + 对附属单位补助; 05/07/08: 小计 = 基本 + 项目; 04 支出: 合计 = Σ fund columns)."""
    cols = t.columns
    plans: list[tuple[str, str, list[str]]] = []  # rule, total key, part keys
    keys = [col.key for col in cols]
    if t.table_id == "02" or (t.kind == "functional" and "本年收入合计" in keys):
        plans.append(("R-FA-INCOME", "本年收入合计", [k for k in keys if k != "本年收入合计"]))
    if "本年支出合计" in keys:
        plans.append(("R-FA-EXP", "本年支出合计", [k for k in keys if k != "本年支出合计"]))
    for col in cols:
        if col.label == "小计" and t.kind == "functional":
            prefix = "/".join(col.path[:-1])
            parts = [k for k in keys if k != col.key and k.startswith(prefix + "/")]
            plans.append(("R-FA-EXP", col.key, parts))
    if t.kind == "summary":
        exp_cols = [col.key for col in cols if col.side == "expense"]
        if len(exp_cols) > 1 and exp_cols[0].endswith("合计"):
            plans.append(("R-FA-EXP", exp_cols[0], exp_cols[1:]))
    for rule, tot, parts in plans:
        for row in t.rows:
            if row.value_obj(tot) is None:
                continue
            what = "收入" if rule == "R-FA-INCOME" else "支出"
            suffix = "=Σcolumns" if t.kind == "summary" else ""  # 01/04 also sum down a column
            _sum_check(c, rule, f"{rule}:{t.table_id}:{_row_key(row)}:{tot}{suffix}",
                       f"公开{t.table_id}表 {row.code or ''}{row.name}「{tot}」= " + " + ".join(parts),
                       f"Table {t.table_id}: {row.code or ''} {row.name} [{tot}] = sum of the {what} columns",
                       _v(row, tot), [_v(row, k) for k in parts], f"{tot} = " + " + ".join(parts))


def _check_summary(c: _Collector, t: AccountsTable) -> None:
    """01/04: each half sums down to 本年收入/支出合计, then 总计 = 合计 + the rows between; the halves
    balance (收入总计 = 支出总计)."""
    totals: dict[str, AccountsRow] = {}
    for side, rule, label in (("income", "R-FA-INCOME", "收入"), ("expense", "R-FA-EXP", "支出")):
        rows = _side_rows(t, side)
        keys = [col.key for col in t.columns if col.side == side]
        i_sub = next((i for i, r in enumerate(rows) if re.search(r"^本年.*合计$", r.name)), None)
        i_tot = next((i for i, r in enumerate(rows) if r.name.endswith("总计")), None)
        if i_sub is not None:
            body = [r for r in rows[:i_sub] if not r.is_total]
            for key in keys:
                _sum_check(c, rule, f"{rule}:{t.table_id}:{rows[i_sub].name}:{key}",
                           f"公开{t.table_id}表 {rows[i_sub].name}「{key}」= 各项{label}之和",
                           f"Table {t.table_id}: {rows[i_sub].name} [{key}] = sum of the {side} rows",
                           _v(rows[i_sub], key), [_v(r, key) for r in body],
                           f"{rows[i_sub].name} = Σ {len(body)} rows")
        if i_sub is not None and i_tot is not None:
            between = [r for r in rows[i_sub + 1:i_tot] if "/" not in r.name]
            for key in keys:
                _sum_check(c, "R-FA-TOTAL", f"R-FA-TOTAL:{t.table_id}:{rows[i_tot].name}:{key}",
                           f"公开{t.table_id}表 {rows[i_tot].name}「{key}」= {rows[i_sub].name} + " +
                           " + ".join(r.name for r in between),
                           f"Table {t.table_id}: {rows[i_tot].name} [{key}] = {rows[i_sub].name} + carry-overs",
                           _v(rows[i_tot], key), [_v(r, key) for r in [rows[i_sub], *between]],
                           f"{rows[i_tot].name} = {rows[i_sub].name} + " + " + ".join(r.name for r in between))
            totals[side] = rows[i_tot]
        # 04: 年初财政拨款结转和结余 = Σ its fund-type sub-rows
        for parent in rows:
            subs = [r for r in rows if r.name.startswith(parent.name + "/")]
            if subs:
                for key in keys:
                    _sum_check(c, "R-FA-HIER", f"R-FA-HIER:{t.table_id}:{parent.name}:{key}",
                               f"公开{t.table_id}表 {parent.name} = 其下各项之和",
                               f"Table {t.table_id}: {parent.name} = sum of its sub-rows",
                               _v(parent, key), [_v(r, key) for r in subs], f"{parent.name} = Σ sub-rows")
    if "income" in totals and "expense" in totals:
        ik = next(col.key for col in t.columns if col.side == "income")
        ek = next(col.key for col in t.columns if col.side == "expense")
        _eq_check(c, "R-FA-TOTAL", f"R-FA-TOTAL:{t.table_id}:收支平衡",
                  f"公开{t.table_id}表 收入总计 = 支出总计", f"Table {t.table_id}: total income = total expenditure",
                  _v(totals["income"], ik), _v(totals["expense"], ek), "收入总计 = 支出总计")


def _check_govfund_balance(c: _Collector, t: AccountsTable) -> None:
    keys = {col.label: col.key for col in t.columns}
    if not {"年初结转和结余", "本年收入", "年末结转和结余"} <= keys.keys():
        return
    spend = next((col.key for col in t.columns if col.label == "小计"), None)
    if spend is None:
        return
    for row in t.rows:
        beg, inc, end, out = (_v(row, keys["年初结转和结余"]), _v(row, keys["本年收入"]),
                              _v(row, keys["年末结转和结余"]), _v(row, spend))
        if None in (beg, inc, end, out):
            continue
        if all(x.value == 0 for x in (beg, inc, end, out)):
            continue
        rec = beg.value + inc.value - out.value
        status, diff, tol = sum_status(end.value, rec, 3)
        c.add(rule_id="R-FA-TOTAL", check_id=f"R-FA-TOTAL:{t.table_id}:{_row_key(row)}:年末结转和结余",
              status=status, zh=f"公开{t.table_id}表 {row.code or ''}{row.name} 年末结转和结余 = 年初 + 本年收入 − 本年支出",
              en=f"Table {t.table_id}: {row.name} closing balance = opening + income − expenditure",
              reported=end.raw, recomputed=rec, difference=diff, tolerance=tol,
              formula="年末 = 年初 + 本年收入 − 本年支出小计", refs=[end.ref, beg.ref, inc.ref, out.ref])


def _check_sangong(c: _Collector, t: AccountsTable) -> None:
    row = t.rows[0] if t.rows else None
    if row is None:
        return
    for grp in ("预算数", "决算数"):
        def col(leaf: str) -> AccountsValue | None:
            for k in row.values:
                if k.startswith(grp + "/") and k.endswith(leaf):
                    return _v(row, k)
            return None
        total, abroad, cars, recep = col("合计"), col("因公出国(境)费"), col("小计"), col("公务接待费")
        buy, run = col("公务用车购置费"), col("公务用车运行维护费")
        _sum_check(c, "R-SANGONG", f"R-SANGONG:09:{grp}:合计", f"三公经费{grp} 合计 = 因公出国(境) + 公务用车 + 公务接待",
                   f"三公 {grp}: total = travel abroad + official cars + reception", total, [abroad, cars, recep],
                   "合计 = 因公出国(境)费 + 公务用车购置及运行维护费 + 公务接待费")
        _sum_check(c, "R-SANGONG", f"R-SANGONG:09:{grp}:公务用车", f"三公经费{grp} 公务用车 = 购置 + 运行维护",
                   f"三公 {grp}: official cars = purchase + operation", cars, [buy, run],
                   "公务用车购置及运行维护费 = 购置费 + 运行维护费")
        for parent, child, name in ((total, abroad, "因公出国(境)费"), (total, cars, "公务用车"),
                                    (total, recep, "公务接待费"), (cars, buy, "公务用车购置费"),
                                    (cars, run, "公务用车运行维护费")):
            if parent is not None and child is not None and child.value > parent.value:
                c.add(rule_id="R-SANGONG", check_id=f"R-SANGONG:09:{grp}:{name}<=parent", status="fail",
                      zh=f"三公经费{grp} {name}大于其上级合计", en=f"三公 {grp}: {name} exceeds its parent total",
                      reported=child.raw, recomputed=parent.value, refs=[child.ref, parent.ref])


def _find_by_name(t: AccountsTable | None, name: str, side: str | None = None) -> AccountsRow | None:
    if t is None:
        return None
    for r in t.rows:
        if (side is None or r.side == side) and r.name == name:
            return r
    return None


def _lei_rows(t: AccountsTable | None) -> list[AccountsRow]:
    return [r for r in t.rows if r.code and len(r.code) == 3] if t is not None else []


def _check_xtable(c: _Collector, acc: AccountsExtraction) -> None:
    t01, t02, t03, t04, t05, t06, t07, t08 = (acc.table(x) for x in ("01", "02", "03", "04", "05", "06", "07", "08"))
    R = "R-FA-XTABLE"

    def inc01(name):
        return _v(_find_by_name(t01, name, "income"), "收入/决算数")

    def exp01(name):
        return _v(_find_by_name(t01, name, "expense"), "支出/决算数")

    if t01 is not None and t02 is not None:
        _eq_check(c, R, f"{R}:01-02:本年收入合计", "01表 本年收入合计 = 02表 合计", "01 income total = 02 total",
                  inc01("本年收入合计"), _v(t02.total_row(), "本年收入合计"), "01 本年收入合计 = 02 合计")
        fin = [inc01(n) for n in ("一般公共预算财政拨款收入", "政府性基金预算财政拨款收入", "国有资本经营预算财政拨款收入")]
        _sum_check(c, R, f"{R}:01-02:财政拨款收入", "02表 财政拨款收入 = 01表 三类财政拨款收入之和",
                   "02 appropriation income = the three appropriation incomes of 01",
                   _v(t02.total_row(), "财政拨款收入"), [f for f in fin if f is not None] or [None],
                   "02 财政拨款收入 = 01 一般公共预算 + 政府性基金 + 国有资本经营")
        for col in t02.columns:
            if col.key in ("本年收入合计", "财政拨款收入"):
                continue
            _eq_check(c, R, f"{R}:01-02:{col.key}", f"01表 {col.key} = 02表 合计{col.key}",
                      f"01 {col.key} = 02 total", inc01(col.key), _v(t02.total_row(), col.key), f"01 {col.key} = 02 合计")
    if t01 is not None and t03 is not None:
        _eq_check(c, R, f"{R}:01-03:本年支出合计", "01表 本年支出合计 = 03表 合计", "01 expenditure total = 03 total",
                  exp01("本年支出合计"), _v(t03.total_row(), "本年支出合计"), "01 本年支出合计 = 03 合计")
        for lei in _lei_rows(t03):
            _eq_check(c, R, f"{R}:01-03:{lei.code}", f"01表 {lei.name} = 03表 {lei.code}",
                      f"01 {lei.name} = 03 {lei.code}", exp01(lei.name), _v(lei, "本年支出合计"),
                      f"01 {lei.name} = 03 {lei.code} 本年支出合计")
    if t01 is not None and t04 is not None:
        for n01, n04 in (("一般公共预算财政拨款收入", "一般公共预算财政拨款"), ("政府性基金预算财政拨款收入", "政府性基金预算财政拨款"),
                         ("国有资本经营预算财政拨款收入", "国有资本经营预算财政拨款")):
            _eq_check(c, R, f"{R}:01-04:{n04}", f"01表 {n01} = 04表 {n04}", f"01 {n01} = 04 {n04}",
                      inc01(n01), _v(_find_by_name(t04, n04, "income"), "收入/金额"), f"01 {n01} = 04 {n04}")
    if t04 is not None:
        exp_total04 = _find_by_name(t04, "本年支出合计", "expense")
        for tid, t, col04, col_t in (("05", t05, "支出/一般公共预算财政拨款", "本年支出/小计"),
                                     ("07", t07, "支出/政府性基金预算财政拨款", "本年支出/小计"),
                                     ("08", t08, "支出/国有资本经营预算财政拨款", "本年支出/小计")):
            if t is None:
                continue
            _eq_check(c, R, f"{R}:04-{tid}:合计", f"04表 本年支出合计「{col04.split('/')[-1]}」= {tid}表 合计",
                      f"04 expenditure total [{col04}] = {tid} total", _v(exp_total04, col04),
                      _v(t.total_row(), col_t), f"04 {col04} = {tid} 合计")
            for lei in _lei_rows(t):
                _eq_check(c, R, f"{R}:04-{tid}:{lei.code}", f"04表 {lei.name}「{col04.split('/')[-1]}」= {tid}表 {lei.code}",
                          f"04 {lei.name} = {tid} {lei.code}", _v(_find_by_name(t04, lei.name, "expense"), col04),
                          _v(lei, col_t), f"04 {lei.name} = {tid} {lei.code}")
        if t07 is not None:
            _eq_check(c, R, f"{R}:04-07:本年收入", "04表 政府性基金预算财政拨款收入 = 07表 本年收入",
                      "04 government-fund income = 07 income", _v(_find_by_name(t04, "政府性基金预算财政拨款", "income"),
                                                                  "收入/金额"),
                      _v(t07.total_row(), "本年收入"), "04 政府性基金预算财政拨款 = 07 本年收入")
    if t05 is not None and t06 is not None:
        basic = _v(t05.total_row(), "基本支出")
        parts = [_v(_named(t06.rows, r"^人员经费"), "决算数"), _v(_named(t06.rows, r"^公用经费"), "决算数")]
        _sum_check(c, R, f"{R}:05-06:基本支出", "05表 基本支出 = 06表 人员经费合计 + 公用经费合计",
                   "05 basic expenditure = 06 personnel + public-expense totals", basic, parts,
                   "05 基本支出 = 06 人员经费合计 + 公用经费合计")
    if t03 is not None and t05 is not None:
        # 03 covers all funds, 05 only the general budget: 03 基本支出 ≥ 05 基本支出 is all one can say,
        # unless 07/08 add nothing to 基本支出 — then they are equal.
        extra = [_v(t.total_row(), "基本支出") for t in (t07, t08) if t is not None]
        if all(e is not None and e.value == 0 for e in extra):
            _eq_check(c, R, f"{R}:03-05:基本支出", "03表 基本支出 = 05表 基本支出（07/08表无基本支出）",
                      "03 basic expenditure = 05 basic (07/08 have none)", _v(t03.total_row(), "基本支出"),
                      _v(t05.total_row(), "基本支出"), "03 基本支出 = 05 基本支出 + 07 + 08")
        proj = [_v(t.total_row(), "项目支出") for t in (t05, t07, t08) if t is not None]
        t02_total = t02.total_row() if t02 is not None else None
        only_appropriations = (t02_total is not None and _v(t02_total, "财政拨款收入") is not None
                               and _v(t02_total, "本年收入合计") is not None
                               and _v(t02_total, "财政拨款收入").value == _v(t02_total, "本年收入合计").value)
        if only_appropriations:
            _sum_check(c, R, f"{R}:03-05:项目支出", "03表 项目支出 = 05 + 07 + 08表 项目支出",
                       "03 project expenditure = 05 + 07 + 08 project expenditure", _v(t03.total_row(), "项目支出"),
                       proj, "03 项目支出 = 05 + 07 + 08 项目支出",
                       variant="all income is appropriations (02 财政拨款收入 = 本年收入合计)")


def check_tables(c: _Collector, acc: AccountsExtraction) -> None:
    for t in acc.tables:
        if t.kind == "functional":
            _check_hierarchy(c, t)
            _check_row_identities(c, t)
            _check_govfund_balance(c, t)
        elif t.kind == "economic":
            _check_hierarchy(c, t)
            _check_economic(c, t)
        elif t.kind == "summary":
            _check_summary(c, t)
            _check_row_identities(c, t)
        elif t.kind == "sangong":
            _check_sangong(c, t)
    _check_xtable(c, acc)


# ---------------------------------------------------------------- 第三部分 情况说明

Target = tuple[str, AccountsValue]  # (what it is in words, the table value)

_SANGONG_CATS = (
    (r"因公出国", "因公出国(境)费"),
    (r"公务用车购置及运行", "公务用车购置及运行维护费/小计"),
    (r"公务用车购置", "公务用车购置费"),
    (r"公务用车运行", "公务用车运行维护费"),
    (r"公务接待", "公务接待费"),
)


def _names_match(prose: str, name: str) -> bool:
    prose = prose.strip()
    return prose == name or prose + "支出" == name or prose == name + "支出"


def _subject_row(t: AccountsTable | None, subject: str) -> AccountsRow | None:
    """'社会保障和就业支出(类)行政事业单位养老支出(款)事业单位离退休(项)' -> the 项 row, by walking the codes."""
    if t is None:
        return None
    parts = re.findall(r"(.+?)\((类|款|项)\)", subject)
    prefix = ""
    row = None
    for name, level in parts:
        length = {"类": 3, "款": 5, "项": 7}[level]
        cand = [r for r in t.rows if r.code and len(r.code) == length and r.code.startswith(prefix)
                and _names_match(name, r.name)]
        if len(cand) != 1:
            return None
        row = cand[0]
        prefix = row.code
    return row


def _lei_row(t: AccountsTable | None, label: str) -> AccountsRow | None:
    m = re.match(r"(.+?)\(类\)", label)
    if t is None or m is None:
        return None
    return next((r for r in _lei_rows(t) if _names_match(m.group(1), r.name)), None)


def _sangong_cat(label: str) -> str | None:
    if re.search(r"外宾接待|国内公务接待", label):
        return "-"  # parts of 公务接待费 that no table shows
    for pat, cat in _SANGONG_CATS:
        if re.search(pat, label):
            return cat
    return None


def _targets(acc: AccountsExtraction, items: list[NarrativeItem], i: int) -> tuple[list[Target], str | None]:
    """What a stated amount is in the tables, by section and label; (targets, variant)."""
    it = items[i]
    kind = section_kind(it.section_title)
    lab = it.label
    t01, t02, t03, t04, t05, t06, t07, t08, t09 = (acc.table(x) for x in
                                                   ("01", "02", "03", "04", "05", "06", "07", "08", "09"))
    out: list[Target] = []

    def add(desc: str, v: AccountsValue | None):
        if v is not None:
            out.append((desc, v))

    if it.kind == "initial_budget" and kind != "sangong":
        return [], None  # 年初预算 is not in the public tables
    if kind == "total" and "总计" in lab:
        add("01表 收入总计", _v(_find_by_name(t01, "收入总计", "income"), "收入/决算数"))
        add("01表 支出总计", _v(_find_by_name(t01, "支出总计", "expense"), "支出/决算数"))
    elif kind == "fa_total" and "总计" in lab:
        add("04表 收入总计", _v(_find_by_name(t04, "总计", "income"), "收入/金额"))
        add("04表 支出总计", _v(_find_by_name(t04, "总计", "expense"), "支出/合计"))
    elif kind == "income":
        if lab.endswith("合计"):
            add("01表 本年收入合计", _v(_find_by_name(t01, "本年收入合计", "income"), "收入/决算数"))
        elif t02 is not None and t02.total_row() is not None and _v(t02.total_row(), lab) is not None:
            add(f"02表 合计 {lab}", _v(t02.total_row(), lab))
    elif kind == "expense":
        if lab.endswith("合计"):
            add("03表 合计 本年支出合计", _v(t03.total_row() if t03 else None, "本年支出合计"))
        elif t03 is not None and _v(t03.total_row(), lab) is not None:
            add(f"03表 合计 {lab}", _v(t03.total_row(), lab))
    elif kind == "gpb":
        if "(类)" in lab:
            row = _lei_row(t05, lab)
            add(f"05表 {row.code} {row.name} 小计" if row else "", _v(row, "本年支出/小计"))
        elif "决算" in lab and it.subject:
            row = _subject_row(t05, it.subject)
            add(f"05表 {row.code} {row.name} 小计" if row else "", _v(row, "本年支出/小计"))
        elif "决算" in lab or "一般公共预算财政拨款支出" in lab:
            add("05表 合计 小计", _v(t05.total_row() if t05 else None, "本年支出/小计"))
    elif kind == "basic":
        if "人员经费" in lab:
            add("06表 人员经费合计", _v(_named(t06.rows, r"^人员经费") if t06 else None, "决算数"))
        elif "公用经费" in lab:
            add("06表 公用经费合计", _v(_named(t06.rows, r"^公用经费") if t06 else None, "决算数"))
        elif "基本支出" in lab:
            add("05表 合计 基本支出", _v(t05.total_row() if t05 else None, "基本支出"))
    elif kind == "govfund" and re.search(r"决算|支出", lab):
        add("07表 合计 本年支出小计", _v(t07.total_row() if t07 else None, "本年支出/小计"))
    elif kind == "soe" and re.search(r"决算|支出", lab):
        add("08表 合计 本年支出小计", _v(t08.total_row() if t08 else None, "本年支出/小计"))
    elif kind == "sangong" and t09 is not None and t09.rows:
        cat = _sangong_cat(lab)
        if cat is None and i > 0 and items[i - 1].sentence == it.sentence and items[i - 1].section == it.section:
            cat = _sangong_cat(items[i - 1].label)  # "因公出国(境)费预算数为0万元，支出决算数为0万元"
        if cat == "-":
            return [], None
        grp = "预算数" if it.kind == "initial_budget" else "决算数"
        key = f"{grp}/{cat or '合计'}"
        row = t09.rows[0]
        v = next((_v(row, k) for k in row.values if k == key or (k.startswith(grp + "/") and k.endswith(cat or "/合计"))),
                 None)
        add(f"09表 {key}", v)
    elif kind == "ops" and "机关运行经费" in lab:
        add("06表 公用经费合计", _v(_named(t06.rows, r"^公用经费") if t06 else None, "决算数"))
        return out, "机关运行经费 = 06 公用经费合计 (行政单位; inferred)"
    return out, None


def _default_base(acc: AccountsExtraction, it: NarrativeItem) -> Target | None:
    kind = section_kind(it.section_title)
    lab = (it.base_label or "").replace("的", "")
    t01, t03, t05, t09 = (acc.table(x) for x in ("01", "03", "05", "09"))
    if lab:
        if re.search(r"本年支出合计|支出合计", lab):
            v = _v(_find_by_name(t01, "本年支出合计", "expense"), "支出/决算数")
            return ("01表 本年支出合计", v) if v else None
        if re.search(r"本年收入合计|收入合计", lab):
            v = _v(_find_by_name(t01, "本年收入合计", "income"), "收入/决算数")
            return ("01表 本年收入合计", v) if v else None
        return None
    if kind == "sangong" and t09 is not None and t09.rows:
        v = _v(t09.rows[0], "决算数/合计")
        return ("09表 决算数 合计", v) if v else None
    if kind == "expense" and t03 is not None:
        v = _v(t03.total_row(), "本年支出合计")
        return ("03表 合计 本年支出合计", v) if v else None
    if kind == "income" and t01 is not None:
        v = _v(_find_by_name(t01, "本年收入合计", "income"), "收入/决算数")
        return ("01表 本年收入合计", v) if v else None
    if kind == "gpb" and t05 is not None:
        v = _v(t05.total_row(), "本年支出/小计")
        return ("05表 合计 小计", v) if v else None
    return None


def _operand(acc, items, idx: int | None, targets: dict[int, list[Target]]) -> tuple[Decimal, str, str, SourceRef] | None:
    """An amount a percentage is computed from: its table value when the amount maps to one, else the
    amount as stated. (value, raw, source, ref)."""
    if idx is None:
        return None
    tg = targets.get(idx) or []
    if tg:
        desc, v = tg[0]
        return v.value, v.raw, desc, v.ref
    it = items[idx]
    return it.value, it.raw, f"文中「{it.label}」", it.ref


def check_narrative(c: _Collector, acc: AccountsExtraction) -> None:
    items = acc.narrative
    targets: dict[int, list[Target]] = {}
    variants: dict[int, str | None] = {}
    for i, it in enumerate(items):
        if it.kind in ("amount", "initial_budget"):
            targets[i], variants[i] = _targets(acc, items, i)
    for i, it in enumerate(items):
        cid = f"R-NARRATIVE:{it.section}:{it.kind}:{it.label}:{it.raw}"
        where = f"第三部分{it.section}、{it.section_title}"
        if it.kind in ("amount", "initial_budget"):
            for desc, v in targets.get(i, []):
                status, diff, tol = amount_status(it.raw, it.value, v.value)
                fail_sev = "info" if variants.get(i) else "error"
                c.add(rule_id="R-NARRATIVE", check_id=f"{cid}:{desc}", status=status,
                      zh=f"{where}：{it.label}{it.raw}万元 与 {desc} 一致",
                      en=f"{where}: stated {it.label} {it.raw} equals {desc}",
                      reported=it.raw, recomputed=v.value, difference=diff, tolerance=tol, variant=variants.get(i),
                      formula=f"{it.label} = {desc}", refs=[it.ref, v.ref], fail_severity=fail_sev)
        elif it.kind == "share":
            num = _operand(acc, items, it.numerator_index, targets)
            if it.base_index is not None:
                base = _operand(acc, items, it.base_index, targets)
            else:
                bt = _default_base(acc, it)
                base = (bt[1].value, bt[1].raw, bt[0], bt[1].ref) if bt else None
            if num is None or base is None:
                continue
            r = ratio_status(it.raw, it.value, num[0], base[0], num_raw=num[1], den_raw=base[1])
            src = "table" if not num[2].startswith("文中") and not base[2].startswith("文中") else "prose"
            c.add(rule_id="R-NARRATIVE", check_id=cid, status=r["status"],
                  zh=f"{where}：{it.numerator_label or ''}占比{it.raw}% = {num[2]} / {base[2]}",
                  en=f"{where}: share {it.raw}% = {num[2]} / {base[2]}",
                  reported=it.raw, recomputed=r["recomputed"], difference=r["difference"], tolerance=r["tolerance"],
                  variant=f"operands from {src}" + (f"; {r['note']}" if r["note"] else ""),
                  formula=f"{num[1]} / {base[1]} × 100", refs=[it.ref, num[3], base[3]])
        elif it.kind == "yoy_rate":
            cur = _operand(acc, items, it.numerator_index, targets)
            chg = items[it.base_index] if it.base_index is not None else None
            if cur is None or chg is None:
                continue
            sign = Decimal(1) if it.direction == "decrease" else Decimal(-1)
            # prior year = this year + decrease (or − increase); rate = change / prior year
            r = ratio_status(it.raw, it.value, chg.value, cur[0], num_raw=chg.raw, den_raw=cur[1],
                             offset=sign * chg.value)
            prior = cur[0] + sign * chg.value
            c.add(rule_id="R-NARRATIVE", check_id=cid, status=r["status"],
                  zh=f"{where}：{'下降' if it.direction == 'decrease' else '增长'}{it.raw}% = {chg.raw} / 上年数 {fmt(prior)}"
                     f"（上年数 = {cur[2]} {'+' if sign > 0 else '−'} {chg.raw}）",
                  en=f"{where}: year-on-year {it.raw}% = change {chg.raw} / prior year {fmt(prior)}",
                  reported=it.raw, recomputed=r["recomputed"], difference=r["difference"], tolerance=r["tolerance"],
                  variant=("operands from table" if not cur[2].startswith("文中") else "operands from prose") +
                          (f"; {r['note']}" if r["note"] else ""),
                  formula=f"{chg.raw} / ({cur[1]} {'+' if sign > 0 else '−'} {chg.raw}) × 100",
                  refs=[it.ref, chg.ref, cur[3]])
        elif it.kind == "completion":
            num = _operand(acc, items, it.numerator_index, targets)
            bud = items[it.base_index] if it.base_index is not None else None
            if num is None or bud is None:
                continue
            r = ratio_status(it.raw, it.value, num[0], bud.value, num_raw=num[1], den_raw=bud.raw)
            subj = it.subject or "合计"
            c.add(rule_id="R-NARRATIVE", check_id=f"{cid}:{subj}", status=r["status"],
                  zh=f"{where}：{subj} 完成年初预算的{it.raw}% = 决算 {num[2]} {num[1]} / 年初预算 {bud.raw}",
                  en=f"{where}: {subj} completion {it.raw}% = final {num[1]} / initial budget {bud.raw}",
                  reported=it.raw, recomputed=r["recomputed"], difference=r["difference"], tolerance=r["tolerance"],
                  variant=("决算 from table" if not num[2].startswith("文中") else "决算 from prose")
                          + (f"; {r['note']}" if r["note"] else ""),
                  formula=f"{num[1]} / {bud.raw} × 100", refs=[it.ref, num[3], bud.ref])
    _narrative_sums(c, acc)


def _narrative_sums(c: _Collector, acc: AccountsExtraction) -> None:
    """Sums the prose states without a table: 基本支出 = 人员经费 + 公用经费; 政府采购支出总额 = 货物 + 工程 +
    服务; 公务接待费 = 外宾接待 + 国内公务接待."""
    items = acc.narrative
    by_section: dict[str, list[NarrativeItem]] = {}
    for it in items:
        if it.kind == "amount":
            by_section.setdefault(it.section, []).append(it)
    for sec, group in by_section.items():
        kind = section_kind(group[0].section_title)
        plans = []
        if kind == "basic":
            tot = next((g for g in group if "基本支出" in g.label), None)
            parts = [g for g in group if re.search(r"人员经费|公用经费", g.label)]
            plans.append((tot, parts, "基本支出 = 人员经费 + 公用经费"))
        if kind == "procurement":
            tot = next((g for g in group if "总额" in g.label), None)
            parts = [g for g in group if re.search(r"(货物|工程|服务)(支出)?$", g.label)]
            plans.append((tot, parts, "政府采购支出总额 = 货物 + 工程 + 服务"))
        if kind == "sangong":
            sec_items = [g for g in items if g.section == sec and g.kind == "amount"]
            parts = [g for g in sec_items if re.search(r"外宾接待|国内公务接待", g.label)]
            if parts:
                t09 = acc.table("09")
                row = t09.rows[0] if t09 and t09.rows else None
                v = _v(row, "决算数/公务接待费")
                if v is not None and len(parts) >= 2:
                    rec = sum((p.value for p in parts), Decimal(0))
                    status, diff, tol = sum_status(v.value, rec, len(parts))
                    c.add(rule_id="R-NARRATIVE", check_id=f"R-NARRATIVE:{sec}:sum:公务接待费",
                          status=status, zh="三公经费 公务接待费决算 = 外宾接待 + 国内公务接待",
                          en="三公: reception = foreign guests + domestic", reported=v.raw, recomputed=rec,
                          difference=diff, tolerance=tol, formula="公务接待费 = 外宾接待支出 + 其他国内公务接待支出",
                          refs=[v.ref, *[p.ref for p in parts]])
        for tot, parts, formula in plans:
            if tot is None or len(parts) < 2:
                continue
            rec = sum((p.value for p in parts), Decimal(0))
            status, diff, tol = sum_status(tot.value, rec, len(parts))
            c.add(rule_id="R-NARRATIVE", check_id=f"R-NARRATIVE:{sec}:sum:{tot.label}", status=status,
                  zh=f"第三部分{sec}：{formula}", en=f"Part 3 section {sec}: {formula}", reported=tot.raw,
                  recomputed=rec, difference=diff, tolerance=tol, formula=formula,
                  refs=[tot.ref, *[p.ref for p in parts]])


# ---------------------------------------------------------------- department-level statements

GRADE_VARIANT = "优≥90, 良≥80, 中≥60, 差<60 (lower bound inclusive)"


def grade_of(score: Decimal) -> str:
    if score >= 90:
        return "优"
    if score >= 80:
        return "良"
    if score >= 60:
        return "中"
    return "差"


def _in_bucket(rate: Decimal, st) -> bool:
    if st.low is not None and (rate < st.low or (rate == st.low and not st.low_inclusive)):
        return False
    if st.high is not None and (rate > st.high or (rate == st.high and not st.high_inclusive)):
        return False
    return True


def _row_rate(r) -> Decimal | None:
    if r.rate is not None and r.rate.value is not None:
        return r.rate.value
    if r.budget and r.executed and r.budget.value and r.executed.value is not None:
        return r.executed.value / r.budget.value * HUNDRED
    return None


def _check_score_table(c: _Collector, acc: AccountsExtraction) -> Decimal | None:
    rows = acc.dept.score_rows
    total = next((r for r in rows if r.is_total), None)
    body = [r for r in rows if not r.is_total]
    if total is None or not body:
        return None
    R = "R-DEPT-TOTAL"
    weights = [r.weight for r in body]
    if total.weight is not None and all(w is not None and w.value is not None for w in weights):
        _sum_check(c, R, f"{R}:总体得分情况表:权重", "总体得分情况表 权重合计 = 各项权重之和",
                   "Department score table: total weight = sum of weights", total.weight, weights,
                   "合计权重 = Σ 权重")
        if total.weight.value != 100:
            c.add(rule_id=R, check_id=f"{R}:总体得分情况表:权重=100", status="fail",
                  zh="总体得分情况表 权重合计不为100", en="Department score table: weights do not sum to 100",
                  reported=total.weight.raw, recomputed="100", refs=[total.ref], fail_severity="warning")
        else:
            c.add(rule_id=R, check_id=f"{R}:总体得分情况表:权重=100", status="pass",
                  zh="总体得分情况表 权重合计为100", en="Department score table: weights sum to 100",
                  reported=total.weight.raw, recomputed="100", refs=[total.ref])
    scores = [r.score for r in body]
    if total.score is not None and all(s is not None and s.value is not None for s in scores):
        _sum_check(c, R, f"{R}:总体得分情况表:得分", "总体得分情况表 合计得分 = 各项得分之和",
                   "Department score table: total score = sum of scores", total.score, scores, "合计得分 = Σ 得分")
    for r in rows:
        if r.weight is None or r.score is None or r.weight.value is None or r.score.value is None:
            continue
        if r.score.value > r.weight.value:
            c.add(rule_id=R, check_id=f"{R}:总体得分情况表:{r.name}:得分≤权重", status="fail",
                  zh=f"总体得分情况表 {r.name} 得分高于权重", en=f"Department score table: {r.name} score above weight",
                  reported=r.score.raw, recomputed=r.weight.raw, refs=[r.ref])
        if r.rate is not None and r.rate.value is not None:
            res = ratio_status(r.rate.raw, r.rate.value, r.score.value, r.weight.value)
            c.add(rule_id=R, check_id=f"{R}:总体得分情况表:{r.name}:得分率", status=res["status"],
                  zh=f"总体得分情况表 {r.name} 得分率{r.rate.raw} = 得分 {r.score.raw} / 权重 {r.weight.raw}",
                  en=f"Department score table: {r.name} score rate = score / weight",
                  reported=r.rate.raw, recomputed=res["recomputed"], difference=res["difference"],
                  tolerance=res["tolerance"], formula="得分率 = 得分 / 权重分值 × 100", refs=[r.ref])
    return total.score.value if total.score is not None else None


def _scopes(rows) -> list[tuple[str, list]]:
    """Scopes a statement about the 项目自评汇总表 may count over: all rows, and — when a later group
    re-lists the funds of the first (待分项目 repeating 可执行项目's budgets) — the first group alone."""
    groups: list[str] = []
    for r in rows:
        if r.group and r.group not in groups:
            groups.append(r.group)
    scopes = [("all rows", list(rows))]
    if len(groups) >= 2:
        first = [r for r in rows if r.group == groups[0]]
        keyset = {(r.budget.value if r.budget else None, r.executed.value if r.executed else None) for r in first}
        later = [r for r in rows if r.group != groups[0]]
        relisted = all((r.budget.value if r.budget else None, r.executed.value if r.executed else None) in keyset
                       for r in later)
        label = f"{groups[0]} only" + (f" ({'/'.join(groups[1:])} re-list the same funds)" if relisted else "")
        scopes.insert(0 if relisted else 1, (label, first))
    return scopes


def _check_summary_statements(c: _Collector, acc: AccountsExtraction) -> None:
    rows = acc.dept.summary_rows
    if not rows:
        return
    R = "R-DEPT-COUNTS"
    count_scopes = sorted(_scopes(rows), key=lambda s: s[0] != "all rows")  # counts: all rows first
    amount_scopes = _scopes(rows)  # amounts: the non-duplicating scope first
    table_ref = acc.dept.summary_ref

    def pick(scopes, compute, stated, raw, ratio=False):
        """Try the scopes in order; the first whose recomputation agrees wins, else the first scope."""
        results = []
        for label, sc in scopes:
            val = compute(sc)
            if val is None:
                continue
            if ratio:
                res = ratio_status(raw, stated, val[0], val[1])
                results.append((label, res["status"], res["recomputed"], res["difference"], res["tolerance"], sc))
            else:
                st, diff, tol = sum_status(stated, val[0], val[1])
                results.append((label, st, val[0], diff, tol, sc))
        for r in results:
            if r[1] != "fail":
                return r
        return results[0] if results else None

    for st in acc.dept.statements:
        cid = f"{R}:{st.kind}:{st.label}:{st.raw}"
        if st.kind == "project_count":
            res = pick(count_scopes, lambda sc: (Decimal(len(sc)), 0), st.value, st.raw)
            zh, en = "自评项目数 = 项目自评汇总表行数", "number of evaluated projects = rows of the summary table"
        elif st.kind == "group_count":
            res = pick([(f"group {st.text}", [r for r in rows if r.group == st.text])],
                       lambda sc: (Decimal(len(sc)), 0), st.value, st.raw)
            zh, en = f"{st.text}数 = 汇总表该组行数", f"{st.text} count = rows in that group"
        elif st.kind == "grade_count":
            res = pick(count_scopes, lambda sc: (Decimal(sum(1 for r in sc if r.score and r.score.value is not None
                                                             and grade_of(r.score.value) == st.text)), 0),
                       st.value, st.raw)
            zh, en = f"自评结果为{st.text}的项目数 = 汇总表按自评得分分级计数", f"projects graded {st.text} = rows by score"
        elif st.kind == "average_score":
            def avg(sc):
                vals = [r.score.value for r in sc if r.score and r.score.value is not None]
                return (sum(vals, Decimal(0)) / len(vals), 0) if vals else None
            res = None
            for label, sc in count_scopes:
                a = avg(sc)
                if a is None:
                    continue
                r = ratio_status(st.raw, st.value, a[0], HUNDRED)
                cand = (label, r["status"], a[0], r["difference"], r["tolerance"], sc)
                if res is None or (res[1] == "fail" and r["status"] != "fail"):
                    res = cand
            zh, en = "项目平均得分 = 汇总表自评得分平均值", "average score = mean of the summary-table scores"
        elif st.kind == "rate_bucket":
            res = pick(amount_scopes, lambda sc: (Decimal(sum(1 for r in sc if _row_rate(r) is not None
                                                             and _in_bucket(_row_rate(r), st))), 0),
                       st.value, st.raw)
            zh, en = f"{st.label}的项目数 = 汇总表计数", f"projects with {st.label} = rows counted"
        elif st.kind in ("project_budget", "project_executed"):
            attr = "budget" if st.kind == "project_budget" else "executed"

            def total(sc, attr=attr):
                vals = [getattr(r, attr) for r in sc]
                if any(v is None or v.value is None for v in vals):
                    return None
                return (sum((v.value for v in vals), Decimal(0)), len(vals))
            res = pick(amount_scopes, total, st.value, st.raw)
            zh, en = f"{st.label} = 汇总表各项目之和", f"{st.label} = sum over the summary table"
            R2 = "R-DEPT-TOTAL"
            if res:
                c.add(rule_id=R2, check_id=f"{R2}:{st.kind}:{st.raw}", status=res[1], zh=zh, en=en, reported=st.raw,
                      recomputed=res[2], difference=res[3], tolerance=res[4], variant=f"scope: {res[0]}",
                      formula=f"Σ {attr} over {len(res[5])} rows", refs=[st.ref, table_ref])
            continue
        elif st.kind == "project_rate":
            def rate(sc):
                if any(r.budget is None or r.executed is None or r.budget.value is None or r.executed.value is None
                       for r in sc):
                    return None
                return (sum((r.executed.value for r in sc), Decimal(0)), sum((r.budget.value for r in sc), Decimal(0)))
            res = pick(amount_scopes, rate, st.value, st.raw, ratio=True)
            if res:
                c.add(rule_id="R-DEPT-TOTAL", check_id=f"R-DEPT-TOTAL:project_rate:{st.raw}", status=res[1],
                      zh="项目支出执行率 = Σ执行数 / Σ预算数", en="project execution rate = Σ executed / Σ budget",
                      reported=st.raw, recomputed=res[2], difference=res[3], tolerance=res[4],
                      variant=f"scope: {res[0]}", formula="Σ 全年执行数 / Σ 全年预算数 × 100",
                      refs=[st.ref, table_ref])
            continue
        else:
            continue
        if res is None:
            continue
        c.add(rule_id=R, check_id=cid, status=res[1], zh=zh, en=en, reported=st.raw, recomputed=res[2],
              difference=res[3], tolerance=res[4], variant=f"scope: {res[0]}; grades {GRADE_VARIANT}"
              if st.kind == "grade_count" else f"scope: {res[0]}", refs=[st.ref, table_ref])


def _check_dept_statements(c: _Collector, acc: AccountsExtraction, table_total: Decimal | None) -> None:
    R = "R-DEPT-TOTAL"
    last: dict[str, object] = {}
    score_total = next((r for r in acc.dept.score_rows if r.is_total), None)
    for st in acc.dept.statements:
        cid = f"{R}:{st.kind}:{st.raw}"
        if st.kind == "dept_total" and table_total is not None:
            status, diff, tol = amount_status(st.raw, st.value, table_total)
            c.add(rule_id=R, check_id=cid, status=status, zh=f"部门整体绩效自评得分{st.raw}分 = 总体得分情况表合计",
                  en="stated department score = total of the score table", reported=st.raw, recomputed=table_total,
                  difference=diff, tolerance=tol, refs=[st.ref, score_total.ref if score_total else None])
        elif st.kind == "dept_grade" and table_total is not None:
            g = grade_of(table_total)
            c.add(rule_id=R, check_id=cid, status="pass" if g == st.text else "fail",
                  zh=f"部门整体评价等级「{st.text}」= 得分{fmt(table_total)}对应等级「{g}」",
                  en=f"stated grade {st.text} = grade of the total score ({g})", reported=st.text, recomputed=g,
                  variant=GRADE_VARIANT, refs=[st.ref, score_total.ref if score_total else None])
        elif st.kind in ("dept_initial_budget", "dept_adjusted_budget", "dept_executed", "procurement_budget",
                         "procurement_executed"):
            last[st.kind] = st
        elif st.kind in ("dept_exec_rate", "dept_adjust_rate", "dept_carryover_rate", "procurement_rate"):
            ini, adj, exe = last.get("dept_initial_budget"), last.get("dept_adjusted_budget"), last.get("dept_executed")
            pb, pe = last.get("procurement_budget"), last.get("procurement_executed")
            if st.kind == "dept_exec_rate" and adj and exe:
                num, den, formula, ops = exe, adj, "预算执行金额 / 调整预算数", [exe, adj]
            elif st.kind == "dept_adjust_rate" and adj and ini:
                num, den, formula, ops = None, ini, "(调整预算数 − 年初预算数) / 年初预算数", [adj, ini]
            elif st.kind == "dept_carryover_rate" and adj and exe:
                num, den, formula, ops = None, adj, "(调整预算数 − 预算执行金额) / 调整预算数 [inferred]", [adj, exe]
            elif st.kind == "procurement_rate" and pb and pe:
                num, den, formula, ops = pe, pb, "政府采购执行数 / 政府采购年初预算数", [pe, pb]
            else:
                continue
            if st.kind == "dept_adjust_rate":
                res = ratio_status(st.raw, st.value, adj.value - ini.value, ini.value)
            elif st.kind == "dept_carryover_rate":
                res = ratio_status(st.raw, st.value, adj.value - exe.value, adj.value)
            else:
                res = ratio_status(st.raw, st.value, num.value, den.value, num_raw=num.raw, den_raw=den.raw)
            c.add(rule_id=R, check_id=cid, status=res["status"], zh=f"{st.label}{st.raw}% = {formula}",
                  en=f"{st.label} {st.raw}% = {formula}", reported=st.raw, recomputed=res["recomputed"],
                  difference=res["difference"], tolerance=res["tolerance"], variant=res["note"],
                  formula=formula, refs=[st.ref, *[o.ref for o in ops]])


def check_dept(c: _Collector, acc: AccountsExtraction) -> None:
    total = _check_score_table(c, acc)
    _check_summary_statements(c, acc)
    _check_dept_statements(c, acc, total)


# ---------------------------------------------------------------- entry

def run_checks(acc: AccountsExtraction) -> list[CheckResult]:
    c = _Collector(acc)
    check_tables(c, acc)
    check_narrative(c, acc)
    check_dept(c, acc)
    return c.results


def to_findings(acc: AccountsExtraction, results: list[CheckResult]) -> list[Finding]:
    out: list[Finding] = []
    for r in results:
        if r.severity is None:
            continue
        nums_zh = f"（报告 {r.reported}，重算 {r.recomputed}，差 {r.difference}，容差 {r.tolerance}）"
        nums_en = f" (reported {r.reported}, recomputed {r.recomputed}, difference {r.difference}, tolerance {r.tolerance})"
        if r.status == "within_rounding":
            lead_zh, lead_en = "尾差（四舍五入范围内）：", "Within rounding: "
        else:
            lead_zh, lead_en = "不一致：", "Mismatch: "
        out.append(Finding(rule_id=r.rule_id, severity=r.severity, unit_id=acc.unit_id, doc_id=acc.doc_id,
                           message_zh=lead_zh + r.description_zh + nums_zh,
                           message_en=lead_en + r.description_en + nums_en,
                           reported=r.reported, recomputed=r.recomputed,
                           variant=r.variant or "部门决算公开01–09表; R-ROUND max(0.01, 0.005×n)",
                           refs=r.refs))
    return out
