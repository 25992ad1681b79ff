"""Operations over the structured store for everyday questions (pure).

A question is cut into its parts (two questions in one, or several figures asked of the same projects);
each part becomes a plan — which projects (named, or all in scope), which conditions (执行率低于, 得分低于,
等级为), which figures (budget, executed, execution rate, score, grade) and which operation (lookup,
count, sum, average, min/max/rank, compare, group by grade) — executed over the records the caller scoped
(department, year, document). Every figure the answer states comes with the stored line that prints it
(or, for an execution rate, the lines printing the executed amount and the budget it is computed from).
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from retrieval.normalize import normalize_text
from service.checks.numbers import normalize_grade
from service.models import SourceRef
from service.qa.units import to_wan
from service.qa.structured import (DEFAULT_PAGE_SIZE, ListItem, ProjectRecord, StructuredAnswer, _row, dedupe,
                                   execution_rate, in_wan, paged, printed_in_yuan)

def _d(value: Decimal | None, places: int = 2) -> str:
    """Two decimals at most, rounded half up as a person rounds (87.125 → 87.13), trailing zeros dropped."""
    if value is None:
        return "—"
    s = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


METRICS = ("budget", "executed", "rate", "total", "grade", "available", "unspent", "initial")
_LABEL = {"budget": ("全年预算数", "budget"), "executed": ("执行数", "executed"), "rate": ("预算执行率", "execution rate"),
          "total": ("自评得分", "self-evaluation score"), "grade": ("评价等级", "grade"),
          "available": ("到位数", "funds received"), "unspent": ("未执行数", "unspent amount"),
          "initial": ("年初预算数", "initial budget")}

_METRIC_WORDS = {
    "rate": r"执行率|执行进度|支出进度|(?:钱|资金|经费|预算)?花得(?:最|更|比较)?(?:慢|快)|(?:执行|支出|花钱)(?:得)?最(?:慢|快)|支出率|执行情况|(?:资金)?使用(?:率|进度)|(?:执行|花|用|支出)了?百分之多少|百分比|"
            r"(?:share|percentage|percent|proportion) of (?:the |its |their )?(?:\S+ ){0,6}?budget (?:was |were )?(?:executed|spent)|"
            r"预算执行(?=\s*(?:不到|低于|不足|少于|未达|超过|高于)\s*\d)|执行得(?:怎么样|怎样|如何|咋样)|(?:钱|资金|预算|经费)?(?:用|花|支出|执行|使用)(?:完|光|完毕)了?(?:吗|么|没|没有|与否)"
            r"|占预算的?(?:百分之几|百分之多少|多少|比例|比重)|百分之几|(?:钱|资金|预算|经费)?(?:花|用|执行|支出)(?:了|掉)?(?:多少|几成|百分之几)(?:的)?(?:比例|比重)|(?:花|用|执行|支出)(?:了|掉)?几成|(?:more|less|most|least) of (?:its|their|the) budget|(?:花|用|执行|支出)到了?\s*\d+(?:\.\d+)?\s*%"
            r"|execution rate|rate of execution|budget execution|execution progress|how far along|progress of (?:budget )?execution|spending progress"
            r"|executed\s+\w*\s*%|spent\s+\w*\s*%|fully spent|use up|used up|spen[dt] all"
            r"|spen[dt] (?:its|their|the) (?:whole|entire|full) budget"
            r"|(?:share|percentage|percent|proportion) of (?:the |its |their )?budgets? (?:did|was|were|has|had)\b[^?]{0,60}?\b(?:use|used|spend|spent|execute|executed)\b"
            r"|how much of (?:the |its |their )?(?:whole |full |entire |total )?budgets?\b[^?]{0,40}?\b(?:use|used|spend|spent|execute|executed)\b",
    "executed": r"how much(?! of (?:the |its |their )?budgets?\b)[^?]*\bused\b|执行数|执行金额|执行了多少|执行多少|实际执行|实际支出|实际支付|实际使用|支出了多少|花了|花掉|用掉|花费|用了多少|花钱|花的钱|"
                r"(?<!基本)(?<!项目)(?<!本年)(?<!年度)(?<!经费)支出(?=各|分别|多少|是多少|了?多少)|用了(?=各|分别)"
                r"|一共执行|共执行|执行的?(?:合计|总额|总和)|spen[dt](?! all)(?!\s+\w*\s*%)|executed amount|expenditure|(?:actual |the )?spending(?! rate)"
                r"|(?<!运行经费)(?<!经费)开支|花销|pa(?:id|ys?) out|disbursed|\bexecuted\b(?!\s+\w*\s*%)(?!\s+(?:more|less|most|least|all|\d)\b)|\bexecuted?\b(?=\s+\d)|(?<![预算])执行(?=\s*\d)|how much (?:less|more) did\b[^?]{0,80}?\b(?:execute|spend)\b",
    "budget": r"预算(?!执行)|调整后(?=\s*(?:的)?(?:是|变成了?|变为|为)?(?:多少|几|数))|调(?:整)?(?:到|为|成)了?(?=(?:多少|几))|安排(?:了|的)?(?:多少|资金|经费|钱)|(?<![花用])钱(?:最|更)?(?:多|少)(?!少)|budget(?!\s+execution)|"
              r"(?:most|least|more|less) money|计划投入|投入(?:了)?多少|allocated|allocation",
    "total": r"得分|分数|总分|多少分|几分|平均分|均分|(?<!自评)评分(?!表|标准|细则|办法)|打了?\d*分|评了?\d*分|(?<=[个项谁目])分(?=(?:更|最)?[高低多少])|score|scoring|points",
    "grade": r"等级|评级|评为|档次|等次|级别|评定结果|评价结果|graded|grade|rated|rating|\btier\b",
    # what of the budget was not spent (全年预算数 − 执行数): 没花完的钱, 还剩多少, left unspent
    "unspent": r"没(?:有)?(?:花|用)完的(?:钱|资金|预算)|还剩(?:下)?(?:多少|的)|剩(?:下|余)(?:多少|的钱|资金)|未执行(?:数|金额)|"
               # the gap between a project's own budget and what it executed (预算和执行差多少)
               r"预算(?:数)?(?:和|与|跟|同)(?:实际)?执行(?:数)?(?:之间)?(?:相)?差(?:了)?(?:多少|几|额)?|"
               r"预算(?:数)?比(?:实际)?执行(?:数)?多(?:了)?(?:多少)?|执行(?:数)?比预算(?:数)?少(?:了)?(?:多少)?|"
               r"(?:difference|gap) between (?:its |the )?budget and (?:its |the )?(?:amount )?(?:executed|spent|spending)|"
               r"left (?:unspent|over)|unspent (?:amount|money|funds?|budget)|how much[^?]{0,60}?\bunspent\b|"
               r"how much of [^?]{0,60}?budgets? (?:was|is|were|has been) (?:not|n't) (?:spent|used|executed)|"
               # the same gap the other way: how far spending went over the budget (超支了多少, exceed … by how much)
               r"超支(?:了)?(?:多少|几|的?金额|额)|超(?:出|过)(?:了)?预算(?:了)?(?:多少|几)|比预算(?:还)?多(?:出|花)?(?:了)?(?:多少|几)|"
               r"多(?:出|花)(?:了)?(?:多少|几)(?:钱)?|by how much[^?]{0,60}?\b(?:exceed\w*|overspen[dt]|go(?:ne)? over|went over)(?: (?:its|the|their) budgets?)?|"
               r"how much (?:did|does|has)[^?]{0,60}?\b(?:overspen[dt]|go over|exceed)|how much (?:over|above) (?:its |the |their )?budget|"
               r"over (?:its |the |their )?budget by how much",
    # 年初预算数: the budget set at the start of the year, before adjustments (the budget asked is the full-year one)
    "initial": r"年初(?:的)?(?:预算|安排|计划)(?:了|的)?(?:数|金额|资金|经费|多少(?:钱|资金)?|钱)?|年初数|初始预算|期初预算|"
               r"年初(?=\s*(?:是|为|有)?\s*(?:多少|几))|"
               r"original(?:ly)? budget(?:ed)?|initial(?:ly)? budget(?:ed)?|initial allocation|budget at the start of the year|"
               r"\binitial\b(?=[^?]{0,30}?\bbudgets?\b)",
    # 到位数: what of the budget actually arrived (資金到位)
    "available": r"到位|到账|(?:funds?|funding|money) (?:that )?(?:actually )?arrived|arrived",
}
_GRADES = {"优秀": "优", "优": "优", "良好": "良", "良": "良", "中等": "中", "合格": "中", "中": "中", "差": "差",
           "excellent": "优", "good": "良", "fair": "中", "poor": "差"}
_CMP_AT_MOST = r"不高于|不超过|不多于|至多|最多不超过|at most|≤|<="
_CMP_BELOW = _CMP_AT_MOST + r"|(?<!不)低于|不足|(?<!不)小于|(?<!不)少于|未达到?|不到|没有?达到|没有?到|不满|没满|" \
    r"did not reach|didn't reach|not reach(?:ed|ing)?|below|under|less than|lower than|<"
_CMP_ABOVE = r"(?<!不)高于|(?<!不)超过|大于|多于|above|over|more than|higher than|>"
_CMP_AT_LEAST = r"(?<![没未不有])达到|(?<![没未不有到])达(?!到)|不低于|不少于|至少|at least|(?<!not )(?<!n't )reach(?:ed|es)?(?: an?| the)?|≥|>="
_NUM = r"(\d+(?:\.\d+)?)"
_CN_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _cmp_op(word: str) -> str:
    """The comparison a word makes: 低于/below → lt, 达到/不低于/at least → ge, 高于/above → gt."""
    if re.fullmatch(_CMP_AT_MOST, word, re.I):
        return "le"
    if re.fullmatch(_CMP_BELOW, word, re.I):
        return "lt"
    return "ge" if re.fullmatch(_CMP_AT_LEAST, word, re.I) else "gt"


@dataclass
class Condition:
    metric: str  # rate | total | budget | executed | grade
    op: str  # lt | gt | eq
    value: Decimal | str | tuple

    def holds(self, r: ProjectRecord) -> bool:
        v = metric_value(r, self.metric)
        if v is None:
            return False
        if self.op == "eq":
            return v == self.value
        if self.op == "ne":  # 不是优 / not graded 优
            return v not in self.value if isinstance(self.value, tuple) else v != self.value
        if self.op == "in":
            return v in self.value
        if self.op in ("ge", "le"):
            return v >= self.value if self.op == "ge" else v <= self.value
        return v < self.value if self.op == "lt" else v > self.value

    def text(self, zh: bool) -> str:
        if self.metric == "grade":
            g = "、".join(self.value) if isinstance(self.value, tuple) else self.value
            return (f"评价等级不是{g}" if zh else f"grade not {g}") if self.op == "ne" else (f"评价等级为{g}" if zh else f"grade {g}")
        unit = "%" if self.metric == "rate" else ("分" if zh and self.metric == "total" else "")
        word = {"lt": ("低于", "below"), "gt": ("高于", "above"), "ge": ("不低于", "at least"), "le": ("不高于", "at most"),
                "eq": ("为", "of"), "ne": ("不为", "not")}[self.op][0 if zh else 1]
        return f"{_LABEL[self.metric][0 if zh else 1]}{word}{_d(self.value)}{unit}" if zh else \
            f"{_LABEL[self.metric][1]} {word} {_d(self.value)}{unit}"


@dataclass
class Part:
    text: str
    op: str = "lookup"  # lookup | list | count | sum | average | rank | compare | group
    metrics: list[str] = field(default_factory=list)
    nth: int | None = None  # rank: 第二高 / second largest — only that one of the ranking
    conditions: list[Condition] = field(default_factory=list)
    order: str = "desc"
    limit: int | None = None


def _base(f):
    """The budget a rate and an unspent amount are taken of: the adjusted one, else the initial (as
    service.checks.scheme.effective_rate takes it)."""
    return f.adjusted_budget or f.initial_budget


# the amounts a form prints as one figure of its funds block, and which field holds each
_FUNDS_FIELD = {"budget": "adjusted_budget", "executed": "executed", "available": "available", "initial": "initial_budget"}
_AMOUNT_METRICS = (*_FUNDS_FIELD, "unspent")


def _printed_note(r: ProjectRecord, metric: str, v, zh: bool) -> str:
    """For an amount a form printed in 元, the printed figure beside its 万元 reading (…（17789800元）), so the
    answer still states what the cited line carries."""
    if metric not in _AMOUNT_METRICS or v is None or not printed_in_yuan(r.evaluation):
        return ""
    return f"（{_d(v * 10000)}元）" if zh else f" ({_d(v * 10000)} 元)"


def metric_value(r: ProjectRecord, metric: str):
    """A record's figure; amounts in 万元 whatever unit its form printed, so that amounts of different forms
    compare, rank and add up."""
    v = _raw_value(r, metric)
    return in_wan(r.evaluation, v) if metric in _AMOUNT_METRICS else v


def _raw_value(r: ProjectRecord, metric: str):
    e = r.evaluation
    if metric in _FUNDS_FIELD:
        fig = getattr(e.funds, _FUNDS_FIELD[metric])
        return fig.value if fig else None
    if metric == "rate":
        return execution_rate(e)
    if metric == "total":
        return e.reported_total.value if e.reported_total else None
    if metric == "grade":
        return normalize_grade(e.reported_grade.text) if e.reported_grade else None
    if metric == "unspent":
        b = _base(e.funds)
        return b.value - e.funds.executed.value if b is not None and e.funds.executed is not None \
            and b.value is not None and e.funds.executed.value is not None else None
    return None


def split_parts(question: str) -> list[str]:
    """Two questions in one ("评了几个项目？分别得了多少分？") become two parts; one question stays one."""
    q = normalize_text(question)
    parts = [p.strip() for p in re.split(r"(?<=[?？;；])", q) if p.strip(" ?？;；")]
    return parts or [q]


_FOLLOW_UP = re.compile(r"^(?:那么?|那|and|what about|how about)?\s*(.{1,16}?)\s*(?:的呢|呢|怎么样|如何|\?|？)*\s*$", re.I)
_YEARS = re.compile(r"(?<!\d)(?:19|20)\d{2}\s*(?:年度|年)?")


def expand_follow_ups(question: str) -> list[str] | None:
    """A question and an elliptical follow-up about another year ("城乡医疗救助执行率是多少？2021年呢？") as
    whole questions (…执行率是多少？ and 2021年城乡医疗救助执行率是多少？), so each is scoped and answered — or
    refused, saying what is covered — on its own instead of the whole question being refused for one year.
    None when the question has no such follow-up."""
    parts = split_parts(question)
    if len(parts) < 2:
        return None
    first = parts[0]
    out = [first]
    for part in parts[1:]:
        m = _FOLLOW_UP.match(part)
        said = m.group(1).strip() if m else ""
        elliptical = part.rstrip("?？ ").endswith("呢") or re.match(r"(?:what|how) about", part, re.I)
        if not (m and elliptical and _YEARS.fullmatch(said)):
            out.append(part)
            continue
        base = _YEARS.sub("", first).strip()
        if re.search(r"[A-Za-z]{3,}", first):
            out.append(re.sub(r"\s*(?:in|for)?\s*[?？]?$", "", base) + f" in {said[:4]}?")
        else:
            out.append(said + base)
    return out if len(out) == len(parts) and out[1:] != parts[1:] else None


def _metrics(q: str) -> list[str]:
    found = [(hit.start(), hit.end(), m) for m, pat in _METRIC_WORDS.items() for hit in re.finditer(pat, q, re.I)
             if hit.end() > hit.start()]
    # a word inside another metric's phrase is that phrase's ("budget" in "share of the budget was executed");
    # every occurrence counts (年初预算和全年预算: the second 预算 is the full-year budget's own)
    found = [f for f in found if not any(o is not f and o[0] <= f[0] and f[1] <= o[1] and (o[1] - o[0]) > (f[1] - f[0])
                                         for o in found)]
    out = list(dict.fromkeys(m for _, _, m in sorted(found)))
    # 得分/等级 asked together or a grade filter: the score is what a grade rests on; keep both only if asked
    return out


# a grade named to be left out: 不是优, 没评上优, 未被评为优, not graded 优
NEGATED_GRADE = re.compile(r"(?:不是|不为|非|没(?:有)?(?:被)?评(?:上|为|成)|未(?:被)?评(?:上|为|成)|没能评上)\s*[“\"'「]?(?:优秀|良好|中等|优|良|中|差)|"
                           r"\bnot (?:been )?(?:graded|rated)|(?:wasn't|weren't|isn't|aren't) (?:graded|rated)", re.I)


# the ways a question names a grade it filters by or asks about (the grade is each pattern's first group that
# matched); one loop reads them all
_GRADE_PHRASES = tuple(re.compile(p, re.I) for p in (
    # 等级为良 / 被评为“中” / graded 良
    r"(?:等级[为是]?|(?:自评|评价)?结果[为是]|被?评(?:为|了|上了?|得|的是)|获评|定为|评级为|属于|"
    r"grade[ds]?(?: as)?|rated?(?: as)?)\s*[“\"'「]?(优秀|良好|中等|合格|优|良|中|差|excellent|good|fair|poor)",
    # 不是优的项目 / 非优: the grade a negation names (parse_part makes it a "ne" condition)
    r"(?:不是|不为|非)\s*[“\"'「]?(优秀|良好|中等|优|良|中|差)(?=的|等|[^\u4e00-\u9fff]|$)",
    # …是优秀吗 / 是良吧: a grade asked to be confirmed (a yes-or-no on a named project)
    r"(?<!不)是\s*[“\"']?(优秀|良好|中等|优|良|中|差)[”\"']?(?=\s*(?:[吗么嘛吧？?]|$))",
    # 得了优 / 拿了良 / how many 优 projects
    r"(?:得了?|拿了?|获得)\s*[“\"']?(优秀|良好|优|良|中等|差)(?=[的？?]|$|[^\u4e00-\u9fff])|(优秀|良好|优|良|中|差)\s+projects?\b",
    # 评良的项目 (not 评优率)
    r"评(优|良|中|差)(?=的|项目)",
    # 哪些项目是良 / 项目为优秀: the grade the projects are, ending the phrase (not 项目是中央…)
    r"项目(?:是|为)\s*[“\"'「]?(优秀|良好|中等|优|良|中|差)(?![\u4e00-\u9fff])",
))


def _grade_words(q: str) -> list[str]:
    out = []
    for pat in _GRADE_PHRASES:
        for m in pat.finditer(q):
            g = _GRADES[next(x for x in m.groups() if x).lower()]
            if g not in out:
                out.append(g)
    # 优秀等级的项目 / 良级项目: the grade before the word grade
    for m in re.finditer(r"(优秀|良好|中等|合格|优|良|中|差)(?:等级|等次|级)(?:的)?(?:项目)?", q):
        g = _GRADES[m.group(1)]
        if g not in out and not re.match(r"中(?:等级|级)", m.group(0)) or m.group(1) == "中等":
            out.append(g)
    # 良好的项目都有哪些: a two-character grade word before 的项目 is a grade (one character, 中的项目, is not)
    # and so is 优, 良 or 差 alone opening the question or a clause (良的项目有几个): 中 alone is "in", 不良 no grade
    for m in re.finditer(r"(优秀|良好|中等|合格)(?=的?项目)|(?:^|(?<=[，,。；;：:？?\s]))(优|良|差)(?=的项目)", q):
        g = _GRADES[m.group(1) or m.group(2)]
        if g not in out:
            out.append(g)
    # 优、良、中各有几个 / how many 优, 良 and 中 projects: two or more grade words in a list
    listed = re.search(r"((?:[优良中差]\s*(?:[、,，和及与]|and)\s*){1,3}[优良中差])(?:(?![\u4e00-\u9fff])|(?=[各等级项的个分]))", q) or \
        re.search(r"((?<![\u4e00-\u9fff])[优良中差]{2,4})(?=各|分别|等级|的?项目)", q)  # 优良中各几个: written without a mark
    if listed:
        for ch in re.findall(r"[优良中差]", listed.group(1)):
            if ch not in out:
                out.append(ch)
    # search-box wording: a grade alone before what is asked of it (良，几个 / 优 有哪些)
    m = re.match(r"\s*(优秀|良好|中等|优|良|中|差)\s*[，,]?\s*(?:的|级)?\s*(?:项目)?\s*[，,]?\s*(?:几个|多少|有哪些|哪些|数量|个数)", q)
    if m and _GRADES[m.group(1)] not in out:
        out.append(_GRADES[m.group(1)])
    # an English question names each grade on its own (graded 优 and how many 良): a grade character that
    # stands alone among Latin words is a grade
    if out and re.search(r"[a-z]{3}", q, re.I):
        for m in re.finditer(r"(?<![\u4e00-\u9fff])(优秀|良好|中等|优|良|中|差)(?![\u4e00-\u9fff])", q):
            g = _GRADES[m.group(1)]
            if g not in out:
                out.append(g)
    return out


_EN_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10}


def _limit(q: str) -> int | None:
    # normalize_text joins Latin and Chinese (which three中原区…projects): letters, not \b, bound an English word
    q = re.sub(r"(?<![a-z])(one|two|three|four|five|six|seven|eight|nine|ten)(?![a-z])",
               lambda m: str(_EN_NUM[m.group(1).lower()]), q, flags=re.I)
    m = re.search(r"(?:前|top\s*|最\S{0,4}的\s*|倒数|(?<![之以年月天日期])后|末)(\d+|[一二两三四五六七八九十])\s*(?:个|项|名|位|projects?)", q, re.I) \
        or re.search(r"(?:排名|排在)?前\s*(\d+|[一二两三四五六七八九十])(?![\d.%])", q) \
        or re.search(r"(\d+|[一二两三四五六七八九十])\s*(?:个|项)(?:项目)?", q) \
        or re.search(r"(?<![a-z])(?:top|which|the|first|last|bottom)\s*(\d+)(?![\d.%年])", q, re.I)
    if not m:
        return None
    tok = next(g for g in m.groups() if g)
    return int(tok) if tok.isdigit() else _CN_NUM.get(tok)


_CN_TENTHS = re.compile(r"([一二两三四五六七八九])成")
_CN_DIGITS = {**{k: v for k, v in _CN_NUM.items() if k != "十"}, "零": 0, "〇": 0}


def cn_number(text: str) -> str | None:
    """A Chinese numeral up to the thousands, with 点 decimals (九十八 → 98, 三十 → 30, 一百 → 100, 八十五点五 →
    85.5, 一千 → 1000); None when it is not one."""
    whole, _, frac = text.partition("点")
    total, cur = 0, None
    for ch in whole:
        if ch in _CN_DIGITS:
            cur = _CN_DIGITS[ch]
        elif ch in "十百千":
            unit = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (cur if cur is not None else 1) * unit
            cur = None
        else:
            return None
    total += cur or 0
    if not whole and not frac:
        return None
    if frac:
        if not all(ch in _CN_DIGITS for ch in frac):
            return None
        return f"{total}." + "".join(str(_CN_DIGITS[ch]) for ch in frac)
    return str(total)
# full marks: the self-score of a form is out of 100 (总分值 100)
# 没拿满分 / not full marks: below 100, not 100
_NOT_FULL_MARKS = re.compile(r"(?:没有?|未|不是)(?:拿|得|获得|拿到|得到)?(?:到)?满分|(?:not|didn't get|did not get|without) (?:a )?(?:full marks|perfect score)",
                             re.I)
_FULL_MARKS = re.compile(r"(?:自评|得分|得了|拿了|拿到|获得|打了)?(?:满分|一百分)|(?:got |scored |received )?(?:full marks|a perfect score)",
                         re.I)


_NOT_USED_UP = re.compile(r"(?:预算|资金|钱|经费)?(?:没有?|未)(?:全部)?(?:执行|用|花|支出|使用)(?:完|光|完毕)|"
                          r"(?:did not|didn't|not|never) (?:spend|use|execute) (?:all|the whole|the full|their whole|"
                          r"its whole|their full|its full|all of)(?: (?:their|its|the))? (?:budget|money|funds?)|underspen[dt]",
                          re.I)
# nothing spent at all: the executed amount is 0
_NOTHING_SPENT = re.compile(r"(?:一分钱|分文)(?:都|也)?(?:没有?|未)(?:花|用|支出|使用)|(?:没有?|未)(?:花|用|支出|使用)(?:过)?一分钱|"
                            r"spent nothing|nothing (?:was )?spent|spent zero|spent no money", re.I)
# …花完了吗 asks a figure (the rate), it does not filter by one
_USED_UP = re.compile(r"(?:预算|资金|钱|经费)?(?:全部|全都|都)?(?:执行|用|花|支出|使用)(?:完|光|完毕)(?!了?\s*(?:吗|么|嘛|没|没有|与否))(?:了)?")


def _numeral_or_as_is(m: re.Match, unit: str = "") -> str:
    """A regex match's Chinese numeral (group 1) as digits with `unit`, or the match unchanged if it is none."""
    n = cn_number(m.group(1))
    return m.group(0) if n is None else f"{n}{unit}"


def plain_figures(q: str) -> str:
    """Everyday figures as numbers: 六成 → 60%, 一半 → 50%, 满分 → 得分为100分, 预算全部执行完了 → 执行率达到100%,
    过千万 → 超过1000万元, 99 or more → 不低于99."""
    q = to_wan(q)  # 50000元, 两万块, 20 thousand yuan: the reports' 万元
    q = re.sub(r"(\d+(?:\.\d+)?)\s*%\s*execution\b(?!\s+rate)", r"\1% execution rate", q, flags=re.I)  # below 95% execution
    q = _NOTHING_SPENT.sub("执行数为0", q)
    q = re.sub(r"没(?:有)?(?:花|用)完的(?:钱|资金|预算)", "未执行金额", q)  # an amount asked, not a filter
    q = re.sub(r"(?<![超通经不以])[过上](?=\s*(?:\d|[一二两三四五六七八九十]?[百千]万))", "超过", q)
    q = re.sub(r"([一二两三四五六七八九])?千万(?:元)?", lambda m: f"{_CN_NUM[m.group(1)] if m.group(1) else 1}000万元", q)
    q = re.sub(r"([一二两三四五六七八九])?百万(?:元)?", lambda m: f"{_CN_NUM[m.group(1)] if m.group(1) else 1}00万元", q)
    q = re.sub(rf"{_NUM}\s*(%|万元|分|points?)?\s*(?<![a-z])or\s+(more|above|higher|over|less|below|lower|under)",
               lambda m: ("不低于" if m.group(3) in ("more", "above", "higher", "over") else "不高于") + m.group(1) + (m.group(2) or ""),
               q, flags=re.I)
    q = _NOT_USED_UP.sub("执行率低于100%", q)
    q = _USED_UP.sub("执行率达到100%", q)
    q = _CN_TENTHS.sub(lambda m: f"{_CN_NUM[m.group(1)] * 10}%", q)
    # 百分之三十 → 30%, 九十八分 → 98分, 一百万 → 100万: figures written in Chinese numerals
    q = re.sub(r"百分之([零〇一二两三四五六七八九十百点]+)", lambda m: _numeral_or_as_is(m, "%"), q)
    q = re.sub(r"([零〇一二两三四五六七八九十百点]{2,})(?=\s*(?:分|万元|万|元|个|项))", lambda m: _numeral_or_as_is(m), q)
    q = re.sub(r"一半|半数", "50%", q)
    q = _NOT_FULL_MARKS.sub("得分低于100分", q)
    # 没拿到100分 / 没得到90分: below it; 执行率不是0 / 花了钱的 / spent something: above nothing
    q = re.sub(r"(?:没|未)(?:有)?(?:拿到|得到|获得|达到)\s*(\d+(?:\.\d+)?)\s*分", r"得分低于\1分", q)
    q = re.sub(r"(执行率|执行数|执行进度)\s*不(?:是|为|等于)\s*0(?:\.0+)?\s*%?", r"\1高于0", q)
    q = re.sub(r"花了钱的|有支出的|spent (?:something|some money|any money)", "执行数高于0的", q, flags=re.I)
    return _FULL_MARKS.sub("得分为100分", q)


# spending above the budget, said with the budget's and the spending's own words (which then ask no figure)
_OVER_BUDGET_WORDS = re.compile(
    r"超出(?:了)?预算|超过(?:了)?预算|超预算|花(?:钱|的钱)?超(?:出|过)?(?:了)?预算|多于预算|(?:花(?:的)?钱)?比预算(?:还)?多|"
    r"(?:spen[dt]|execute[ds]?|used?) more than (?:(?:its|their|the) )?(?:whole |full |entire )?budget|"
    r"over (?:its|their|the) budget|exceed(?:ed|s|ing)? (?:(?:its|their|the) )?budget", re.I)
# …and in words of its own (超支, over-budget), where the budget word stays a figure asked
_OVER_BUDGET = re.compile(rf"{_OVER_BUDGET_WORDS.pattern}|超支|over[- ]?budget", re.I)
# a count asked (有几个, 多少个项目？, how many), not "几个项目" as the subject of a sum (残联几个项目预算一共多少)
_COUNT_ASKED = re.compile(r"(?:多少|几)个(?:项目)?\s*(?:[?？。，,]|$|是|有|呢|吗|啊)|(?:有|是|共|一共|总共)(?:多少|几)个|how many", re.I)


# a figure asked per group of the scope (各单位, 分别, each, per year): one figure per department or year named
_PER_GROUP = re.compile(r"各|分别|每个|每年|each|per |respectively", re.I)
# How many projects are there in 2019 and in 2023? asks each year's (or department's) count, as 各 does; not
# when it asks the total (in total, altogether)
HOW_MANY_EACH = re.compile(r"\bhow many\b(?!.*\b(?:in total|altogether|combined|together|overall)\b).*\band\b", re.I)


_NO_INITIAL = re.compile(r"年初(?:时)?(?:没有|没|未|无)(?:安排|编制|列|下达|做)?(?:预算|资金|钱)|年初预算(?:为|是)?(?:零|空|没有)|"
                         r"\b(?:no|zero|without (?:an? )?)\s*initial budget|initial budget (?:of |was |is |were )?(?:zero|nil|none)\b", re.I)


def parse_part(text: str) -> Part:
    q = plain_figures(normalize_text(text).lower())
    # normalize_text joins Latin to Chinese (how many中原区医疗保障局projects): the English patterns need the space
    q = re.sub(r"(?<=[a-z])(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])(?=[a-z])", " ", q)
    # "top two", "the three": numbers as digits for every pattern below ("which one is higher" stays)
    q = re.sub(r"(?<![a-z])(?:top|the|first|last|bottom)\s+(two|three|four|five|six|seven|eight|nine|ten)(?![a-z])",
               lambda m: m.group(0)[: -len(m.group(1))] + str(_EN_NUM[m.group(1)]), q)
    p = Part(text, metrics=_metrics(q))
    # conditions: 执行率低于30% / 得分低于85分 / 预算超过100万元
    for metric in ("rate", "total", "budget", "executed"):
        pat = _METRIC_WORDS[metric]
        hits = [(m.group(m.lastindex - 1), m.group(m.lastindex), m.end()) for m in re.finditer(
            rf"(?:{pat})[^\d。？?]{{0,8}}?({_CMP_BELOW}|{_CMP_ABOVE})\s*{_NUM}", q, re.I)]
        hits += [(m.group(1), m.group(2), m.end(2)) for m in re.finditer(
            rf"({_CMP_BELOW}|{_CMP_ABOVE}|{_CMP_AT_LEAST})(?:\s+an?)?\s*{_NUM}\s*(?:%|分)?\s*的?(?:{pat})", q, re.I)]
        hits += [(m.group(m.lastindex - 1), m.group(m.lastindex), m.end()) for m in re.finditer(
            rf"(?:{pat})[^\d。？?]{{0,6}}?({_CMP_AT_LEAST})\s*{_NUM}", q, re.I)]
        for word, num, end in hits:
            op = _cmp_op(word)
            # "spent less than 30% of the budget": a percentage of an amount is an execution rate
            m_ = "rate" if metric in ("budget", "executed") and re.match(r"\s*%", q[end:]) else metric
            cond = Condition(m_, op, Decimal(num))
            if not any(c.metric == cond.metric and c.op == cond.op and c.value == cond.value for c in p.conditions):
                p.conditions.append(cond)
    # 95分以上 / 90%以下 / 预算100万元以上: the figure first, the comparison after it
    for m in re.finditer(rf"(?<![\d.]){_NUM}\s*(分|%|万元|万|元)\s*(及以上|或以上|以上|及以下|或以下|以下)", q):
        metric = {"分": "total", "%": "rate"}.get(m.group(2)) or (
            "executed" if re.search(_METRIC_WORDS["executed"], q[:m.start()]) else "budget")
        op = "ge" if "上" in m.group(3) else ("le" if m.group(3)[0] in "及或" else "lt")
        cond = Condition(metric, op, Decimal(m.group(1)))
        if not any(c.metric == metric and c.value == cond.value for c in p.conditions):
            p.conditions.append(cond)
    # "executed more than 95% of their budget": a share of the budget is the execution rate
    for m in re.finditer(rf"(?:execute[ds]?|spen[dt]|used)\s+({_CMP_BELOW}|{_CMP_ABOVE}|{_CMP_AT_LEAST})\s*{_NUM}\s*%", q, re.I):
        op = _cmp_op(m.group(1))
        if not any(c.metric == "rate" and c.value == Decimal(m.group(2)) for c in p.conditions):
            p.conditions.append(Condition("rate", op, Decimal(m.group(2))))
    # 自评分在85以下 / 执行率在90以上: the figure without its unit, after the word that says what it is
    for metric in ("total", "rate"):
        for m in re.finditer(rf"(?:{_METRIC_WORDS[metric]})\s*(?:在|为|是)?\s*{_NUM}\s*(?:分|%)?\s*"
                             r"(及以上|或以上|以上|及以下|或以下|以下)", q, re.I):
            op = "ge" if "上" in m.group(2) else ("le" if m.group(2)[0] in "及或" else "lt")
            if not any(c.metric == metric and c.value == Decimal(m.group(1)) for c in p.conditions):
                p.conditions.append(Condition(metric, op, Decimal(m.group(1))))
    # a figure in 分 compared is a score whatever word asks it (自评不到95分, 低于90分的)
    for m in re.finditer(rf"({_CMP_BELOW}|{_CMP_ABOVE}|{_CMP_AT_LEAST})\s*{_NUM}\s*分", q, re.I):
        cond = Condition("total", _cmp_op(m.group(1)), Decimal(m.group(2)))
        if not any(c.metric == "total" and c.op == cond.op and c.value == cond.value for c in p.conditions):
            p.conditions.append(cond)
    # a range: 执行率在50%到90%之间 / between 50% and 90% / 预算在50万到100万之间 (an amount's range needs its unit)
    for metric, gap, unit, closing in (("rate", 6, r"(?:%|分)?", r"(?:%|分)?"), ("total", 6, r"(?:%|分)?", r"(?:%|分)?"),
                                       ("budget", 8, r"(?:万元|万)?", r"(?:万元|万)"),
                                       ("executed", 8, r"(?:万元|万)?", r"(?:万元|万)")):
        for m in re.finditer(rf"(?:{_METRIC_WORDS[metric]})\D{{0,{gap}}}?(?:在|介于|between)?\s*{_NUM}\s*{unit}\s*"
                             rf"(?:到|至|~|-|—|and|和|与)\s*{_NUM}\s*{closing}", q, re.I):
            p.conditions = [c for c in p.conditions if c.metric != metric]
            lo, hi = sorted((Decimal(m.group(1)), Decimal(m.group(2))))
            p.conditions += [Condition(metric, "ge", lo), Condition(metric, "le", hi)]
    # 执行率为0 / 执行率是100%: an exact figure narrows the set
    for m in re.finditer(rf"(?:{_METRIC_WORDS['rate']})\s*(?:为|是|等于|=|of)\s*{_NUM}\s*%?|"
                         rf"(?<![\d.]){_NUM}\s*%\s*(?:的)?(?:预算)?(?:execution rate|rate of execution|执行率)", q, re.I):
        at = m.start(1) if m.group(1) else m.start(2)
        if not re.search(rf"(?:{_CMP_BELOW}|{_CMP_ABOVE}|{_CMP_AT_LEAST})(?:\s+an?)?\s*$", q[:at], re.I):  # 不低于90%执行率: a threshold
            p.conditions.append(Condition("rate", "eq", Decimal(m.group(1) or m.group(2))))
    # 超出预算 / 超支 / spent more than their budget: spending above the budget is an execution rate above 100%
    if _OVER_BUDGET.search(q) and not any(c.metric == "rate" for c in p.conditions) and "unspent" not in p.metrics:
        p.conditions.append(Condition("rate", "gt", Decimal(100)))
        # the words of that phrase (花钱, 预算, spent, budget) ask no figure of their own
        rest = _OVER_BUDGET_WORDS.sub(" ", q)
        p.metrics = [m for m in p.metrics if m not in ("budget", "executed") or re.search(_METRIC_WORDS[m], rest, re.I)]
    # 执行数为0 / 预算是100万元: an exact amount narrows the set
    # (年初预算为0 / an initial budget of 0 is the initial budget's, not the full-year budget's: read first, and
    # its words are not read again as the budget's)
    initial_spans: list[tuple[int, int]] = []
    for metric in ("initial", "executed", "budget"):
        sep = r"为|是|等于|=|of" if metric == "initial" else r"为|是|等于|="
        for m in re.finditer(rf"(?:{_METRIC_WORDS[metric]})\s*(?:{sep})\s*{_NUM}\s*(?:万元)?(?![\d%]|\.\d)", q, re.I):
            if metric == "budget" and any(a < m.end() and m.start() < b for a, b in initial_spans):
                continue
            if metric == "initial":
                initial_spans.append(m.span())
            p.conditions.append(Condition(metric, "eq", Decimal(m.group(1))))
    # 年初没有安排预算 / 年初预算为零 / had no initial budget: an initial budget of 0 said in words
    if not any(c.metric == "initial" for c in p.conditions) and _NO_INITIAL.search(q):
        p.conditions.append(Condition("initial", "eq", Decimal(0)))
        p.metrics = [m for m in p.metrics if m not in ("budget", "initial")]
    # "总分90分却被评为良": a stated score narrows the set
    for m in re.finditer(rf"(?:总分|自评得分|自评|得分|得了|(?<![获取])得(?=\s*\d)|拿了|打了|获得了?)\s*(?:为|是)?\s*{_NUM}\s*分(?!\s*[及或]?以[上下])|"
                         rf"\bscored?\s+(?:of\s+|exactly\s+|a full\s+|a perfect\s+|full\s+)?{_NUM}"
                         rf"(?!\s*%|\.\d|\d)(?:\s*points)?", q, re.I):
        num = m.group(1) or m.group(2)
        if not re.search(rf"(?:{_CMP_BELOW}|{_CMP_ABOVE})\s*$", q[:m.start(1) if m.group(1) else m.start(2)], re.I):
            p.conditions.append(Condition("total", "eq", Decimal(num)))
    grades = _grade_words(q)
    group = bool(re.search(r"各有?几|各有?多少|分别有?几|各(?:个)?等级|按等级|每(?:一)?个等级|by grade|each grade", q, re.I)) and \
        (len(grades) > 1 or "等级" in q or "grade" in q) or \
        len(grades) > 1 and bool(re.search(r"几|多少|how many", q, re.I))  # how many 优, 良 and 中
    # 是优还是良 / 优还是良: the question asks which grade, it does not filter by one
    # and 什么等级 / what grade asks it too (我记得不是优，它什么等级: the grade asked, no filter)
    asks_which = bool(re.search(r"(?:优|良|中|差)(?:秀|好|等)?\s*还是|什么等级|哪(?:个|一)?等级|等级(?:是|为)?(?:什么|啥)|"
                                r"评(?:了|的|上了?)?(?:个|一个)?(?:啥|什么)(?!分)|what grade", q))
    if asks_which and "grade" not in p.metrics:
        p.metrics.append("grade")  # 是优还是良 names no grade word, but the grade is the figure asked
    if grades and not group and not asks_which:
        if NEGATED_GRADE.search(q):
            p.conditions.append(Condition("grade", "ne", grades[0] if len(grades) == 1 else tuple(grades)))
        else:
            p.conditions.append(Condition("grade", "eq", grades[0]) if len(grades) == 1 else
                                Condition("grade", "in", tuple(grades)))
    cond_metrics = {c.metric for c in p.conditions}
    # 预算和执行差多少: the gap is the unspent amount of each project asked, not a comparison of projects
    sans_gap = re.sub(_METRIC_WORDS["unspent"], " ", q, flags=re.I) if "unspent" in p.metrics else q
    gap_only = sans_gap != q and not re.search(r"(?:比|than)[^，,。？?]{0,30}?(?:少多少|多多少)|哪个|谁|which", sans_gap, re.I)
    if group:
        p.op = "group"
    elif re.search(r"平均|均值|average|mean", q, re.I):
        p.op = "average"
    elif re.search(r"合计|一共|总共|总计|加起来|加一块|加一起|加在一[块起]|合起来|加总|之和|总和|共计|总预算|预算总额|总执行数|执行总额|(?:实际支出|支出|执行|花费|花销)总额|in total|combined|altogether|"
                   r"(?<![追增])加一?下|相加|sum of|sum up|add(?:ed)? up|come to|together\W*$|total (?:\S+ )?(?:project )?(?:budget|executed|spending)", q, re.I) \
            and not _COUNT_ASKED.search(q):
        p.op = "sum"
    elif re.search(r"(?:比|than)[^，,。？?]{0,30}?(?:[少多高低]了?多少|less|more)|相差|差多少|差距|how much (?:less|more|lower|higher)|比较|对比|相比|比一比|哪个(?:更|的)?(?:(?!最)\S){0,4}?(?:高|低|多|少|大|小)|哪个[^，,。？?最]{0,10}?更(?:高|低|多|少|大|小|好|差)|谁(?:更)?(?:高|低|多|少)|compare|which (?:one )?(?:is|was|has|had) (?:higher|lower|more|less)|"
                   r"which\b[^?]{0,40}?\b(?:scored|got|received|spent|executed|had|has|is|was) (?:a )?(?:higher|lower|more|less|bigger|smaller|larger|better|worse)\b(?! than)", q, re.I):
        p.op = "lookup" if gap_only and not re.search(r"相差|差多少|差距|比较|对比|相比|比一比|compare", sans_gap, re.I) \
            else "compare"
    elif re.search(r"最慢|最快|最高|最低|最多|最少|最大|最小|最差|最好|排名|排序|垫底|倒数第|末位|"
                   r"(?:倒数|(?<![之以年月天日期])后|末)\s*(?:\d+|[一二两三四五六七八九十])\s*(?:名|位|个|项)|(?:排名?|得分|分数|评分)第一(?:名|位)?(?=的|是|$)|top-(?:scoring|ranked|rated)|highest-(?:scoring|rated)|best-scoring|(?:较|更)(?:低|高|少|多)(?:一些)?的?(?:是)?哪|第\s*(?:\d+|[二两三四五六七八九十])\s*(?:高|低|多|少|大|小|名|位)|前\s*(?:\d+|[一二两三四五六七八九十])\s*(?:个|名|项|位|的)|排(?:在)?前\s*(?:\d+|[一二两三四五六七八九十])|highest|lowest|largest|smallest|biggest|greatest|(?<!at )most|(?<!at )least|best|worst|top\s*\d|\btop (?:project|one)\b|rank", q, re.I):
        p.op = "rank"
        p.order = "asc" if re.search(r"最慢|最低|最少|最小|最差|垫底|倒数|末位|(?<![之以年月天日期])后\s*(?:\d+|[一二两三四五六七八九十])\s*(?:名|位)|(?:较|更)(?:低|少)|第\s*(?:\d+|[二两三四五六七八九十])\s*(?:低|少|小|慢)|"
                                     r"lowest|smallest|(?<!at )least|worst|bottom", q, re.I) else "desc"
        # "最高的项目" is the top one (with its ties); a plural (哪些, 排名, projects) without a number, five
        nth = re.search(r"(?:排名|排|倒数)?第\s*(\d+|[二两三四五六七八九十])\s*(?:高|低|多|少|大|小|名|位|慢|快)|(?:排名|排|倒数)第\s*(\d+|[二两三四五六七八九十])|"
                        r"(?<![a-z])(second|third|fourth|fifth)[- ](?:largest|highest|lowest|smallest|most|least|biggest|best|worst)", q, re.I)
        if nth:
            tok = nth.group(1) or nth.group(2) or nth.group(3).lower()
            p.nth = int(tok) if tok.isdigit() else _CN_NUM.get(tok) or {"second": 2, "third": 3, "fourth": 4, "fifth": 5}[tok]
        singular = re.search(r"(?:较|更)(?:低|高|少|多)(?:一些)?的?(?:是)?哪个|哪个[^，,。？?]{0,12}?(?:较|更)(?:低|高|少|多)", q)
        p.limit = (p.nth if p.nth else None) or (1 if singular else None) or _limit(q) or (1 if re.search(r"\bwhich (?:one|project)\b|\bwhich (?:had|has|is|was|got|scored)\b", q, re.I)
                                else 5 if re.search(r"哪些|哪几|列出|排名|排序|projects|\brank", q, re.I) else 1)
    elif re.search(r"(?<!哪)(?:几|多少)(?:个|项)(?:项目|(?![\u4e00-\u9fff]))|项目(?:个)?数(?:量|目)?(?:分别|各)?(?:是|为|有)?(?:多少|几)|项目总数|总项目数|"
                   r"项目(?:的)?(?:数量|个数|数)\s*[?？]?$|how many (?:\S+ )?projects|how many (?:\S+ )?project (?:forms?|records?|(?:self-)?evaluations?)|"
                   r"number of (?:\S+ ){0,3}?projects|projects? count|count of projects|"
                   r"\bcount (?:the |all )?(?:\S+ )?projects", q, re.I):
        p.op = "count"  # projects counted; "多少名退休人员" asks a figure a report states
    elif re.search(r"哪些|哪个|哪几个|什么项目|啥项目|列出|清单|which|list|(?:的|年度?)项目\s*[?？]?$", q, re.I) or p.conditions:
        p.op = "list"
    if any(c.metric == "rate" for c in p.conditions) and re.search(r"%\s*of (?:the |its |their )?budget", q):
        p.metrics = [m for m in p.metrics if m != "budget"]  # "95% of their budget" is the rate's, not a figure asked
    if p.op in ("list", "count"):  # the condition's figure is shown anyway; other figures asked are shown too
        p.metrics = [m for m in p.metrics if m not in cond_metrics]
    if "grade" in cond_metrics and p.op == "rank":
        p.metrics = [m for m in p.metrics if m != "grade"] or p.metrics  # 优秀等级项目中执行率最低: ranks by the rate
    return p


# ---------------------------------------------------------------------------------------------------------


def _fmt(r: ProjectRecord, metric: str, zh: bool) -> str:
    e = r.evaluation
    u = e.funds.unit or "万元"
    if metric in _FUNDS_FIELD:
        raw = getattr(e.funds, _FUNDS_FIELD[metric]).raw
        return f"{raw}{u}" if zh else f"{raw} {u}"
    if metric == "unspent":
        b, x = _base(e.funds), e.funds.executed
        gap = metric_value(r, "unspent")
        if gap is not None and gap < 0:  # spent more than the budget: the gap is the overspend, said as such
            return (f"为负，超支{_d(-gap)}{u}（执行数{x.raw}{u}−全年预算数{b.raw}{u}）" if zh else
                    f"negative: over budget by {_d(-gap)} {u} (executed {x.raw} − budget {b.raw} {u})")
        return (f"{_d(gap)}{u}（全年预算数{b.raw}{u}−执行数{x.raw}{u}）" if zh else
                f"{_d(gap)} {u} (budget {b.raw} − executed {x.raw} {u})")
    if metric == "rate":
        rate = execution_rate(e)
        b, x = _base(e.funds), e.funds.executed
        if b is not None and x is not None:
            return (f"{_d(rate)}%（执行数{x.raw}{u}÷全年预算数{b.raw}{u}）" if zh else
                    f"{_d(rate)}% (executed {x.raw} ÷ budget {b.raw} {u})")
        return f"{_d(rate)}%"
    if metric == "total":
        return f"{e.reported_total.raw}分" if zh else f"{e.reported_total.raw} points"
    if metric == "grade":
        g = metric_value(r, "grade") or e.reported_grade.text
        tot = f"（自评得分{e.reported_total.raw}分）" if zh and e.reported_total else \
            (f" (score {e.reported_total.raw})" if e.reported_total else "")
        return f"{g}{tot}"
    return "—"


def _refs(r: ProjectRecord, metric: str) -> list[SourceRef]:
    e, f = r.evaluation, r.evaluation.funds
    if metric in _FUNDS_FIELD:
        items = [getattr(f, _FUNDS_FIELD[metric])]
    elif metric == "rate":
        items = [f.executed, _base(f)]
    elif metric == "total":
        items = [e.reported_total]
    elif metric == "unspent":
        items = [_base(f), f.executed]
    else:
        items = [e.reported_total, e.reported_grade]
    return [x.ref for x in items if x is not None and getattr(x, "ref", None) is not None]


def _has(r: ProjectRecord, metric: str) -> bool:
    return metric_value(r, metric) is not None


@dataclass
class _Out:
    texts: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    refs: list[tuple[SourceRef, str | None]] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    # membership by hash: testing the lists (pydantic __eq__ per element) was quadratic in a 1000-project answer
    _cited: set = field(default_factory=set)
    _rowed: set = field(default_factory=set)

    def cite(self, r: ProjectRecord, metrics: list[str]) -> None:
        for m in metrics:
            for ref in _refs(r, m):
                if (ref, r.filename) not in self._cited:
                    self._cited.add((ref, r.filename))
                    self.refs.append((ref, r.filename))

    def row(self, r: ProjectRecord, **values) -> None:
        """The same row the other structured answers give (project, figures, grade), plus the values used."""
        name = r.evaluation.project
        if (name, r.doc_id) not in self._rowed:
            self._rowed.add((name, r.doc_id))
            self.rows.append(_row(r, **{f"value_{k}": (_d(v) if isinstance(v, Decimal) else v) for k, v in values.items()}))


# names that several projects of the scope share (one fund name in three departments): an answer says whose
_SHARED: ContextVar[dict[str, bool]] = ContextVar("jixiao_shared_names", default={})


def record_key(r: ProjectRecord) -> str:
    """A project's key in `groups_of` (beside its document's): for a group the project's own form decides."""
    return f"{r.doc_id}#{r.evaluation.unit_id}"


def _group_of(r: ProjectRecord, groups_of: dict[str, str], zh: bool) -> str:
    return groups_of.get(record_key(r)) or groups_of.get(r.doc_id) or _UNNAMED[zh]


def _name(r: ProjectRecord) -> str:
    e = r.evaluation
    by_department = _SHARED.get().get(e.project)
    if by_department is None:
        return e.project
    who = e.department if by_department and e.department else (f"{e.year}" if e.year else "")
    return f"{e.project}（{who}）" if who else e.project


def _shared_names(records: list[ProjectRecord]) -> dict[str, bool]:
    """Names borne by several records, each with how to tell them apart: by department when theirs differ,
    else by year."""
    seen: dict[str, list[ProjectRecord]] = {}
    for r in records:
        seen.setdefault(r.evaluation.project, []).append(r)
    return {n: len({r.evaluation.department for r in rs}) == len(rs) and all(r.evaluation.department for r in rs)
            for n, rs in seen.items() if len(rs) > 1}


def _join(items: list[str], zh: bool) -> str:
    return ("；" if zh else "; ").join(items)


TERMS_SHOWN = 20  # terms of a sum or an average written out and cited
_UNNAMED = {True: "未识别单位的报告", False: "reports naming no department"}


def _lazy_item(r: ProjectRecord, text: str, show: list[str]) -> ListItem:
    """A list line whose rows and citations are made when its page is shown (a list of thousands shows 20)."""
    made: list[_Out] = []

    def out() -> _Out:
        if not made:
            one = _Out()
            one.row(r, **{m: metric_value(r, m) for m in show if _has(r, m)})
            one.cite(r, [m for m in show if _has(r, m)])
            made.append(one)
        return made[0]
    return ListItem(text, lambda: out().rows, lambda: out().refs)


def execute(parts: list[Part], records: list[ProjectRecord], named: list[ProjectRecord], *, zh: bool,
            scope_label: str = "", whole_scope: bool = False,
            groups_of: dict[str, str] | None = None, page: int = 1,
            page_size: int | None = DEFAULT_PAGE_SIZE, universe: list[ProjectRecord] | None = None) -> StructuredAnswer | None:
    """Answer every part over `records` (already scoped); `named` are the projects the question names, in
    the order it names them. `whole_scope`: the question names a department, so "几个项目" counts its
    projects (without one, "how many projects" usually asks a number a report states in prose).
    `groups_of`: doc_id → department, when the question names several departments (各有几个 per department).
    `universe`: the whole scope when `records` are the part of it the question's SQL selected
    (service.qa.pushdown): names shared with its other projects are still told apart.
    None when no part is an operation over the store."""
    records = dedupe(records)
    token = _SHARED.set(_shared_names(records if universe is None else dedupe(universe)))
    try:
        return _execute(parts, records, named, zh=zh, scope_label=scope_label, whole_scope=whole_scope,
                        groups_of=groups_of, page=page, page_size=page_size)
    finally:
        _SHARED.reset(token)


def _execute(parts: list[Part], records: list[ProjectRecord], named: list[ProjectRecord], *, zh: bool,
             scope_label: str, whole_scope: bool, groups_of: dict[str, str] | None, page: int,
             page_size: int | None) -> StructuredAnswer | None:
    out = _Out()
    prev: list[ProjectRecord] | None = None
    where = scope_label
    for p in parts:
        if p.op in ("sum", "average") and len(named) == 1 and not p.conditions:
            p = replace(p, op="lookup")  # 就业专项资金总预算是多少: one project's figure, not a sum of one
        base = named or (prev if prev is not None and not p.conditions and p.op == "lookup" else records)
        sel = [r for r in base if all(c.holds(r) for c in p.conditions)]
        metrics = [m for m in p.metrics if m in METRICS]
        cond_txt = "、".join(c.text(zh) for c in p.conditions) if zh else " and ".join(c.text(zh) for c in p.conditions)
        if p.op == "lookup":
            if not metrics or not base:
                return None
            if not named and prev is None and not (whole_scope and len(base) <= 10):
                return None  # a figure of nothing in particular (a department's few projects are particular)
            items = []
            for r in sel:
                avail = [m for m in metrics if _has(r, m)]
                if not avail:
                    items.append(f"{_name(r)}未填报{'、'.join(_LABEL[m][0] for m in metrics)}" if zh else
                                 f"{_name(r)} does not report its {', '.join(_LABEL[m][1] for m in metrics)}")
                    continue
                bits = [f"{_LABEL[m][0]}{_fmt(r, m, zh)}" if zh else f"{_LABEL[m][1]} {_fmt(r, m, zh)}" for m in avail]
                items.append((f"{_name(r)}的" + "，".join(bits)) if zh else f"{_name(r)}: " + ", ".join(bits))
                out.row(r, **{m: metric_value(r, m) for m in avail})
                out.cite(r, avail)
            out.texts.append(_join(items, zh) + ("。" if zh else "."))
            out.routes.append("lookup")
        elif p.op in ("list", "count"):
            # counting a department's projects needs a "have / evaluated" question: "对多少个项目开展了预算绩效管理"
            # asks a number the report states, not how many project records we hold
            asks_count = re.search(r"(?:有|评了?|评价了?|自评了?|包含|包括|列了?|报了?|上报了?|申报了?|一共|总共|共)\s*"
                                   r"(?:几|多少)|项目(?:个)?数|项目总数|总项目数|how many (?:\S+ ){0,2}?projects (?:are|were|did|does|do|has|have)|"
                                   r"how many (?:\S+ )?project (?:forms?|records?|(?:self-)?evaluations?)|"
                                   r"number of (?:\S+ ){0,3}?projects|\bcount (?:the |all )?(?:\S+ )?projects", p.text, re.I)
            # a department named: its projects are particular, so listing them (with the figures asked) is an
            # operation over the store; with no department, "哪些项目" alone is the catalogue (list_projects)
            if not p.conditions and not (p.op == "count" and (named or whole_scope and asks_count)) \
                    and not (p.op == "list" and whole_scope):
                return None
            # the figures asked, then the figure each condition tests (a project's place in the list rests on it:
            # 实际支出超过了预算 shows the executed amount and the rate above 100%)
            show = list(dict.fromkeys([m for m in metrics if m not in {c.metric for c in p.conditions}] +
                                      [c.metric for c in p.conditions if c.metric in METRICS] or ["total"]))
            if groups_of and p.op == "count" and (_PER_GROUP.search(p.text) or HOW_MANY_EACH.search(p.text)):
                # 高新区人社局和中原区医保局各有几个项目: one count per department
                by: dict[str, list[ProjectRecord]] = {g: [] for g in dict.fromkeys(groups_of.values())}
                for r in sel:
                    by.setdefault(_group_of(r, groups_of, zh), []).append(r)
                items = []
                for g, rs in by.items():
                    members = ("、" if zh else "; ").join(
                        f"{_name(r)}（{'，'.join(_fmt(r, m, zh) for m in show if _has(r, m))}）" if zh else
                        f"{_name(r)} ({', '.join(_fmt(r, m, zh) for m in show if _has(r, m))})" for r in rs)
                    items.append(f"{g}{len(rs)}个" + (f"：{members}" if rs else "") if zh else
                                 f"{g}: {len(rs)}" + (f" ({members})" if rs else ""))
                    for r in rs:
                        out.row(r, **{m: metric_value(r, m) for m in show if _has(r, m)})
                        out.cite(r, [m for m in show if _has(r, m)])
                per_year = all(re.fullmatch(r"(?:19|20)\d\d年?", g) for g in by)
                out.texts.append((f"{cond_txt + '的' if cond_txt else ''}项目数：" if zh else
                                  f"Projects per {'year' if per_year else 'department'}: ")
                                 + _join(items, zh) + ("。" if zh else "."))
                out.routes.append("count_by_department")
                prev = sel
                continue
            items = [f"{_name(r)}（{'，'.join(_fmt(r, m, zh) for m in show if _has(r, m))}）" if zh else
                     f"{_name(r)} ({', '.join(_fmt(r, m, zh) for m in show if _has(r, m))})" for r in sel]
            head = (f"{where}{cond_txt + '的' if cond_txt else ''}项目共{len(sel)}个" if zh else
                    f"{len(sel)} projects{' (' + where + ')' if where else ''}{' with ' + cond_txt if cond_txt else ''}")
            if len(parts) == 1 and p.op == "list" and sel:
                # a list on its own is paged: one item per line, the rows and citations of the shown items only
                listed = [_lazy_item(r, text, show) for r, text in zip(sel, items)]
                return paged(head, listed, "structured:list", zh, page, page_size)
            for r in sel:
                out.row(r, **{m: metric_value(r, m) for m in show if _has(r, m)})
                out.cite(r, [m for m in show if _has(r, m)])
            if not sel:
                out.texts.append(f"{where}没有{cond_txt}的项目。" if zh else f"No project{' (' + where + ')' if where else ''} has {cond_txt}.")
            else:
                out.texts.append(head + ("：" if zh else ": ") + _join(items, zh) + ("。" if zh else "."))
            out.routes.append(p.op)
        elif p.op == "group":
            groups: dict[str, list[ProjectRecord]] = {}
            for r in sel:
                g = metric_value(r, "grade")
                if g:
                    groups.setdefault(g, []).append(r)
            wanted = _grade_words(normalize_text(p.text)) or ["优", "良", "中", "差"]
            items = []
            for g in wanted:
                rs = groups.get(g, [])
                names = "、".join(f"{_name(r)}（{r.evaluation.reported_total.raw if r.evaluation.reported_total else '—'}）" for r in rs)
                items.append(f"{g}{len(rs)}个" + (f"：{names}" if rs else "") if zh else f"{g}: {len(rs)}" + (f" ({names})" if rs else ""))
                for r in rs:
                    out.row(r, grade=g, total=metric_value(r, "total"))
                    out.cite(r, ["total"])
            total = sum(len(v) for v in groups.values())
            out.texts.append((f"{where}共{total}个评定了等级的项目，其中" if zh else f"{total} graded projects{' (' + where + ')' if where else ''}: ")
                             + _join(items, zh) + ("。" if zh else "."))
            out.routes.append("group")
        elif p.op in ("sum", "average"):
            m = next((x for x in metrics if x != "grade"), None)
            if m is None:
                return None
            have = [r for r in sel if _has(r, m)]
            if not have:
                return None
            vals = [metric_value(r, m) for r in have]
            total = sum(vals, Decimal(0))
            unit = "%" if m == "rate" else ("分" if m == "total" and zh else "万元" if m in _AMOUNT_METRICS else "")
            # every term is data (rows); the text and the citations show the first TERMS_SHOWN, then "等N个":
            # a province's average over 10,000 projects is one figure, not a 10,000-term sentence to verify
            shown = have[:TERMS_SHOWN]
            more = (f"等{len(have)}个项目" if zh else f"… {len(have)} projects in all") if len(have) > len(shown) else ""
            for r in have:
                out.row(r, **{m: metric_value(r, m)})
            for r in shown:
                out.cite(r, [m])
            # (the Chinese listing already shows what a form in 元 printed; the English sum lists names only)
            terms = ("＋" if zh else " + ").join(f"{_d(v)}{'' if zh else _printed_note(r, m, v, zh)}" for r, v in zip(shown, vals))
            terms += ("＋…" if zh else " + …") if more else ""
            if groups_of and _PER_GROUP.search(p.text):
                # 各部门项目的平均得分: one figure per department, each with how many projects it rests on
                by: dict[str, list[Decimal]] = {}
                for r in have:
                    by.setdefault(_group_of(r, groups_of, zh), []).append(metric_value(r, m))
                items = []
                for g, vs in by.items():
                    t = sum(vs, Decimal(0))
                    fig = t if p.op == "sum" else t / len(vs)
                    items.append(f"{g}{_d(fig)}{unit}（{len(vs)}个项目）" if zh else f"{g}: {_d(fig)}{unit} ({len(vs)} projects)")
                word = ("合计" if p.op == "sum" else "平均") if zh else ("total" if p.op == "sum" else "average")
                per_year = all(re.fullmatch(r"(?:19|20)\d\d年?", g) for g in by)  # groups that are years
                out.texts.append((f"各{'年度' if per_year else '单位'}项目的{_LABEL[m][0]}{word}：" if zh else
                                  f"{word.capitalize()} {_LABEL[m][1]} per {'year' if per_year else 'department'}: ")
                                 + _join(items, zh)
                                 + ("。" if zh else "."))
                out.routes.append(p.op + "_by_department")
                prev = sel
                continue
            if p.op == "sum":
                listing = "、".join(f"{_name(r)}{_d(metric_value(r, m))}{unit}{_printed_note(r, m, metric_value(r, m), zh)}"
                                   for r in shown) + more
                if zh and len(have) > 3:  # many terms: the total first, then what it adds up
                    out.texts.append(f"{where}{len(have)}个项目的{_LABEL[m][0]}合计{_d(total)}{unit}（{listing}）。")
                else:
                    out.texts.append(f"{listing}，{_LABEL[m][0]}合计{_d(total)}{unit}（{terms}）。" if zh else
                                     f"{_LABEL[m][1]} in total: {_d(total)} {unit} ({terms}; "
                                     f"{', '.join(_name(r) for r in shown)}{more}).")
            else:
                avg = total / len(vals)

                def term(r: ProjectRecord) -> str:
                    # a rate with the two amounts it divides: those are what its cited cells carry
                    if m == "rate":
                        return f"{_name(r)}{_fmt(r, m, zh)}" if zh else f"{_name(r)} {_fmt(r, m, zh)}"
                    v = metric_value(r, m)
                    return f"{_name(r)}{'' if zh else ' '}{_d(v)}{_printed_note(r, m, v, zh)}"
                out.texts.append(f"{where}{len(vals)}个项目的平均{_LABEL[m][0]}为{_d(avg)}{unit}（合计{_d(total)}÷{len(vals)}；"
                                 + "、".join(term(r) for r in shown) + more + "）。" if zh else
                                 f"Average {_LABEL[m][1]} of {len(vals)} projects{' (' + where + ')' if where else ''}: {_d(avg)}{unit} "
                                 f"(total {_d(total)} ÷ {len(vals)}; " + ", ".join(term(r) for r in shown) + more + ").")
            lacking = [r for r in sel if not _has(r, m)]
            if lacking:
                # a project in scope whose form prints no such figure is said, never silently left out of the sum
                names = ("、" if zh else ", ").join(_name(r) for r in lacking[:TERMS_SHOWN]) + \
                    (("等" if zh else " …") if len(lacking) > TERMS_SHOWN else "")
                out.texts.append(f"另有{len(lacking)}个项目的自评表未列{_LABEL[m][0]}，未计入：{names}。" if zh else
                                 f"{len(lacking)} more project(s) print no {_LABEL[m][1]} and are not counted: {names}.")
            out.routes.append(p.op)
        elif p.op in ("rank", "compare"):
            m = next((x for x in metrics if x != "grade"), "rate" if p.op == "compare" else None)
            if m is None:
                m = "rate"
            have = [r for r in sel if _has(r, m)]
            if not have or (p.op == "compare" and len(have) < 2):
                return None
            ordered = sorted(have, key=lambda r: metric_value(r, m), reverse=p.order == "desc" or p.op == "compare")
            # forms in 元 ranked or compared with forms in 万元: each 元 figure also in 万元, the unit they were
            # ordered in (28732400元 beside 2654.05万元 reads as the larger only once both are in one unit)
            mixed = m in _FUNDS_FIELD and len({printed_in_yuan(r.evaluation) for r in have}) > 1

            def said(r, m, zh):
                text = _fmt(r, m, zh)
                if mixed and printed_in_yuan(r.evaluation):
                    text += f"，合{_d(metric_value(r, m))}万元" if zh else f", i.e. {_d(metric_value(r, m))} 万元"
                return text

            if p.op == "rank":
                k = p.limit or 1
                cut = metric_value(ordered[min(k, len(ordered)) - 1], m)
                top = [r for r in ordered if (metric_value(r, m) >= cut if p.order == "desc" else metric_value(r, m) <= cut)]
                word = ("最低" if p.order == "asc" else "最高") if zh else ("lowest" if p.order == "asc" else "highest")
                if p.nth and len(ordered) >= p.nth:
                    # 第二高: the projects at that place of the ranking (ties included), not the ones above it
                    top = [r for r in ordered if metric_value(r, m) == cut]
                    word = (f"第{p.nth}{'低' if p.order == 'asc' else '高'}" if zh else
                            f"{['', 'first', 'second', 'third', 'fourth', 'fifth'][min(p.nth, 5)] if p.nth <= 5 else str(p.nth) + 'th'}"
                            f" {'lowest' if p.order == 'asc' else 'highest'}")
                items = [f"{_name(r)}（{said(r, m, zh)}）" if zh else f"{_name(r)} ({said(r, m, zh)})" for r in top]
                tie = len(top) > k
                head = (f"{where}{_LABEL[m][0]}{word}的项目" + (f"（并列{len(top)}个）" if tie else "") + "：" if zh else
                        f"{'Projects' if len(top) > 1 else 'Project'}{' (' + where + ')' if where else ''} with the {word} {_LABEL[m][1]}: ")
                out.texts.append(head + _join(items, zh) + ("。" if zh else "."))
                chosen = top
            else:
                # a name ending in a digit (…资金2) would run into the figure (资金23.48%): a colon between
                items = [f"{_name(r)}{'：' if _name(r)[-1:].isdigit() else ''}{said(r, m, zh)}" if zh else
                         f"{_name(r)}: {said(r, m, zh)}" if _name(r)[-1:].isdigit() else f"{_name(r)} {said(r, m, zh)}"
                         for r in ordered]
                hi, lo = ordered[0], ordered[-1]
                # the verdict answers the way the question asks: 哪个低 → the lower one
                low = re.search(r"低|少|小|lower|less|smaller", p.text, re.I) and not re.search(r"高|多|大|higher|more|larger", p.text, re.I)
                pick_, word_ = (lo, ("较低", "lower")) if low else (hi, ("较高", "higher"))
                verdict = (f"{_name(pick_)}的{_LABEL[m][0]}{word_[0]}" if metric_value(hi, m) != metric_value(lo, m) else "两者相同") if zh else \
                    (f"{_name(pick_)} is {word_[1]}" if metric_value(hi, m) != metric_value(lo, m) else "they are equal")
                if len(ordered) == 2 and m != "grade" and re.search(
                        r"[少多高低]了?多少|相差|差多少|差距|差了多少|how much (?:less|more|lower|higher)|difference|gap", p.text, re.I):
                    # 少多少 / how much less: the difference itself, computed from the two figures shown
                    gap = metric_value(hi, m) - metric_value(lo, m)
                    unit = "个百分点" if m == "rate" else ("分" if m == "total" else "万元")
                    verdict += (f"，两者相差{_d(gap)}{unit}（{_d(metric_value(hi, m))}−{_d(metric_value(lo, m))}）" if zh else
                                f"; the difference is {_d(gap)} {'percentage points' if m == 'rate' else 'points' if m == 'total' else unit} "
                                f"({_d(metric_value(hi, m))} − {_d(metric_value(lo, m))})")
                out.texts.append(f"{_LABEL[m][0]}：" + "；".join(items) + f"。{verdict}。" if zh else
                                 f"{_LABEL[m][1]}: " + "; ".join(items) + f". {verdict}.")
                chosen = ordered
            for r in chosen:
                out.row(r, **{m: metric_value(r, m)})
                out.cite(r, [m])
            out.routes.append(p.op)
        else:
            return None
        prev = sel
    if not out.texts:
        return None
    return StructuredAnswer(("" if zh else " ").join(out.texts), out.rows, out.refs, "structured:" + "+".join(out.routes))
