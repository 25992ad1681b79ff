"""Questions answered exactly from a parsed 部门决算 (pure): amounts of a 科目 or a total, shares, and which
科目 spent more (or less) than their initial budget as stated in 情况说明. Chinese, with some English.

answer_accounts_question(question, accounts) -> AccountsAnswer | None — None when the question is not one
these helpers answer (the Q&A service then falls back to retrieval).
"""
from __future__ import annotations

import re
from decimal import Decimal

from pydantic import BaseModel, Field

from retrieval.normalize import normalize_text
from service.accounts.models import AccountsExtraction, AccountsRow, AccountsValue, NarrativeItem
from service.accounts.narrative import section_kind
from service.accounts.rounding import fmt
from service.models import SourceRef

HUNDRED = Decimal(100)


class AccountsAnswer(BaseModel):
    question: str
    kind: str  # amount | share | over_budget | under_budget
    answer_zh: str
    answer_en: str
    value: str | None = None
    unit: str | None = None
    citations: list[SourceRef] = Field(default_factory=list)
    data: list[dict] = Field(default_factory=list)

    @property
    def answer(self) -> str:
        return self.answer_zh


# English words -> the 科目 or total they name
_EN_SUBJECTS = [
    (r"health", "卫生健康支出"), (r"social security|employment", "社会保障和就业支出"),
    (r"housing", "住房保障支出"), (r"medical assistance|medical aid", "医疗救助"),
    (r"housing provident fund", "住房公积金"), (r"administrative operation", "行政运行"),
]
# the year's total expenditure: table 01's row, or 03's 合计 row where a report publishes 03 without 01
_YEAR_EXPENSE = (r"本年支出合计|(?<!项目)(?<!基本)支出合计|(?<=决算|年度|全年|本年|部门)支出总额|总支出|(?<!项目)(?:一共|总共|共计|全年)支出(?:了)?多少|"
                 r"total (expenditure|spending)|expenditure total")
_TOTALS = [
    # (pattern, (table, row name, side, column), label zh, label en)
    (r"收入总计|total (income|revenue) incl", ("01", "收入总计", "income", "收入/决算数"), "收入总计", "total income"),
    (r"支出总计", ("01", "支出总计", "expense", "支出/决算数"), "支出总计", "total expenditure incl. carry-over"),
    (r"本年收入合计|收入合计|总收入|total (income|revenue)|income total", ("01", "本年收入合计", "income", "收入/决算数"),
     "本年收入合计", "total income of the year"),
    (_YEAR_EXPENSE,
     ("01", "本年支出合计", "expense", "支出/决算数"), "本年支出合计", "total expenditure of the year"),
    (_YEAR_EXPENSE,
     ("03", "合计", None, "本年支出合计"), "本年支出合计", "total expenditure of the year"),
    (r"基本支出|basic expenditure", ("03", "合计", None, "基本支出"), "基本支出", "basic expenditure"),
    (r"项目支出(?!绩效)|project expenditure", ("03", "合计", None, "项目支出"), "项目支出", "project expenditure"),
    # before "appropriation": "general public budget appropriation expenditure" is table 05's, not 02's income
    (r"一般公共预算(?:财政拨款)?支出|general[- ](public )?budget(?! appropriation income)", ("05", "合计", None, "本年支出/小计"),
     "一般公共预算财政拨款支出", "general-budget appropriation expenditure"),
    # before 财政拨款收入: table 07's income is the government-fund part of it
    (r"政府性基金(?:预算)?(?:财政拨款)?收入|government[- ]fund (?:appropriation )?(?:income|revenue)",
     ("07", "合计", None, "本年收入"), "政府性基金预算财政拨款收入", "government-fund appropriation income"),
    (r"一般公共预算(?:财政)?拨款收入|general[- ](?:public )?budget appropriation income",
     ("01", "一般公共预算财政拨款收入", "income", "收入/决算数"), "一般公共预算财政拨款收入",
     "general-budget appropriation income"),
    (r"财政拨款收入|appropriation", ("02", "合计", None, "财政拨款收入"), "财政拨款收入", "appropriation income"),
    (r"人员经费|personnel", ("06", "人员经费合计", None, "决算数"), "人员经费", "personnel expenses"),
    (r"公用经费|public expense|office expense", ("06", "公用经费合计", None, "决算数"), "公用经费", "public expenses"),
    (r"政府性基金|government fund", ("07", "合计", None, "本年支出/小计"), "政府性基金预算财政拨款支出",
     "government-fund expenditure"),
    (r"三公|three public", ("09", None, None, "决算数/合计"), "“三公”经费支出", "三公 expenses"),
    # what is left at year end (年末 / 年底; table 01 prints 和 or 与); not 年初's, not the department's 结转结余率
    (r"(?<!年初)(?<!年初财政拨款)结转(?:和|与)?结余(?!率)|carr(?:y|ied)[- ]?over|carry-over",
     ("01", ("年末结转和结余", "年末结转与结余"), "expense", "支出/决算数"), "年末结转和结余", "carry-over at year end"),
]
_NARRATIVE_TOTALS = [
    (r"财政拨款收、?支总计|财政拨款收支|(?:total )?(?:appropriation|fiscal) income and expenditure", "fa_total", "财政拨款收支总计",
     "total appropriation income and expenditure"),
    (r"收、?支总计|total income and expenditure", "total", "收支总计", "total income and expenditure"),
    # reached only when a change on the previous year is asked (the tables answer the amount first)
    (r"一般公共预算财政拨款支出|general[- ](?:public )?budget", "gpb", "一般公共预算财政拨款支出",
     "general-budget appropriation expenditure"),
    (r"机关运行经费|operating expenses? of (the )?(organ|office)|(?:office|administrative|organ|agency) operating (?:expenses?|costs?|funds?)",
     "ops", "机关运行经费", "office operating expenses"),
    (r"政府采购|procurement", "procurement", "政府采购支出总额", "government procurement"),
]


def _initial_budget_answer(accounts: AccountsExtraction, question: str, q: str) -> AccountsAnswer | None:
    """年初预算 as 情况说明 states it: of a 科目 the question names (its 项 name), else the department total
    (一般公共预算财政拨款支出年初预算). The 决算 tables hold no 年初预算 column, so a table figure would be the
    决算数 — another figure than the one asked."""
    items = [x for x in accounts.narrative if x.kind == "initial_budget"]
    named = [x for x in items if x.subject and _name_in_question(q, re.sub(r"\((?:类|款|项)\)", "|", x.subject)
                                                                     .strip("|").split("|")[-1])]
    pick = named[0] if len(named) == 1 else next((x for x in items if x.subject is None), None) if not named else None
    if pick is None:
        return None
    label = pick.label if pick.subject is None else f"{pick.subject}年初预算"
    at = accounts.narrative.index(pick)
    done = next((x for x in accounts.narrative if x.kind == "completion" and x.base_index == at), None)
    if done is not None and re.search(r"百分之|百分比|比例|完成|占|share|percent|proportion|reach|%", q):
        # 完成年初预算的百分之几: the 决算 over the 年初预算, as the notes state it
        spent = accounts.narrative[done.numerator_index] if done.numerator_index is not None else None
        said_zh = f"，支出决算为{spent.raw}万元" if spent is not None else ""
        said_en = f", final {spent.raw} 万元" if spent is not None else ""
        refs = _distinct_refs([pick.ref, *([spent.ref] if spent is not None else []), done.ref])
        return AccountsAnswer(question=question, kind="completion",
                              answer_zh=f"{label}为{pick.raw}万元{said_zh}，完成年初预算的{done.raw}%（情况说明{pick.section}）。",
                              answer_en=f"{label}: {pick.raw} 万元{said_en}: {done.raw}% of the initial budget "
                                        f"(notes, section {pick.section}).",
                              value=done.raw, unit="%", citations=refs,
                              data=[{"label": label, "value": pick.raw}, {"label": "completion", "value": done.raw}])
    return AccountsAnswer(question=question, kind="initial_budget",
                          answer_zh=f"{label}为{pick.raw}万元（情况说明{pick.section}）。",
                          answer_en=f"{label}: {pick.raw} 万元 (notes, section {pick.section}).",
                          value=pick.raw, unit="万元", citations=[pick.ref],
                          data=[{"label": label, "value": pick.raw}])


def names_accounts_item(question: str) -> bool:
    """Whether the question names a total or an item these answers know (人员经费, 机关运行经费, 收入合计 …): the
    question router asks this module instead of keeping its own copy of the vocabulary."""
    q = _q(question)
    return any(re.search(p, q) for p, *_ in _TOTALS) or any(re.search(p, q) for p, *_ in _NARRATIVE_TOTALS) or \
        bool(re.search(r"年初预算|initial budget", q) and not re.search(r"项目|project", q)) or \
        bool(re.search(r"spend|spent|expenditure|spending|(?<![a-z])pa(?:y|id)(?![a-z])|payment", q) and
             any(re.search(p, q) for p, _ in _EN_SUBJECTS))


def _named_totals(q: str) -> list[tuple]:
    """The totals the question names, in _TOTALS order, less one the question names only as where another
    sits (基本支出里的公用经费, 支出中的人员经费): that one asks the part."""
    hits = [(m, t) for t in _TOTALS if (m := re.search(t[0], q))]
    inner = [t for m, t in hits if any(m2.start() >= m.end() and re.fullmatch(r"\s*(?:里|中|当中|之中|里面)的?|\s*其中", q[m.end():m2.start()])
                                       for m2, _ in hits)]
    return [t for _, t in hits if t not in inner]


def _q(question: str) -> str:
    return normalize_text(question).lower()


def _row_value(acc: AccountsExtraction, spec) -> tuple[AccountsRow, AccountsValue] | None:
    tid, name, side, col = spec
    t = acc.table(tid)
    if t is None or not t.rows:
        return None
    names = (name,) if isinstance(name, str) else name  # a row some templates spell two ways
    row = t.rows[0] if name is None else next((r for r in t.rows if r.name in names and (side is None or r.side == side)), None)
    if row is None:
        return None
    v = row.value_obj(col)
    return (row, v) if v is not None and v.value is not None else None


def _name_in_question(q: str, name: str) -> bool:
    if not name or len(name) < 2:
        return False
    if name in q:
        return True
    stem = name[:-2] if name.endswith("支出") else None
    return bool(stem and len(stem) >= 2 and stem in q)


def _match_subject(acc: AccountsExtraction, q: str) -> AccountsRow | None:
    """The 功能分类 row the question names (longest name wins; codes also match), from 03 (all funds)
    or, failing that, 05."""
    # the department the question names is no 科目: 市卫生健康委员会…支出总额 asks the total, not 卫生健康支出
    from service.qa.linking import departments_in

    for _, (a, e) in departments_in(q):
        q = q[:a] + " " * (e - a) + q[e:]
    rest = q
    for pat, name in sorted(_EN_SUBJECTS, key=lambda x: -len(x[0])):  # "housing provident fund" before "housing"
        if re.search(pat, rest):
            q = q + name
            rest = re.sub(pat, " ", rest)
    q = q.replace("社保", "社会保障")  # 社保和就业类支出
    best: tuple[int, AccountsRow] | None = None
    for tid in ("03", "05", "02"):
        t = acc.table(tid)
        if t is None:
            continue
        for r in t.rows:
            if not r.code:
                continue
            if re.search(rf"(?<!\d){r.code}(?!\d)", q):
                return r
            if _name_in_question(q, r.name):
                score = len(r.name) * 10 - len(r.code)  # longer name first; 类 before its same-named 项
                if best is None or score > best[0]:
                    best = (score, r)
        if best is not None:
            return best[1]
    return None


def _economic_subject(acc: AccountsExtraction, q: str) -> AccountsRow | None:
    t = acc.table("06")
    if t is None:
        return None
    cands = [r for r in t.rows if r.code and r.name in q]
    return max(cands, key=lambda r: len(r.name)) if cands else None


def _year_ok(acc: AccountsExtraction, q: str) -> bool:
    m = re.search(r"(20\d\d)\s*年", q) or re.search(r"\b(20\d\d)\b", q)
    return m is None or acc.year is None or int(m.group(1)) == acc.year


def _budget_pairs(acc: AccountsExtraction) -> list[dict]:
    """(科目, 年初预算, 决算) per 项 from 第三部分 五(三) 具体情况; 决算 from table 05 when it maps."""
    items = acc.narrative
    t05 = acc.table("05")
    out = []
    by_subject: dict[str, dict] = {}
    for it in items:
        if section_kind(it.section_title) != "gpb" or not it.subject:
            continue
        d = by_subject.setdefault(it.subject, {"subject": it.subject, "refs": []})
        if it.kind == "initial_budget":
            d["budget"], d["budget_raw"] = it.value, it.raw
            d["refs"].append(it.ref)
        elif it.kind == "amount":
            d["final"], d["final_raw"] = it.value, it.raw
            d["refs"].append(it.ref)
    from service.accounts.checks import _subject_row
    for d in by_subject.values():
        if "budget" not in d or "final" not in d:
            continue
        row = _subject_row(t05, d["subject"])
        if row is not None and row.value_obj("本年支出/小计") is not None:
            v = row.value_obj("本年支出/小计")
            d["final"], d["final_raw"], d["code"] = v.value, v.raw, row.code
            d["refs"].append(v.ref)
        d["name"] = re.findall(r"([^()]+)\(项\)", d["subject"])[-1] if "(项)" in d["subject"] else d["subject"]
        out.append(d)
    return out


def _over_under(acc: AccountsExtraction, question: str, over: bool) -> AccountsAnswer | None:
    pairs = _budget_pairs(acc)
    if not pairs:
        return None
    hits = [p for p in pairs if (p["final"] > p["budget"] if over else p["final"] < p["budget"])]
    word_zh = "超过" if over else "低于"
    lines_zh, lines_en, data, cites = [], [], [], []
    for p in hits:
        rate = f"，完成{fmt(p['final'] / p['budget'] * HUNDRED)}%" if p["budget"] else "（年初未安排预算）"
        lines_zh.append(f"{p.get('code', '')} {p['name']}：年初预算{p['budget_raw']}万元，决算{p['final_raw']}万元{rate}")
        lines_en.append(f"{p.get('code', '')} {p['name']}: initial budget {p['budget_raw']}, final {p['final_raw']} (万元)")
        data.append({"code": p.get("code"), "name": p["name"], "subject": p["subject"], "initial_budget": p["budget_raw"],
                     "final": p["final_raw"]})
        cites.extend(p["refs"])
    if hits:
        zh = f"决算数{word_zh}年初预算的科目共{len(hits)}个：" + "；".join(s.strip() for s in lines_zh) + "。"
        en = f"{len(hits)} items {'exceeded' if over else 'fell below'} the initial budget: " + "; ".join(
            s.strip() for s in lines_en) + "."
    else:
        zh = f"情况说明列出的{len(pairs)}个科目中，没有决算数{word_zh}年初预算的科目。"
        en = f"None of the {len(pairs)} items listed {'exceeded' if over else 'fell below'} the initial budget."
    return AccountsAnswer(question=question, kind="over_budget" if over else "under_budget", answer_zh=zh,
                          answer_en=en, value=str(len(hits)), unit="个", citations=cites, data=data)


def _amount_answer(question: str, label_zh: str, label_en: str, row: AccountsRow, v: AccountsValue, tid: str,
                   extra_zh: str = "", extra_en: str = "", cites: list[SourceRef] | None = None) -> AccountsAnswer:
    code = f"（{row.code}）" if row.code else ""
    zh = f"{label_zh}{code}决算数为{v.raw}万元（公开{tid}表）{extra_zh}。"
    en = f"{label_en}{' ' + row.code if row.code else ''}: {v.raw} 万元 (table {tid}){extra_en}."
    return AccountsAnswer(question=question, kind="amount", answer_zh=zh, answer_en=en, value=v.raw, unit="万元",
                          citations=[v.ref, *(cites or [])],
                          data=[{"table": tid, "code": row.code, "name": row.name, "value": v.raw}])


def _share_answer(acc: AccountsExtraction, question: str, q: str) -> AccountsAnswer | None:
    t03 = acc.table("03")
    total = t03.total_row() if t03 else None
    base = total.value_obj("本年支出合计") if total else None
    if base is None or not base.value:
        return None
    num_v, label = None, None
    for pat, col, lab in ((r"基本支出|basic", "基本支出", "基本支出"), (r"项目支出|project", "项目支出", "项目支出")):
        if re.search(pat, q):
            num_v, label = total.value_obj(col), lab
            break
    if num_v is None:
        row = _match_subject(acc, q)
        if row is not None and row in t03.rows:
            num_v, label = row.value_obj("本年支出合计"), row.name
    if num_v is None or num_v.value is None:
        return None
    share = num_v.value / base.value * HUNDRED
    stated = [it for it in acc.narrative if it.kind == "share" and it.numerator_label
              and (label in it.numerator_label or it.numerator_label.replace("(类)", "") in label)]
    def base_words(it: NarrativeItem) -> str:
        if it.base_label:
            return it.base_label.rstrip("的")
        return {"gpb": "一般公共预算财政拨款支出", "expense": "支出合计", "income": "收入合计"}.get(
            section_kind(it.section_title), "合计")
    extra_zh = "".join(f"；情况说明（{it.section}）称占{base_words(it)}的{it.raw}%" for it in stated[:1])
    zh = f"{label}{num_v.raw}万元，占本年支出合计{base.raw}万元的{fmt(share)}%（公开03表）{extra_zh}。"
    en = f"{label}: {num_v.raw} of {base.raw} 万元 total expenditure = {fmt(share)}% (table 03)" + (
        f"; the notes state {stated[0].raw}% of {base_words(stated[0])}" if stated else "") + "."
    return AccountsAnswer(question=question, kind="share", answer_zh=zh, answer_en=en, value=fmt(share), unit="%",
                          citations=[num_v.ref, base.ref, *[it.ref for it in stated[:1]]],
                          data=[{"numerator": num_v.raw, "base": base.raw, "share": fmt(share)}])


_YOY_Q = re.compile(r"上年|上一年|去年|同比|增加|减少|增长|下降|增减|变化|变动|降幅|增幅|涨幅|previous year|last year|year[- ]on[- ]year|"
                    r"increase|decrease|change|rise|fall|drop", re.I)


def _yoy_of(accounts: AccountsExtraction, amount: NarrativeItem) -> list[NarrativeItem]:
    """The year-on-year figures the 情况说明 states for an amount: those that name it as their numerator, else
    those in the same section and subsection that follow it before the next amount."""
    items = accounts.narrative
    at = items.index(amount)
    named = [x for x in items if x.kind in ("yoy_amount", "yoy_rate") and x.numerator_index == at]
    if named:
        return named
    out = []
    for x in items[at + 1:]:
        if x.section != amount.section or x.subsection != amount.subsection or x.kind == "amount":
            break
        if x.kind in ("yoy_amount", "yoy_rate"):
            out.append(x)
    return out


def _distinct_refs(refs: list[SourceRef]) -> list[SourceRef]:
    """A quote another one on the same line already contains adds nothing to the evidence."""
    return [r for i, r in enumerate(refs)
            if not any(j != i and o.page == r.page and o.line_start == r.line_start and r.quote in o.quote
                       and (r.quote != o.quote or j < i) for j, o in enumerate(refs))]


def _narrative_answer(accounts: AccountsExtraction, question: str, q: str) -> AccountsAnswer | None:
    """A total the 情况说明 states in prose (机关运行经费, 政府采购, 收支总计), with its change on the previous
    year when the question asks it."""
    for pat, kind, lab_zh, lab_en in _NARRATIVE_TOTALS:
        if re.search(pat, q):
            items = [x for x in accounts.narrative if x.kind == "amount" and section_kind(x.section_title) == kind]
            it = items[0] if items else None
            if len(items) > 1:
                # a part the question names (政府采购服务支出 of 政府采购支出总额): the item whose own words it uses
                qx = q + "".join(zh for en, zh in (("service", "服务"), ("goods", "货物"), ("small and medium", "中小企业"),
                                                   ("micro", "小微企业")) if en in q.lower())

                def named(x) -> int:
                    own = re.sub(r"支出|总额|金额|合同", "", x.label)
                    return sum(1 for i in range(len(own) - 1) if own[i:i + 2] in qx and own[i:i + 2] not in lab_zh)

                best = max(items, key=named)
                if named(best) > 0:
                    it = best
                    lab_zh = lab_en = it.label  # say which part is answered
            if it is not None and _YOY_Q.search(q):
                yoy = _yoy_of(accounts, it)
                if yoy:
                    said_zh = "，".join(("比上年增加" if x.direction == "increase" else "比上年减少") + x.raw + x.unit
                                       if x.kind == "yoy_amount" else
                                       ("增长" if x.direction == "increase" else "下降") + x.raw + x.unit for x in yoy)
                    said_en = ", ".join(("up " if x.direction == "increase" else "down ") + x.raw + " " + x.unit
                                        for x in yoy)
                    return AccountsAnswer(question=question, kind="yoy",
                                          answer_zh=f"{lab_zh}为{it.raw}万元，{said_zh}（情况说明{it.section}）。",
                                          answer_en=f"{lab_en}: {it.raw} 万元, {said_en} on the previous year "
                                                    f"(notes, section {it.section}).",
                                          value=yoy[0].raw, unit=yoy[0].unit,
                                          citations=_distinct_refs([it.ref, *[x.ref for x in yoy]]),
                                          data=[{"label": it.label, "value": it.raw},
                                                *[{"label": x.kind, "value": x.raw, "direction": x.direction}
                                                  for x in yoy]])
            if it is not None:
                return AccountsAnswer(question=question, kind="amount",
                                      answer_zh=f"{lab_zh}为{it.raw}万元（情况说明{it.section}）。",
                                      answer_en=f"{lab_en}: {it.raw} 万元 (notes, section {it.section}).",
                                      value=it.raw, unit="万元", citations=[it.ref],
                                      data=[{"label": it.label, "value": it.raw}])
    return None


# the rest of the expenditure once basic expenditure is set aside is project expenditure (and the reverse)
_COMPLEMENT = ((re.compile(r"(?:除了|除去)?基本支出(?:以外|之外)的?(?:那部分|其他)?支出|apart from basic expenditure|other than basic expenditure", re.I),
                "项目支出"),
               (re.compile(r"(?:除了|除去)?项目支出(?:以外|之外)的?(?:那部分|其他)?支出|apart from project expenditure|other than project expenditure", re.I),
                "基本支出"))


def answer_accounts_question(question: str, accounts: AccountsExtraction) -> AccountsAnswer | None:
    for pat, other in _COMPLEMENT:
        question = pat.sub(other, question)
    q = _q(question)
    if not _year_ok(accounts, q):
        return None
    if re.search(r"超过?(了)?(年初)?预算|超预算|超出(年初)?预算|exceed|over (the )?(initial )?budget|above (the )?budget", q):
        return _over_under(accounts, question, over=True)
    if re.search(r"低于(年初)?预算|未完成(年初)?预算|below (the )?(initial )?budget|under (the )?budget|underspen", q):
        return _over_under(accounts, question, over=False)
    if _YOY_Q.search(q):  # a change on the previous year: the notes state it, the tables do not
        said = _narrative_answer(accounts, question, q)
        if said is not None:
            return said
    if re.search(r"年初预算|initial budget", q):  # before shares: 完成年初预算的百分之几 is not a share of a total
        ans = _initial_budget_answer(accounts, question, q)
        if ans is not None:
            return ans
    if re.search(r"占比|比重|比例|百分比|占.{0,12}多少|百分之|share|proportion|percentage|what percent", q):
        ans = _share_answer(accounts, question, q)
        if ans is not None:
            return ans
    # a bare item asked as a noun phrase (中原区医保局政府性基金预算收入, 医保局 社会保障和就业支出, the bureau's
    # government procurement of services?) asks its amount too
    bare = len(q) <= 80 and any(re.search(rf"(?:{pat})\s*(?:支出|金额|决算数?|数额|经费|total|amount|expenses?|expenditure|spending|costs?)?"
                                          rf"\s*(?:[(（][^()（）]{{0,12}}[)）])?\s*[？?]?$", q, re.I)
                                for pat, *_ in _TOTALS) or \
        len(q) <= 90 and not re.search(r"为什么|原因|如何|怎么|why|how (?!much)|reason|explain", q) and (
            any(re.search(p, q) for p, *_ in _NARRATIVE_TOTALS) or _match_subject(accounts, q) is not None)
    if not bare and not re.search(r"多少|几|金额|数额|决算数|决算|是否|有没有|有无|花没花|how much|what (was|is|were|are)|by what|amount|total|spend|spent|"
                                  r"final accounts", q):  # (Basic expenditure in …'s 2022 final accounts?)
        return None
    if re.search(r"年初预算|initial budget", q):
        ans = _initial_budget_answer(accounts, question, q)
        if ans is not None:
            return ans
    # a 科目 named in the question (功能分类), then the fixed totals, then 06 经济分类, then prose-only totals
    row = _match_subject(accounts, q)
    if row is not None:
        t03, t05 = accounts.table("03"), accounts.table("05")
        in03 = row if t03 is not None and row in t03.rows else None
        main = in03 or row
        tid = "03" if in03 else ("05" if t05 is not None and row in t05.rows else "02")
        col = "本年支出合计" if tid == "03" else ("本年支出/小计" if tid == "05" else "本年收入合计")
        v = main.value_obj(col)
        if v is not None and v.value is not None:
            extra_zh = extra_en = ""
            cites = []
            if tid == "03":
                b, p = main.value_obj("基本支出"), main.value_obj("项目支出")
                if b is not None and p is not None:
                    extra_zh += f"，其中基本支出{b.raw}万元、项目支出{p.raw}万元"
                    extra_en += f"; basic {b.raw}, project {p.raw}"
                row05 = t05.find(code=row.code) if t05 is not None and row.code else None
                if row05 is not None and row05.value_obj("本年支出/小计") is not None:
                    v5 = row05.value_obj("本年支出/小计")
                    extra_zh += f"；一般公共预算财政拨款支出{v5.raw}万元（公开05表）"
                    extra_en += f"; general-budget appropriation {v5.raw} (table 05)"
                    cites.append(v5.ref)
            return _amount_answer(question, row.name, row.name, main, v, tid, extra_zh, extra_en, cites)
    if _YOY_Q.search(q):
        said = _narrative_answer(accounts, question, q)
        if said is not None:
            return said
    for _, spec, lab_zh, lab_en in _named_totals(q):
        hit = _row_value(accounts, spec)
        if hit is not None:
            return _amount_answer(question, lab_zh, lab_en, hit[0], hit[1], spec[0])
    erow = _economic_subject(accounts, q)
    if erow is not None and erow.value_obj("决算数") is not None:
        return _amount_answer(question, erow.name, erow.name, erow, erow.value_obj("决算数"), "06")
    return _narrative_answer(accounts, question, q)
