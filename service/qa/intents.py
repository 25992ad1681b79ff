"""Question routing (pure). Structured questions are answered exactly from the store; the rest go to
hybrid retrieval. Chinese first, English accepted."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from retrieval.normalize import normalize_text
from service.accounts.qa import names_accounts_item
from service.qa.names import find_mentions

IntentKind = Literal[
    "shortfall", "low_execution", "score_inflation", "grade", "ranking", "project_field",
    "findings", "list_projects", "accounts", "open",
]
Field = Literal["budget", "executed", "rate", "total", "grade", "score", "findings", "summary", "goals"]

MAX_QUESTION_CHARS = 500

_GRADE_WORDS = {"优": "优", "优秀": "优", "良": "良", "良好": "良", "中": "中", "合格": "中", "差": "差",
                "excellent": "优", "good": "良", "fair": "中", "average": "中", "poor": "差"}


@dataclass
class Intent:
    kind: IntentKind
    lang: Literal["zh", "en"] = "zh"
    projects: list[str] = field(default_factory=list)
    threshold: Decimal | None = None
    grades: list[str] = field(default_factory=list)
    field: Field | None = None
    order: Literal["asc", "desc"] = "desc"
    metric: Literal["rate", "total", "budget", "executed"] = "rate"
    limit: int | None = None
    rule_id: str | None = None


def detect_lang(question: str) -> Literal["zh", "en"]:
    cjk = len(re.findall(r"[\u4e00-\u9fff]", question))
    latin = len(re.findall(r"[A-Za-z]", question))
    if latin > 2 * cjk:
        return "en"
    # a short English question around a long Chinese name (Projects of 县卫生健康局?): English when it opens with
    # an English word and has two at least; a Latin acronym or a greeting before Chinese (PPP项目…, Hi，请问…) is not
    words = re.findall(r"[A-Za-z]{2,}", question)
    opens_en = re.match(r"\s*[A-Za-z]{2,}(?![A-Za-z]*[\u4e00-\u9fff])", question) is not None
    chinese_grammar = re.search(r"[的吗呢吧么]|多少|哪些|哪个|什么|几个", question)
    return "en" if opens_en and len(words) >= 2 and not chinese_grammar else "zh"


_NUM = r"(\d+(?:\.\d+)?)"
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _limit(q: str) -> int | None:
    from service.qa.plan import _limit as plan_limit  # one reading of "top two", "前二", "三个"

    n = plan_limit(q)
    if n is not None:
        return n
    m = re.search(r"(?:前|top\s*|最\S{0,3}的\s*)(\d+|[一二两三四五六七八九十])\s*(?:个|项|名|projects?)?", q, re.I)
    if not m:
        m = re.search(r"(\d+|[一二两三四五六七八九十])\s*(?:个|项)(?:项目)?", q)
    if not m:
        return None
    tok = m.group(1)
    return int(tok) if tok.isdigit() else _CN_DIGITS.get(tok)


def parse_question(question: str, project_names: list[str], linked: list[str] | None = None) -> Intent:
    """`linked`: the projects entity linking found under another spelling (改制职工医保 for 国有企业改制职工医疗
    保险); the route is chosen knowing the question names them, as for a name written out."""
    q = normalize_text(question)
    ql = q.lower()
    lang = detect_lang(q)
    projects = find_mentions(q, project_names) or list(linked or [])
    rule = re.search(r"(?<![A-Za-z0-9])R-[A-Z0-9]+(?:-[A-Z0-9]+)*", q)

    def has(*words: str) -> bool:
        return any(w in ql for w in words)

    if rule:
        return Intent("findings", lang, projects, rule_id=rule.group(0))

    # "why …" / "what measures …" want reasons in prose, not a list of rows
    if has("为什么", "为何", "原因", "措施", "建议", "why", "how did", "how will", "measures", "reason", "explain"):
        return Intent("open", lang, projects)

    if (has("决算", "公开0", "支出占比", "科目", "final account") or names_accounts_item(ql)) \
            and not has("定义", "怎么计算", "如何计算", "框架", "指标体系", "define", "calculat", "formula",
                        "执行率", "完成率", "execution rate", "completion rate"):
        if not projects:
            return Intent("accounts", lang)

    # execution below X%
    m = re.search(r"(?:执行率|执行进度|execution(?: rate)?|executed|spent)[^\d]{0,12}?(?:低于|不足|小于|未达到?|没有?达到|没有?到|below|under|less than|<)\s*" + _NUM
                  + r"(?![\d.]|\s*(?:thousand|million|yuan|rmb|万|元|块|亿))", ql) \
        or re.search(r"(?:did not|didn't|not) reach(?: an?| the)?\s*" + _NUM + r"\s*%\s*(?:execution|budget execution)", ql) \
        or re.search(r"(?:低于|不足|小于|below|under|less than)\s*" + _NUM + r"\s*%?\s*(?:的)?(?:预算|执行|of (?:the |their )?budget)", ql)
    if m:
        return Intent("low_execution", lang, projects, threshold=Decimal(m.group(1)))

    if has("未完成", "没完成", "没有完成", "未达到", "未达成", "没达到", "未实现", "fell short", "fall short", "missed",
           "miss their", "not meet", "did not meet", "didn't meet", "short of", "not met", "unmet", "not achieved",
           "not reached", "没有达到", "没达成"):
        if has("目标", "指标", "target", "goal", "indicator") or not projects:
            return Intent("shortfall", lang, projects)

    if has("虚高", "高于重新计算", "高于复核", "高于重算", "自评得分偏高", "自评偏高", "高估", "inflat", "分数偏高", "打分偏高",
           "评分偏高", "与复核不一致", "和复核不一致", "与复核不符", "复核后降低", "复核调减", "调减",
           "does not match the review", "differ from the review", "reviewed score",
           "higher than the recomputed", "higher than recomputed", "overstat", "scored themselves higher"):
        return Intent("score_inflation", lang, projects)

    grades = []
    for word, grade in _GRADE_WORDS.items():
        if re.search(rf"(?:评为|评级为|等级为|等级是|graded|rated|grade of|grade)\s*[“\"']?{word}\b", ql) or \
           re.search(rf"[“\"']{word}[”\"']", q) or re.search(rf"{word}(?:等级|级)的?项目", q):
            if grade not in grades:
                grades.append(grade)
    if grades and not projects and not re.search(r"不是|不为|非|没(?:有)?(?:被)?评|未(?:被)?评|\bnot\b|n't", q):
        m = re.search(r"(?:总分|得分|自评得分|total|score(?:d)?)\D{0,4}?(\d+(?:\.\d+)?)", ql)
        return Intent("grade", lang, grades=grades, threshold=Decimal(m.group(1)) if m else None)

    if has("最低", "最高", "排名", "排序", "垫底", "倒数第一", "末位", "lowest", "highest", "rank", "top ", "bottom") or \
            re.search(r"前\s*(?:\d+|[一二两三四五六七八九十])\s*(?:个|名|项)", q):
        metric = "rate"
        if has("得分", "分数", "score", "总分"):
            metric = "total"
        elif has("预算数", "预算金额", "预算最", "安排资金", "安排的资金", "资金最多", "资金最少", "budget") \
                and not has("执行率", "execution"):
            metric = "budget"
        elif has("执行数", "支出金额", "spent", "executed amount"):
            metric = "executed"
        order = "asc" if has("最低", "lowest", "bottom", "least", "最少", "最差", "垫底", "倒数第一", "末位") else "desc"
        if not projects:
            return Intent("ranking", lang, order=order, metric=metric, limit=_limit(q) or 5)

    if projects:
        if has("问题", "审核发现", "finding", "issue", "problem", "错误", "不一致", "inconsisten", "不足", "短板",
               "shortcoming", "weakness"):
            return Intent("project_field", lang, projects, field="findings")
        # its goals (年度目标) and what it says of their completion: fields every form states
        if has("绩效目标", "年度目标", "总体目标", "目标是", "目标有", "什么目标", "哪些目标", "预期目标", "目标完成情况",
               "goal", "objective", "aim") and not has("未完成", "没完成", "没有完成", "未达", "没达到", "short", "miss"):
            return Intent("project_field", lang, projects, field="goals")
        fields = [name for name, words in (
            ("rate", ("执行率", "执行进度", "execution rate", " rate")),
            ("executed", ("执行数", "执行金额", "实际支付", "支出多少", "spent", "executed", "expenditure")),
            ("budget", ("预算数", "预算金额", "预算是多少", "预算多少", "安排了多少", "安排多少", "安排资金", "安排的资金",
                        "budget")),
            ("grade", ("等级", "评级", "grade", "rating")),
            ("total", ("得分", "分数", "总分", "score")),
        ) if has(*words)]
        if fields:
            fld: Field = fields[0] if len(fields) == 1 or fields == ["rate", "executed"] else "summary"
            return Intent("project_field", lang, projects, field=fld)
        if has("情况", "概况", "summary", "overview", "基本信息"):
            return Intent("project_field", lang, projects, field="summary")
        # a named project but no field the records hold (policy basis, methods, people covered …): prose
        return Intent("open", lang, projects)

    # "对多少个项目开展了预算绩效管理" / "纳入绩效监控的项目有多少个": a number the report states about its own
    # work, not how many records we hold; the catalogue is for "哪些项目" and "how many projects (are there)"
    states_count = re.search(r"(?:多少|几)个?项目\S{0,6}?(?:开展|实施|纳入|覆盖|完成|组织|进行)|"
                             r"(?:开展|实施|纳入|覆盖|组织|进行)\S{0,12}?(?:多少|几)个?项目", ql)
    if has("哪些项目", "which projects", "list projects", "所有项目", "项目清单", "how many projects", "多少个项目") \
            and not states_count:
        return Intent("list_projects", lang)
    return Intent("open", lang)
