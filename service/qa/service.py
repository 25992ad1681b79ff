"""POST /ask and `jixiao ask`: route, answer, cite, verify.

A question is first scoped (service.qa.linking: the projects it names however loosely, the department
and year it asks about; a scope the corpus does not cover is refused with what it does cover). Structured
questions are answered from the stored records (exact; service.qa.plan cuts a question into its parts and
runs lookups, filters, counts, sums, averages, ranks, comparisons and groupings); 部门决算 questions from the
parsed accounts tables; everything else from hybrid retrieval — extractively offline, or by the LLM answer
chain when a model is configured. Every citation is checked against the stored lines before it is
returned; an unverifiable citation is dropped together with the sentence that relied on it, and a composed
answer keeps only citations whose line carries a figure or grade it states.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from retrieval.normalize import normalize_text

from service.errors import InputError
from service.qa.citations import Citation, answer_tokens, supports, verify
from service.qa.digest import digest_for, doc_key
from service.qa.pushdown import narrow_intent, narrow_parts
from service.qa.extractive import (Sentence, bridge_english, complete_last_sentence, coverage, display, keep_figures, pick, split_sentences, unknown_names,
                                   unsupported_years)
from service.extraction.vocabulary import is_placeholder
from service.qa.intents import MAX_QUESTION_CHARS, Intent, detect_lang, parse_question
from service.qa.units import in_asked_unit
from service.qa.linking import (DEPARTMENT_KINDS, DocProfile, Department, Mention, bureaus_in, close_names, departments_in,
                                english_names_in_chinese, link_projects, loose_candidates, name_key, question_key,
                                places_in, profile, strip_spans, years_in)
from service.qa.plan import HOW_MANY_EACH, Part, _d, execute, expand_follow_ups, parse_part, record_key, split_parts
from service.qa.structured import DEFAULT_PAGE_SIZE, ProjectRecord, answer_structured, dedupe
from service.settings import Settings

NOT_FOUND_ZH = "在已入库的报告中没有找到能够支持回答该问题的内容。"
NOT_FOUND_EN = "Nothing in the ingested reports supports an answer to this question."
_ALLOWED_FILTERS = {"doc_id", "project", "year"}


class AskAnswer(BaseModel):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    route: str
    lang: str = "zh"
    # a list answer shows one page of its items: total = how many in all, page/page_size = which are shown
    total: int | None = None
    page: int | None = None
    page_size: int | None = None


def clean_question(question: Any) -> str:
    if not isinstance(question, str):
        raise InputError("the question must be text", code="invalid_question")
    q = "".join(ch for ch in question if unicodedata.category(ch)[0] != "C" or ch in " \t")
    q = q.strip()
    if not q:
        raise InputError("the question is empty", code="invalid_question")
    if len(q) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is too long ({len(q)} characters; at most {MAX_QUESTION_CHARS})",
                         code="invalid_question")
    if not re.search(r"[\u4e00-\u9fffA-Za-z]", q):
        raise InputError("the question has no words", code="invalid_question")
    # courtesies around the question carry nothing to answer, and a trailing "Thanks." read as a second part
    # of the question (split after "?") took the whole answer to another route
    bare = q
    for _ in range(3):  # stacked: 请问帮我查一下… / Hi, could you tell me: …
        head = _COURTESY_HEAD.sub("", bare, count=1).lstrip(" -—–:：,，")
        if head == bare:
            break
        bare = head
    bare = _COURTESY_TAIL.sub("", bare).strip()
    if not re.search(r"[?？].", bare):  # …？2021年呢？ is a follow-up, whose 呢 says so (expand_follow_ups)
        bare = _PARTICLE_TAIL.sub(lambda m: m.group(1) or "", bare).strip()
    bare = bare.lstrip(" -—–:：,，")
    bare = bare if re.search(r"[\u4e00-\u9fffA-Za-z]", bare) else q
    # search-box wording (森林防火专项经费 得分, 特困人员供养资金 区民政局 等级): a space between Chinese words is
    # where the asker ended one; normalising text drops it, so it becomes a clause mark no name or place crosses
    bare = re.sub(r"(?<=[\u4e00-\u9fff])[ \t\u3000]+(?=[\u4e00-\u9fff])", "，", bare)
    # a pinyin input method's slips on the words every question turns on (执行律 for 执行率): no report prints them
    for slip, word in _SLIPS:
        bare = bare.replace(slip, word)
    # a year written short (22年, 22年度): the year, as every pattern after this one reads years
    return _SHORT_YEAR.sub(lambda m: m.group(0) if re.search(r"[年期]限|周期|寿命", bare[max(0, m.start() - 8):m.start()])
                           else "20" + m.group(1), bare)


_SLIPS = (("执行律", "执行率"), ("执行绿", "执行率"), ("执行滤", "执行率"), ("评价登记", "评价等级"), ("等极", "等级"),
          ("得份", "得分"), ("自平", "自评"))
# two digits before 年 or 年度 are a year (22年的项目, 城乡医疗救助资金22年度得分) unless a duration or an age
# says otherwise (近10年, 第12年, 满15年, 持续10年, 运行了12年, 15年以上, 年限为10年)
_SHORT_YEAR = re.compile(r"(?<![\d.０-９第近前后满超过去这约共计每了续达])([1-3]\d)(?=\s*年(?!限|龄|级|以上|以内|以来|来|间|多|左右|后|前))")


_COURTESY_HEAD = re.compile(r"^(?:(?:hi|hello|hey|dear \w+)[,，!！]?\s*)?(?:(?:hi|hello|hey)[,，!！]\s*|(?:could|can|would) you (?:please )?(?:tell me|check|let me know)"
                            r"[:：,，]?\s*|please (?:tell me|check)[:：,，—-]?\s*|please[,，]?\s+(?=[a-z])|"
                            r"(?:tell|show|give) me\s*(?:[:：,，—–-]+\s*|(?=(?:how|what|which|who|whether|if|the|a|an)\b))|"
                            r"请问[,，:：]?|麻烦(?:您|你)?(?:帮(?:我|忙))?(?:看下|看一下|查下|查一下|查查|看看|找找|问问)?[,，:：]?|"
                            r"(?:请)?帮(?:我|忙)(?:查|看|找|问)(?:一下|下|查|看|找|问)[,，:：]?|(?:我)?想(?:知道|问(?:一下|问)?|了解(?:一下)?)[,，:：]?|"
                            r"给我(?:说说|讲讲|看看|查查|说一下|讲一下|查一下|介绍一下)[,，:：]?|"
                            r"(?:我)?问(?:一下|下)[,，:：]?|请教(?:一下)?[,，:：]?|quick question[:：,，]?\s*|"
                            # a command's verb (统计一下县交通运输局…: 一下县 read as a place)
                            r"(?:请)?(?:帮(?:我|忙))?(?:统计|计算|算|汇总|核对|核实|梳理|整理|列)(?:一下|下)[,，:：]?)", re.I)
# sentence-final particles of spoken Chinese (…来着？, …呢, …啊): nothing to answer, and they hid a question's
# end from the patterns that read it (项目数量来着)
_PARTICLE_TAIL = re.compile(r"(?:来着|呢|啊|呀|哈|嘛)+\s*([?？])?\s*$")  # (吧 asks for a yes or no, as 吗 does: kept)
_COURTESY_TAIL = re.compile(r"(?:[\s,，.。!！]*(?:thanks?(?: you)?(?: very much| a lot)?|thank you|cheers|"
                            r"谢谢(?:你|您)?|多谢|辛苦了|麻烦了)[.。!！~～]*)+$|"
                            # a request after the question (…，给我看看 / …，帮我查查): nothing to answer
                            r"(?:[\s,，]+(?:给我|帮我)?|给我|帮我)(?:看看|看一下|说说|讲讲|查查|报一下|说一下|讲一下)(?:吧)?[.。!！]*$", re.I)


def clean_filters(filters: dict | None) -> dict:
    if not filters:
        return {}
    if not isinstance(filters, dict):
        raise InputError("filters must be an object", code="invalid_input")
    unknown = set(filters) - _ALLOWED_FILTERS
    if unknown:
        raise InputError(f"unknown filter(s): {', '.join(sorted(unknown))}; allowed: doc_id, project, year",
                         code="invalid_input")
    out = {k: v for k, v in filters.items() if v not in (None, "")}
    if "year" in out:
        try:
            out["year"] = int(out["year"])
        except (TypeError, ValueError):
            raise InputError("year must be a number", code="invalid_input") from None
    return out


_RECORDS: dict[tuple, list[ProjectRecord]] = {}
_STATE_OF: list = []  # [(doc_rows, state)]: the last list of documents and its state key


def _records(store, filters: dict, docs: dict[str, str], doc_rows=(), data_dir=None) -> list[ProjectRecord]:
    """The stored projects with their findings. Reading every stored record is most of a structured
    answer's time, so the records are kept per store state (the documents, when each was ingested, and how
    many projects and findings of each severity it has: any ingest, delete or re-check changes it), and
    their heads on disk between processes (service.qa.digest; the rest of a record is read on first use)."""
    if _STATE_OF and _STATE_OF[0][0] is doc_rows:
        state = _STATE_OF[0][1]  # the API's cache hands out the same list while the store is unchanged
    else:
        state = tuple(doc_key(d) for d in doc_rows)
        _STATE_OF[:] = [(doc_rows, state)]
    key = (id(store), state, filters.get("doc_id"), filters.get("year")) if doc_rows else None
    out = _RECORDS.get(key) if key else None
    if out is None:
        # no documents, no projects: the store holds none without its document
        out = digest_for(data_dir).records(store, doc_rows, docs, state) if doc_rows else []
        if filters.get("doc_id"):
            out = [r for r in out if r.doc_id == filters["doc_id"]]
        if filters.get("year") is not None:
            out = [r for r in out if r.evaluation.year == filters["year"]]
        if key:
            if len(_RECORDS) > 16:
                _RECORDS.clear()
            _RECORDS[key] = out
    if filters.get("project"):
        return [r for r in out if filters["project"] in r.evaluation.project]
    return _Records(out, key)


def refresh_digest(settings: Settings) -> None:
    """Bring the saved project heads and document profiles (service.qa.digest) up to date with the store,
    so the next process's first question does not rebuild them. A cache: a failure here loses nothing."""
    from service.store import open_store

    try:
        with open_store(settings) as store:
            doc_rows = store.list_documents()
            if not doc_rows:
                return
            docs = {d.doc_id: d.filename for d in doc_rows}
            records = _records(store, {}, docs, doc_rows, settings.data_dir)
            _profiles(store, doc_rows, records, settings.data_dir)
            digest_for(settings.data_dir).flush()
    except Exception:  # noqa: BLE001 - the store stays the truth; the next question rebuilds the cache
        import logging

        logging.getLogger("jixiao.qa").warning("could not save the Q&A digest", exc_info=True)


class _Records(list):
    """A fresh copy of the cached records, labelled with the store state they were read for (None: not
    cached), so what is derived from all of them can be cached under the same state."""

    def __init__(self, items, key):
        super().__init__(items)
        self.key = key


_LINES: dict[tuple[str, int], list] = {}
_SPANS: dict[tuple[str, int, int, int], list] = {}


def _fetch_lines(store, prefetch: list[Citation] = ()):
    """Lines of a page, kept across questions: a doc_id is the hash of the document's bytes, so the lines
    of (doc_id, page) never change while the document exists; verifying a citation needs them again and again.
    The spans of `prefetch` (a list answer's citations, from hundreds of documents) are read in a few
    queries up front instead of one page per citation."""
    want_all = list(dict.fromkeys((c.doc_id, c.page, c.line_start, c.line_end) for c in prefetch))
    want = [k for k in want_all if k not in _SPANS and (k[0], k[1]) not in _LINES]
    if len(want) > 4 and hasattr(store, "lines_in"):
        try:
            got = store.lines_in(want)
        except Exception:  # noqa: BLE001 - the page-by-page path below still verifies them
            got = None
        if got is not None:
            if len(_SPANS) + len(want) > 50_000:
                _SPANS.clear()
            for d, p, a, b in want:
                _SPANS[(d, p, a, b)] = [ln for ln in got.get((d, p), []) if a <= ln.line_no <= b]

    def fetch(doc_id: str, page: int, line_start: int, line_end: int):
        span = _SPANS.get((doc_id, page, line_start, line_end))
        if span is not None:
            return span
        for d, p, a, b in want_all:  # inside a span read up front (a hit's lines, then the ones after it)
            if d == doc_id and p == page and a <= line_start and line_end <= b and (d, p, a, b) in _SPANS:
                return [ln for ln in _SPANS[(d, p, a, b)] if line_start <= ln.line_no <= line_end]
        key = (doc_id, page)
        if key not in _LINES:
            lines = store.get_lines(doc_id, page=page)
            if len(_LINES) > 2048:
                _LINES.clear()
            _LINES[key] = lines
        return [ln for ln in _LINES[key] if line_start <= ln.line_no <= line_end]

    return fetch


def _cite_ref(ref, filename: str | None) -> Citation:
    """A citation of an extracted value's source reference."""
    return Citation(doc_id=ref.doc_id, filename=filename, page=ref.page, line_start=ref.line_start,
                    line_end=ref.line_end, quote=ref.quote)


def _cite_line(doc_id: str, filename: str | None, ln) -> Citation:
    """A citation of one stored line, quoted whole (as verify() finds it)."""
    return Citation(doc_id=doc_id, filename=filename, page=ln.page, line_start=ln.line_no, line_end=ln.line_no,
                    quote=ln.text)


def _not_found(missing: list[str], known: list[str], lang: str, route: str, exclude: Sequence[str] = ()) -> AskAnswer:
    """Not found; for a name we do not hold, the stored names closest to it, so the asker can rephrase."""
    text = NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN
    near = list(dict.fromkeys(n for m in missing for n in close_names(m, known) if n not in exclude))[:3]
    if near:
        text += (f"语料中名称相近的项目：{'、'.join(near)}。" if lang == "zh" else
                 f" Stored projects with similar names: {', '.join(near)}.")
    return AskAnswer(answer=text, route=route, lang=lang)


def _finish(answer: str, citations: list[Citation], rows: list[dict], route: str, lang: str, store,
            question: str | None = None) -> AskAnswer:
    checked = verify(citations, _fetch_lines(store, citations))
    kept = [c for c in checked if c.verified]
    if len(kept) < len(checked):
        answer += ("（部分引用无法在原文对应位置核实，已删除。）" if lang == "zh" else
                   " (Citations that could not be verified at their place were removed.)")
    if question is not None:
        answer = in_asked_unit(answer, question)  # 多少元 / in yuan: the printed 万元 figure, and the asked unit beside it
        # a composed answer: a true quote that does not carry what the answer says is not evidence for it
        # (a line naming the project, or the implementing unit or department an answer gives, carries what the
        # answer says)
        names = [str(r.get(k)) for r in rows if isinstance(r, dict) for k in ("project", "implementer", "department")
                 if r.get(k)]
        tokens = answer_tokens(answer, question, names)
        kept = [c for c in kept if supports(c.quote, answer, question, names, tokens)]
    return AskAnswer(answer=answer, citations=kept, rows=rows, route=route, lang=lang)


_PROSE_TOPIC = re.compile(r"问题|措施|建议|经验|做法|原因|效益|成效|整改|亮点|不足|problems?|measures?|"
                          r"recommendations?|lessons|reasons?", re.I)

# how a report's prose words a project figure its form does not state
_PROSE_WORDS = {"executed": "实际支出数", "budget": "预算资金", "rate": "预算执行率", "total": "自评得分",
                "grade": "评价等级"}
# what a passage must say to state that figure: a satisfaction rate of 100% is not an execution rate
_PROSE_STATES = {"executed": r"支出|执行|支付|使用|拨付", "budget": r"预算|安排", "rate": r"执行率|执行进度|支出进度",
                 "total": r"得分|总分|分", "grade": r"等级|评价结果|[优良中差]"}

_ACCOUNTS_CACHE: dict[tuple, Any] = {}


def _parsed_accounts(doc_id: str, key: str, updated_at, payload):
    """The stored 部门决算 tables, validated once per stored version rather than once per question."""
    from service.accounts import AccountsExtraction

    cache_key = (doc_id, key, updated_at)
    acc = _ACCOUNTS_CACHE.get(cache_key)
    if acc is None:
        if len(_ACCOUNTS_CACHE) > 64:
            _ACCOUNTS_CACHE.clear()
        acc = _ACCOUNTS_CACHE[cache_key] = AccountsExtraction.model_validate(payload)
    return acc


def _docs_in_scope(docs: dict[str, str], filters: dict):
    """(doc_id, filename) of the stored documents the filters keep: one document, or a department's or a
    year's documents."""
    for doc_id, filename in docs.items():
        if filters.get("doc_id") and doc_id != filters["doc_id"]:
            continue
        if filters.get("doc_ids") is not None and doc_id not in filters["doc_ids"]:
            continue
        yield doc_id, filename


def _accounts_answer(question: str, store, filters: dict, lang: str, docs: dict[str, str]) -> AskAnswer | None:
    from service.accounts.qa import answer_accounts_question

    for doc_id, filename in _docs_in_scope(docs, filters):
        for art in store.list_artifacts(doc_id, kind="accounts"):
            acc = _parsed_accounts(doc_id, art.key, art.updated_at, art.payload)
            answers = [a for a in (answer_accounts_question(sub, acc) for sub in accounts_parts(question)) if a is not None]
            answers = [a for i, a in enumerate(answers) if all(a.answer_zh != b.answer_zh for b in answers[:i])]
            if not answers:
                continue
            cits = [Citation(doc_id=r.doc_id, filename=filename, page=r.page, line_start=r.line_start,
                             line_end=r.line_end, quote=r.quote) for a in answers for r in a.citations]
            text = ("" if lang == "zh" else " ").join(a.answer_zh if lang == "zh" else a.answer_en for a in answers)
            data = [d for a in answers for d in a.data]
            return _finish(text, cits, data, "accounts:" + "+".join(a.kind for a in answers), lang, store, question)
    return None


# the department-wide form itself (not "整体执行" of a department's projects): asked of a department that filed
# none, the answer is not found
_DEPT_FORM_WORDS = re.compile(r"部门整体|单位整体|整体绩效|department-wide|(?:as )?a whole department|whole department", re.I)
# …and the wider wording that asks it when a department filed one (整体支出, overall spending)
_DEPT_WHOLE = re.compile(rf"{_DEPT_FORM_WORDS.pattern}|整体支出|整体(?:的)?(?:预算)?执行|整体(?:的)?(?:自评|评价|得分|分数|评分)|"
                         r"department(?: as a whole|'s overall| overall)|"
                         r"overall (?:department|self-evaluation|budget|execution|spending)|as a department|(?:its|their) whole budget",
                         re.I)


# what a question counts, and the measure word an indicator's figures carry for it
_MEASURE_EN = {"人": r"people|persons?|recipients|beneficiaries|retirees|employees|workers",
               "家": r"enterprises|companies|firms|employers", "件": r"cases|items", "次": r"times|sessions",
               "个": r"sites|stations|villages"}
_EN_NOUNS = {"sites": "站点", "stations": "站点", "enterprises": "企业", "companies": "企业", "people": "人数",
             "persons": "人数", "cases": "案件", "trainings?": "培训", "villages": "村", "households": "户数",
             "inspections?": "检查", "students": "学生", "beneficiaries": "人数", "retirees": "退休"}
# (an indicator's completion asked of by name: 满意度指标完成情况, its target and actual)
_ASKS_QUANTITY = re.compile(r"多少|几|how many|how much|what (?:was|is|were)|指标\S{0,4}完成情况|完成值|目标值|"
                            r"\btargets?\b.{0,20}\bactual\b", re.I)
_QA_GENERIC = set("的了是多少几个实际完成情况项目资金经费专项指标怎么样如何呢吗有")


# why a named project's money was not (fully) spent: its form states the reason in 存在问题、原因及下一步整改措施
_WHY = re.compile(r"为什么|为何|为啥|原因|怎么回事|咋回事|咋没|\bwhy\b|\breasons?\b|explain|how come", re.I)
_SPENDING_SHORT = re.compile(r"没花完|没有花完|未花完|没用完|未用完|没花|没发|未发放?|没有发放?|没(?:有)?支出|未支出|"
                             r"(?:执行(?:数|率)|(?:实际)?支出(?:数)?)(?:为|是|只有)?\s*0(?:\.0+)?\s*%?(?:万元|元)?(?![.\d])|执行率(?:低|不高|偏低|较低)|"
                             r"执行(?:进度)?(?:慢|低|没达标|未达标|不达标)|预算执行\S{0,4}(?:没|未|不)达标|结余|没有执行|未执行|"
                             r"(?:not|n't)\b[^?]{0,60}?(?:fully |all )?(?:spen[dt]|use[ds]?|paid|pay|execute[ds]?|disburse[ds]?)\b|没spend完|没(?:有)?(?:spend|use)|underspen|unspent|low execution|"
                             r"没(?:有)?(?:花|用)完|(?:执行率|执行进度|执行)(?:只有|仅有?|才|仅为|只)(?:了)?\s*\d|"
                             r"(?:只|才|仅)(?:花|用|执行|支出|花掉|用掉)了?\s*(?:\d|[一二三四五六七八九]成|百分之|一半|一部分)|"
                             r"spent (?:so )?little|nothing (?:was )?spent|spent nothing|"
                             r"(?<![\d.])0(?:\.0+)?\s*%\s*(?:budget )?execution|execution rate (?:of |was |is )?0(?:\.0+)?\s*%?(?![.\d])|execution rate\b[^?]{0,60}?(?<![\d.])0(?:\.0+)?\s*%?\s*\?|zero (?:execution|spending)|"
                             r"execution rate\b[^?]{0,20}?\b(?:only|just|so low|this low|that low|low|below|under)\b|"
                             r"(?:only|just) (?:execute[ds]?|spen[dt]|use[ds]?)\b|(?:low|poor|slow) (?:execution|spending)", re.I)


def _reason_answer(q: str, named: list[ProjectRecord], lang: str, store) -> AskAnswer | None:
    """Why a named project's money was not (fully) spent: the reason its own form states under 存在问题、原因
    (stated_problems), quoted and cited to that line. None unless the question asks why about spending, and
    for several projects named (each would need its own reason; retrieval answers those)."""
    if not ((_WHY.search(q) or re.search(r"因为|由于|because|due to", q, re.I)) and _SPENDING_SHORT.search(q)):
        return None
    projects = {r.evaluation.project for r in named}
    if len(projects) != 1:
        return None
    texts, cits = [], []
    for r in named:
        sp = r.evaluation.stated_problems
        said = sp.text.strip() if sp is not None else ""
        # (a record stored before the reader skipped template prompts may still hold one: it states no reason)
        if not said or sp.ref is None or said in texts or is_placeholder(said):
            continue
        texts.append(said)
        cits.append(_cite_ref(sp.ref, r.filename))
    if not texts:
        return None
    name = next(iter(projects))
    said = "；".join(texts)
    text = (f"{name}的自评表在“存在问题、原因”中写明：{said}" if lang == "zh" else
            f"{name}: its self-evaluation form states under 存在问题、原因 (problems and reasons): {said}")
    rows = [{"project": name, "doc_id": r.doc_id, "stated_problems": r.evaluation.stated_problems.text}
            for r in named if r.evaluation.stated_problems is not None]
    return _finish(text, cits, rows, "structured:reason", lang, store, q)


def _without_names(q: str, named: list[ProjectRecord]) -> str:
    """The question's name key with the named projects' names (and aliases, longest first) taken out: what is
    left names what is asked of them (an indicator)."""
    rest = name_key(q)
    for r in named:
        for n in sorted([r.evaluation.project, *r.evaluation.aliases], key=len, reverse=True):
            rest = rest.replace(name_key(n), " ")
    return rest


def _indicator_answer(q: str, named: list[ProjectRecord], lang: str, store, prose_of=None) -> AskAnswer | None:
    """A figure of a named project's performance indicators (享受补贴人数, 日常检查企业数): the indicator whose
    name or printed figures share the question's words, or the one counting what the question counts (多少人 /
    how many people), with its target and actual value, cited to its row. Among several projects a loose name
    may mean, the one indicator that fits best. None when none fits, or two fit equally (not a guess)."""
    if not _ASKS_QUANTITY.search(q):
        return None
    rest = _without_names(q, named)
    # the project's own name words say which project, not which of its indicators (集体破产企业退休人员… of a
    # name printed with (困难) in it stays in the question)
    own = "".join(name_key(r.evaluation.project) for r in named) if rest == name_key(q) else ""
    pairs = {rest[i:i + 2] for i in range(len(rest) - 1)
             if not set(rest[i:i + 2]) & _QA_GENERIC and rest[i:i + 2] not in own}
    counted = {w for w in _MEASURE_EN if re.search(rf"(?:多少|几)\s*(?:个|名|户|位)?{w}", q) and w != "个"}
    if re.search(r"(?:多少|几)\s*(?:名|位)", q):
        counted.add("人")  # 多少名退休职工 counts people
    counted |= {w for w, pat in _MEASURE_EN.items() if re.search(rf"how many\s+(?:\S+\s+)?(?:{pat})\b", q, re.I)}
    # what an English question counts, in the words a Chinese indicator name uses
    pairs |= {zh for en, zh in _EN_NOUNS.items() if re.search(rf"\b{en}\b", q, re.I)}

    def fit(i) -> int:
        figures = (i.target.raw if i.target else "") + (i.actual.raw if i.actual else "")
        if counted and not re.search(r"\d", re.sub(r"[\d.]+\s*%", "", figures)):
            return 0  # a count asked: a qualitative indicator (有效保障) or a rate (满意度 100%) does not answer it
        text = name_key(" ".join(x for x in (i.level3, figures) if x))
        words = sum(1 for pr in pairs if pr in text)
        if not words and not counted:
            return 0
        # the measure counted: in the figures (≥302人) or as the name's count (站点个数, 企业数(家), 人次)
        unit = sum(2 for w in counted if w in figures or any(f in i.level3 for f in (f"{w}数", f"{w}次", f"({w})", f"（{w}）")))
        # 多少 asks a figure: of two indicators naming the same thing (站点个数 ≤52 / 站点使用次数 是), the numeric one
        return words * 2 + unit + bool(re.search(r"\d", figures))

    seen: set[str] = set()
    cands = []
    for r in named:
        if r.evaluation.project in seen:
            continue
        seen.add(r.evaluation.project)
        cands += [(r, i) for i in r.evaluation.indicators
                  if i.ref is not None and (i.actual is not None or i.target is not None)]
    if not cands:
        return None
    scored = sorted(((fit(i), n, r, i) for n, (r, i) in enumerate(cands)), key=lambda t: (-t[0], t[1]))
    if scored[0][0] < 2 or len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None  # nothing fits, or two indicators fit equally: not a guess
    _, _, rec, ind = scored[0]
    e = rec.evaluation
    target = ind.target.raw if ind.target else "—"
    actual = ind.actual.raw if ind.actual else "—"
    zh = lang == "zh"
    text = (f"{e.project}的绩效指标“{ind.level3}”：指标值{target}，实际完成值{actual}。" if zh else
            f"{e.project}: indicator “{ind.level3}” — target {target}, actual {actual}.")
    ref = ind.ref
    cit = _cite_ref(ref, rec.filename)
    rows = [{"project": e.project, "indicator": ind.level3, "target": target, "actual": actual}]
    cits = [cit]
    prose = prose_of() if prose_of is not None and counted else None
    units = "|".join(counted | ({"名", "位"} if "人" in counted else set()))
    if prose is not None and prose.citations and not prose.route.endswith("not_found") and counted \
            and re.search(rf"\d\s*(?:{units})", prose.answer):
        # the report's text often says more of the same count (上半年12人、下半年11人 of 23人次): shown too
        text += ("报告正文：" if zh else " The report's text: ") + _quoted_body(prose.answer)
        cits += prose.citations
    return _finish(text, cits, rows, "structured:indicator", lang, store, q)


# a form's details asked of a named project: who implements it, the execution row's own score (分值/得分 of 预算执行率)
_IMPLEMENTER_Q = re.compile(r"实施单位|具体实施|由哪个单位|哪个单位(?:负责|实施|承担)|承担单位|\bimplement(?:s|ed|ing)?\b|"
                            r"implementing (?:unit|agency|body)", re.I)
_UNIT_SAID = {"implementer": ("{p}的实施单位是{v}。", "{p} is implemented by {v}."),
              "department": ("{p}的主管部门是{v}。", "{p} is under {v} (主管部门).")}
# the department in charge of a named project (its form's 主管部门), not a department asked as a scope
_IN_CHARGE_Q = re.compile(r"主管部门|主管单位|(?:哪个|什么|哪一个|哪家)(?:部门|单位)主管|谁主管|主管的?是(?:哪|谁)|"
                          r"归(?:哪个|什么)(?:部门|单位)|\bin charge of\b|supervising (?:department|bureau)|"
                          r"which (?:department|bureau) (?:is )?(?:in charge|responsible)|administered by", re.I)
_EXEC_SCORE_Q = re.compile(r"(?:预算)?执行(?:率)?(?:那一项|这一项|一项|部分)?(?:的)?(?:得分|(?:得了?|打了?|评了?)(?:多少|几)?分)|"
                           r"资金执行得分|执行率得分|(?:score|points?)\b[^?]{0,40}\bfor (?:the )?(?:budget )?execution|execution score",
                           re.I)


def _form_detail_answer(q: str, named: list[ProjectRecord], lang: str, store) -> AskAnswer | None:
    """What a named project's form prints beyond its headline figures: its implementing unit (实施单位), the
    row of a fund source the question names (财政资金, 上年结转资金 …) or the score the execution row gives
    (得分 of 预算执行率, out of its 分值). Each cited to the line that prints it; None when the question asks none
    of these, or the form does not print it."""
    zh = lang == "zh"
    asks_implementer, asks_exec_score = bool(_IMPLEMENTER_Q.search(q)), bool(_EXEC_SCORE_Q.search(q))
    asks_in_charge = bool(_IN_CHARGE_Q.search(q)) and not asks_implementer
    plain = normalize_text(q)
    texts, cits, rows, seen = [], [], [], set()
    for r in named:
        e = r.evaluation
        key = (e.project, e.doc_id, e.unit_id)
        if key in seen:
            continue
        seen.add(key)
        # the implementing unit or the department in charge, as its form prints it, cited where it does
        unit = next(((fld, v) for asked, fld in ((asks_implementer, "implementer"), (asks_in_charge, "department"))
                     if asked and (v := getattr(e, fld))), None)
        if unit is not None:
            fld, v = unit
            ln = _line_with(store, r, v)
            if ln is not None:
                texts.append(_UNIT_SAID[fld][0 if zh else 1].format(p=e.project, v=v))
                cits.append(_cite_line(r.doc_id, r.filename, ln))
                rows.append({"project": e.project, fld: v})
            continue
        # (the digest's heads keep the funds without their source rows: the full record has them)
        f = e.full().funds if callable(getattr(type(e), "full", None)) else e.funds
        src = next((x for x in sorted(f.sources, key=lambda x: -len(x.name))
                    if len(x.name) >= 4 and normalize_text(x.name) in plain), None)
        if src is not None:
            bits = [(lab_zh, lab_en, fig) for lab_zh, lab_en, fig in (
                ("年初预算数", "initial budget", src.initial_budget), ("全年预算数", "budget", src.adjusted_budget),
                ("执行数", "executed", src.executed)) if fig is not None and fig.ref is not None]
            if not bits:
                continue
            texts.append(f"{e.project}的{src.name}：" + "，".join(f"{a}{fig.raw}{f.unit}" for a, _, fig in bits) + "。" if zh else
                         f"{e.project}, {src.name}: " + ", ".join(f"{b} {fig.raw} {f.unit}" for _, b, fig in bits) + ".")
            cits.extend(_cite_ref(fig.ref, r.filename) for *_, fig in bits[:1])
            rows.append({"project": e.project, "source": src.name, **{b: fig.raw for _, b, fig in bits}})
            continue
        if asks_exec_score and f.exec_score is not None and f.exec_score.ref is not None:
            w = f.exec_weight.raw if f.exec_weight is not None else None
            texts.append(f"{e.project}的预算执行率得分{f.exec_score.raw}分" + (f"（分值{w}）" if w else "") + "。" if zh else
                         f"{e.project}: budget execution scored {f.exec_score.raw}" + (f" of {w}" if w else "") + ".")
            cits.append(_cite_ref(f.exec_score.ref, r.filename))
            rows.append({"project": e.project, "exec_score": f.exec_score.raw, "exec_weight": w})
    if not texts:
        return None
    return _finish(("" if zh else " ").join(texts), cits, rows, "structured:form_detail", lang, store, q)


# how many departments filed a named project (one name, several bureaus' forms)
_FILERS_Q = re.compile(r"(?:几|多少)(?:个|家)(?:单位|部门)|(?:哪些|哪几个|哪几家)(?:单位|部门)|"
                       r"how many (?:departments|bureaus|units)|which (?:departments|bureaus|units)", re.I)

# …几个单位里谁的执行率最高: the departments are where a figure is ranked or compared, not what is counted
_FILERS_FIGURE = re.compile(r"最(?:高|低|多|少|大|小|快|慢|好|差)|谁|更(?:高|低|多|少)|执行率|得分|分数|预算|执行数|支出|等级|"
                            r"highest|lowest|most|least|best|worst|higher|lower|score|rate|budget|spen[dt]|grade", re.I)


def _filers_answer(q: str, named: list[ProjectRecord], lang: str, store) -> AskAnswer | None:
    """The departments whose forms carry a named project, each with its form's year, each cited to the line
    of its form that names the project."""
    if not _FILERS_Q.search(q) or len({r.evaluation.project for r in named}) != 1 or _FILERS_FIGURE.search(q):
        return None
    zh = lang == "zh"
    seen: dict[str, tuple] = {}
    for r in named:
        d = r.evaluation.department
        if d and d not in seen:
            seen[d] = (r, r.evaluation.year)
    if not seen:
        return None
    name = named[0].evaluation.project
    items = [f"{d}（{y}年度）" if zh and y else f"{d} ({y})" if y else d for d, (_, y) in seen.items()]
    text = (f"{name}共有{len(seen)}个单位填报：{'、'.join(items)}。" if zh else
            f"{len(seen)} departments filed {name}: {'; '.join(items)}.")
    cits, rows = [], []
    for d, (r, y) in seen.items():
        # each form cited where it prints its year (the figure the answer gives for it), else its name
        ln = (_line_with(store, r, str(y)) if y else None) or _line_with(store, r, name)
        if ln is not None:
            cits.append(_cite_line(r.doc_id, r.filename, ln))
        rows.append({"project": name, "department": d, "year": y, "doc_id": r.doc_id})
    return _finish(text, cits, rows, "structured:filers", lang, store, q)


def _line_with(store, r: ProjectRecord, text: str):
    """The first line from the record's own first line on that prints `text` (its form's header, not another
    form of the same document before it)."""
    ref = r.evaluation.ref
    start = (ref.page, ref.line_start) if ref is not None else (0, 0)
    for ln in store.get_lines(r.doc_id):
        if (ln.page, ln.line_no) >= start and text in ln.text:
            return ln
    return None


# indicator names as an English question says them, in the words of the Chinese names they are part of
_INDICATOR_EN = ((r"safety accidents?", "安全责任事故"), (r"complaint rate", "投诉率"), (r"satisfaction", "满意度"),
                 (r"on-?time completion", "按期完成率"), (r"coverage rate", "覆盖率"), (r"acceptance rate", "验收合格率"))
# the projects whose indicator missed its target: asked as which (哪些项目…, which projects) with a word of failing
_MISSED_Q = re.compile(r"没(?:有)?(?:达标|达到|完成)|未(?:达标|达到|完成)|不达标|发生(?:了)?|出现(?:了)?|出(?:了|过)|有过|"
                       r"miss(?:ed)?|fail(?:ed)?|report(?:ed)? an?|had an?|with an?", re.I)
# an indicator named like one of the project's own figures (预算执行率, 预算完成率, 全年预算数); 预算控制率, a cost
# indicator, is not one
_PROJECT_FIGURE_NAME = re.compile(r"执行率|执行进度|支出进度|使用率|预算(?:执行|完成|支出|资金|数|金额|$)|自评得分|总分")
_WHICH_Q = re.compile(r"哪些|哪几个|哪个|有没有|是否有|which|any\b", re.I)


def _shortened_in(text: str, name: str) -> bool:
    """`text` holds `name` with a word left out (重大安全事故 for 重大安全责任事故): a run of four characters or
    more that begins and ends as the name does and keeps the rest of its characters in order."""
    if len(name) < 5:
        return False
    for i, ch in enumerate(text):
        if ch != name[0]:
            continue
        for j in range(i + 3, min(len(text), i + len(name) - 1)):
            if text[j] == name[-1]:
                it = iter(name)
                if all(c in it for c in text[i:j + 1]):
                    return True
    return False


def _named_indicator_answer(q: str, named: list[ProjectRecord], records: list[ProjectRecord], lang: str,
                            store) -> AskAnswer | None:
    """An indicator the question names by its own name (three characters or more, found in the question once
    the named projects' names are taken out): of the named projects, its row (target, actual, weight, score,
    deviation note) cited to that row; of no project named, the projects where it missed its target."""
    from service.qa.structured import _missed, missed_names

    rest = _without_names(q, named)
    english = [zh for en, zh in _INDICATOR_EN if re.search(rf"\b{en}\b", q, re.I)]
    named_by: dict[str, bool] = {}  # per indicator name: a few dozen names recur in thousands of forms

    def names_it(level3: str) -> bool:
        hit = named_by.get(level3)
        if hit is None:
            k = name_key(level3)
            # an indicator named like the project's own figure (预算执行进度): the project's is asked. An indicator
            # named with a word left out (重大安全事故) is read only when no project is named: beside a project
            # named in short (大病保险延续项目 执行率), those words are the project's
            hit = named_by[level3] = not (_PROJECT_FIGURE_NAME.search(k) and "指标" not in q) and \
                len(k) >= 3 and (k in rest or any(w in k for w in english) or not named and _shortened_in(rest, k))
        return hit

    zh = lang == "zh"
    if named:
        hits, seen = [], set()
        for r in named:
            for ind in r.evaluation.indicators:
                key = (r.evaluation.project, ind.level3, ind.actual.raw if ind.actual else None)
                if names_it(ind.level3) and ind.ref is not None and key not in seen:
                    seen.add(key)
                    hits.append((r, ind))
        if not hits:
            return None
        texts, cits, rows = [], [], []
        for r, ind in hits:
            target = ind.target.raw if ind.target else "—"
            actual = ind.actual.raw if ind.actual else "—"
            extra = ([f"分值{_d(ind.weight)}" if zh else f"weight {_d(ind.weight)}"] if ind.weight is not None else []) + \
                ([f"得分{_d(ind.score)}" if zh else f"score {_d(ind.score)}"] if ind.score is not None else [])
            note = ind.deviation_note
            texts.append(f"{r.evaluation.project}的绩效指标“{ind.level3}”：指标值{target}，实际完成值{actual}"
                         + "".join("，" + x for x in extra) + (f"；偏差原因：{note}" if note else "") + "。" if zh else
                         f"{r.evaluation.project}: indicator “{ind.level3}” — target {target}, actual {actual}"
                         + "".join(", " + x for x in extra) + (f"; deviation: {note}" if note else "") + ".")
            cits.append(_cite_ref(ind.ref, r.filename))
            rows.append({"project": r.evaluation.project, "indicator": ind.level3, "target": target, "actual": actual,
                         "weight": str(ind.weight) if ind.weight is not None else None,
                         "score": str(ind.score) if ind.score is not None else None})
        return _finish(("" if zh else " ").join(texts), cits, rows, "structured:indicator", lang, store, q)
    if not (_WHICH_Q.search(q) and _MISSED_Q.search(q)):
        return None
    found, cits, rows, names = [], [], [], []
    for r in records:
        # the names of its missed indicators first (the printed head has them): the indicators themselves
        # are read only for a project that missed one the question names
        if not any(names_it(n) for n in missed_names(r.evaluation)):
            continue
        for ind in _missed(r.evaluation):  # the digest's list (assessing every indicator was 0.7 s at 10,000)
            if names_it(ind.level3) and ind.ref is not None:
                label = ind.level3
                actual = ind.actual.raw if ind.actual else "—"
                target = ind.target.raw if ind.target else "—"
                found.append(f"{r.evaluation.project}（{label}：指标值{target}，实际{actual}）" if zh else
                             f"{r.evaluation.project} ({label}: target {target}, actual {actual})")
                cits.append(_cite_ref(ind.ref, r.filename))
                rows.append({"project": r.evaluation.project, "indicator": label, "target": target, "actual": actual})
                names.append(label)
                break
    if not names:
        return None  # no project missed it (or none has it): the question goes on to the other routes
    what = "、".join(dict.fromkeys(names))
    text = (f"{what}未达到指标值的项目共{len(found)}个：{'；'.join(found)}。" if zh else
            f"{len(found)} project(s) missed the target of {what}: {'; '.join(found)}.")
    return _finish(text, cits, rows, "structured:indicator_missed", lang, store, q)


_DEPT_REPORT = re.compile(r"部门整体(?:绩效)?(?:自评|评价)报告")
_STATED_GRADE = re.compile(r"(?:评价|评定|自评)?等级为[“\"']?(优秀|良好|优|良|中|差)")


def _stated_department_grade(store, doc_id: str):
    """(grade, line) where the document's 部门整体 report states its grade, else None."""
    inside = False
    for ln in store.get_lines(doc_id):
        if _DEPT_REPORT.search(ln.text):
            inside = True
        elif inside:
            m = _STATED_GRADE.search(ln.text)
            if m:
                return {"优秀": "优", "良好": "良"}.get(m.group(1), m.group(1)), ln
    return None


def _department_answer(question: str, store, filters: dict, lang: str, docs: dict[str, str]) -> AskAnswer | None:
    """部门整体 (department-wide) self-evaluation: its total and grade as the stored department record reads
    them, cited to the line that prints each."""
    from service.models import DepartmentEvaluation

    zh = lang == "zh"
    wants_total = re.search(r"得分|分数|总分|多少分|几分|自评分|评分|\d+(?:\.\d+)?\s*分|score|points", question, re.I)
    wants_grade = re.search(r"等级|评级|评为|级别|grade|rated", question, re.I)
    # its funds block (预算数 / 执行数 / 执行率 of the whole department), read as a project's figures are asked
    # (how much of its whole budget did it execute: the rate)
    wants_funds = [m for m in parse_part(question).metrics if m in ("rate", "budget", "executed")]
    if not (wants_total or wants_grade or wants_funds) and _FORMS_ASKED.search(question):
        return _department_forms(store, filters, lang, docs, question)
    if not (wants_total or wants_grade or wants_funds):
        return None
    texts, cits, rows = [], [], []
    for doc_id, filename in _docs_in_scope(docs, filters):
        for art in store.list_artifacts(doc_id, kind="department"):
            dep = DepartmentEvaluation.model_validate(art.payload)
            t, g = dep.reported_total, dep.reported_grade
            bits = []
            if (wants_total or not g) and t is not None:
                bits.append(f"部门整体绩效自评得分{t.raw}分" if zh else f"department-wide self-evaluation score {t.raw}")
                if t.ref:
                    cits.append(_cite_ref(t.ref, filename))
                # the report usually states the figure in prose too (…自评得分为95.04分): cite where it says so
                for ln in _stated_lines(store, doc_id, t.raw, t.ref):
                    cits.append(_cite_line(doc_id, filename, ln))
            if (wants_grade or not t) and g is not None:
                # the score the grade rests on beside it, as a project's grade is given (a grade cell alone,
                # 优, carries nothing a reader can check the answer against)
                with_total = t is not None and not (wants_total or not g)
                bits.append((f"评价等级{g.text}" + (f"（自评得分{t.raw}分）" if with_total else "")) if zh else
                            f"grade {g.text}" + (f" (score {t.raw})" if with_total else ""))
                if g.ref:
                    cits.append(_cite_ref(g.ref, filename))
                elif t is not None and t.ref is not None and g.text and g.text in (t.ref.quote or ""):
                    cits.append(_cite_ref(t.ref, filename))  # the grade printed on the total's own row (总分 100 99.61 优)
                elif (said := _stated_department_grade(store, doc_id)) is not None and said[0] == g.text:
                    ln = said[1]  # a grade read without its cell: cited where the report states it
                    cits.append(_cite_line(doc_id, filename, ln))
                if with_total and t.ref:
                    cits.append(_cite_ref(t.ref, filename))  # after the grade's own line
            elif wants_grade and g is None:
                # the form holds no grade cell, but the report's conclusion states it (评价等级为“优”)
                said = _stated_department_grade(store, doc_id)
                if said is not None:
                    grade, ln = said
                    bits.append(f"评价等级{grade}（报告正文）" if zh else f"grade {grade} (stated in the report)")
                    cits.append(_cite_line(doc_id, filename, ln))
            f = dep.funds
            for m in wants_funds if f is not None else ():
                fig = {"budget": f.adjusted_budget or f.initial_budget, "executed": f.executed}.get(m)
                if m == "rate":
                    fig = f.reported_rate
                    if fig is not None and fig.value is not None:
                        bits.append(f"预算执行率{_d(fig.value)}%" if zh else f"execution rate {_d(fig.value)}%")
                    elif f.executed is not None and (b := f.adjusted_budget or f.initial_budget) is not None \
                            and b.value and f.executed.value is not None:
                        rate = f.executed.value / b.value * 100
                        bits.append(f"预算执行率{_d(rate)}%（执行数{f.executed.raw}÷预算数{b.raw}）"
                                    if zh else f"execution rate {_d(rate)}% "
                                               f"(executed {f.executed.raw} ÷ budget {b.raw})")
                        fig = None
                        cits += [_cite_ref(x.ref, filename) for x in (f.executed, b) if x.ref]
                elif fig is not None:
                    label = {"budget": ("预算数", "budget"), "executed": ("执行数", "executed")}[m]
                    bits.append(f"{label[0]}{fig.raw}{f.unit}" if zh else f"{label[1]} {fig.raw} {f.unit}")
                if fig is not None and fig.ref:
                    cits.append(_cite_ref(fig.ref, filename))
            if not bits or t is None and g is None and not wants_funds:
                continue
            who = dep.department or filename
            year = f"{dep.year}年度" if dep.year and zh else (f" ({dep.year})" if dep.year else "")
            texts.append(f"{who}{year}" + "，".join(bits) + "。" if zh else f"{who}{year}: " + ", ".join(bits) + ".")
            rows.append({"department": dep.department, "year": dep.year, "doc_id": doc_id,
                         "reported_total": t.raw if t else None, "reported_grade": g.text if g else None,
                         **({"reported_rate": str(dep.funds.reported_rate.value)} if "rate" in wants_funds and dep.funds
                            and dep.funds.reported_rate and dep.funds.reported_rate.value is not None else {})})
    if not texts:
        return None
    return _finish(("" if zh else " ").join(texts), cits, rows, "structured:department", lang, store, question)


# how many department-wide forms there are, or which departments filed one (有几个部门做了部门整体自评, 部门整体自评表
# 一共几份, which departments filed a department-wide form)
_FORMS_ASKED = re.compile(r"几个|多少个|几份|多少份|几家|多少家|哪些(?:部门|单位)|哪几个|哪几家|how many|number of|"
                          r"which (?:departments|bureaus|units)", re.I)


def _department_forms(store, filters: dict, lang: str, docs: dict[str, str], question: str) -> AskAnswer | None:
    """The 部门整体 forms stored in the question's scope, counted and listed by department and year, each
    cited to its form's title."""
    from service.models import DepartmentEvaluation

    zh = lang == "zh"
    items, cits, rows = [], [], []
    for doc_id, filename in _docs_in_scope(docs, filters):
        for art in store.list_artifacts(doc_id, kind="department"):
            dep = DepartmentEvaluation.model_validate(art.payload)
            who = dep.department or filename
            items.append(f"{who}（{dep.year}年度）" if zh and dep.year else
                         f"{who} ({dep.year})" if dep.year else who)
            rows.append({"department": dep.department, "year": dep.year, "doc_id": doc_id})
            if dep.ref is not None:
                cits.append(_cite_ref(dep.ref, filename))
    if not items:
        return None
    text = (f"部门整体支出绩效自评表共{len(items)}份：{'、'.join(items)}。" if zh else
            f"{len(items)} department-wide self-evaluation forms (部门整体支出绩效自评表): {'; '.join(items)}.")
    return _finish(text, cits, rows, "structured:department_forms", lang, store, question)


def _stated_lines(store, doc_id: str, raw: str, ref, limit: int = 2) -> list:
    """Lines of the document that state a department-wide score in words (整体 … raw 分), other than `ref`."""
    out = []
    pat = re.compile(rf"整体.{{0,30}}?(?<![\d.]){re.escape(raw)}\s*分")
    for ln in store.get_lines(doc_id):
        if pat.search(ln.text) and not (ref and ln.page == ref.page and ref.line_start <= ln.line_no <= ref.line_end):
            out.append(ln)
            if len(out) >= limit:
                break
    return out


def accounts_parts(question: str) -> list[str]:
    """"基本支出和项目支出各是多少" asks two amounts: one sub-question per amount named, the others blanked out
    (the accounts answerer answers the first amount it recognises)."""
    from service.accounts.qa import _NARRATIVE_TOTALS, _TOTALS

    # both amounts named with one word of expenditure (基本和项目支出, basic and project expenditure)
    q = re.sub(r"基本(?:支出)?(和|与|及|、)项目支出", r"基本支出\1项目支出", question)
    q = re.sub(r"\bbasic and project (expenditure|spending)", r"basic \1 and project \1", q, flags=re.I)
    spans: list[tuple[int, int]] = []
    for pat, *_ in [*_TOTALS, *_NARRATIVE_TOTALS]:
        for m in re.finditer(pat, q, re.I):
            if not any(a < m.end() and m.start() < b for a, b in spans):
                spans.append(m.span())
    if len(spans) < 2 or not re.search(r"和|与|及|、|以及|分别|各|\band\b", q):
        return [question]
    spans.sort()
    # an enumeration's comma or conjunction left dangling at an end (…人员经费、) would hide that the item ends the
    # sub-question, which is how a bare item asked as a noun phrase is recognised
    return [re.sub(r"[\s、，,；;和与及？?。.!！]+$", "", re.sub(r"\s+", " ", strip_spans(q, [sp for sp in spans if sp != keep])))
            for keep in spans]


# the whole corpus asked for (所有报告一共多少个项目, across all reports): a count over everything stored
# words only a 部门决算 question uses: a 科目 named like a project (城乡医疗救助科目决算) is the accounts' subject
_ACCOUNTS_WORDS = re.compile(r"科目|支出决算|决算数|完成年初预算|年初预算的百分之|决算(?:里|中|的)?(?:总)?支出|"
                             # (of / exceeded the initial budget; "Initial budget of <project>?" is the project's)
                             r"(?:of|complet\w*|exceed\w*|above|below|over|under) (?:the |its |their )?initial budget|"
                             r"本年支出合计|total expenditure|final accounts", re.I)
# the projects' own amounts added up (区文广旅局项目实际支出合计, Total spending of X's projects), not the
# 决算's 项目支出 item (项目支出合计 stays the accounts' figure: it names no project's own amount)
_PROJECTS_AMOUNT = re.compile(r"项目(?:的)?(?:实际支出|实际执行|执行数|执行金额|实际花费|花(?:了|的)?(?:钱|多少))|"
                              r"(?:'s|of (?:the |its |their |all )?)\s*projects\b|\bprojects'", re.I)
_METRIC_IN_NAME = re.compile(r"得分|执行|预算|等级|最高|最低|最多|最少|哪|多少|几")
_ALL_Q = re.compile(r"所有(?:报告|项目|文件|单位|部门)|全部(?:报告|项目)|(?:整个)?语料(?:中|里)?|across all|in all (?:the )?reports|"
                    r"all (?:the )?(?:reports|documents)", re.I)
_YES_NO = re.compile(r"是否|是不是|有没有|[吗么嘛吧][？?]?$|对不对|对吗|对吧|没错吧|属实吗|^(?:did|does|do|is|was|were|are|has|have|had)\b|"
                     r"^is it (?:right|true|correct) that\b", re.I)
_DOCS_COUNT = re.compile(r"(?:几|多少)(?:份|个|篇)(?:报告|文件|文档)|(?:报告|文件|文档)[^。？?]{0,6}?(?:几|多少)(?:份|篇)|"
                         r"how many (?:reports|documents|files)|number of (?:reports|documents)", re.I)
# a figure asked as what the report says (决算里说…平均得分, what … does the report state): its own words
_STATED_Q = re.compile(r"(?:决算|报告|说明|文中|原文)(?:里|中|上)?(?:说|称|写|提到|讲|所述)|决算说明|"
                       r"(?:report|accounts|document)s?\W{0,3}(?:state|say|report|mention)s?\b|\bstated\b", re.I)
# an office inside a bureau (人事处, 劳动监察大队): the forms do not say which office a project is, the prose does
_SUBUNIT_Q = re.compile(r"[\u4e00-\u9fff]{1,8}(?:处|科|股|大队|中心|所|站)(?=一共|共|有|的|评价|自评|[\s's]|$)")
_STATED_COUNT = re.compile(r"(?:进行|开展|组织)了?(?:绩效)?自评|支出绩效|carr(?:y|ied) out|conduct(?:ed)?", re.I)
_WHY_Q = re.compile(r"为什么|为何|原因|why|reason", re.I)
_HOW_Q = re.compile(r"措施|建议|改进|整改|measure|improve|plan|promis|recommend", re.I)


def _own_explanations(question: str, intent: Intent, records: list[ProjectRecord]) -> list[Sentence]:
    """For "why …" or "what measures …" about one named project, the report's own answer — its stated
    problems, measures and the deviation notes of its indicators, as extracted with their exact lines — is
    the best evidence there is, wherever retrieval ranked it."""
    why, how = bool(_WHY_Q.search(question)), bool(_HOW_Q.search(question))
    if len(intent.projects) != 1 or not (why or how):
        return []
    out: list[Sentence] = []
    for r in records:
        e = r.evaluation
        if e.project != intent.projects[0]:
            continue
        refs = []
        if why:
            refs += [e.stated_problems.ref if e.stated_problems else None]
            refs += [i.ref for i in e.indicators if i.deviation_note]
        if how:
            refs += [e.stated_measures.ref if e.stated_measures else None,
                     e.stated_problems.ref if e.stated_problems else None]
        for ref in refs:
            if ref is not None and ref.quote:
                out.append(Sentence(ref.quote, ref.doc_id, ref.page, ref.line_start, ref.line_end, hit_rank=0,
                                    bonus=0.5))
        break  # one rendering of the report is enough
    return out


_QUOTED_LEAD = {True: "根据报告原文：", False: "From the reports (quoted in Chinese): "}  # an extractive answer's


def _quoted_body(answer: str) -> str:
    """An extractive answer without its lead-in, to follow another answer's own words."""
    for lead in _QUOTED_LEAD.values():
        answer = answer.removeprefix(lead)
    return answer


_USAGE_Q = re.compile(r"用途|用在|花在|用来|用处|用于哪|what (?:was|is|were) .{0,40}used for|used for what", re.I)


def _open_answer(question: str, intent: Intent, store, index, filters: dict, llm, settings: Settings,
                 known_projects: list[str], records: list[ProjectRecord], filenames: dict[str, str]) -> AskAnswer:
    lang = intent.lang
    if index is None:
        return AskAnswer(answer=NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN, route="open:no_index", lang=lang)
    if _USAGE_Q.search(question):
        question += " 用于"  # reports say what money is 用于 (主要用于办案、调查取证…), people ask its 用途
    search_filters = {k: v for k, v in filters.items() if k in ("project", "year")}
    if filters.get("doc_id"):
        search_filters["doc_id"] = filters["doc_id"]
    if intent.projects and "project" not in search_filters and len(intent.projects) == 1:
        search_filters["project"] = intent.projects[0]
    query = bridge_english(question) if lang == "en" else question
    hits = index.search(query, k=6, filters=search_filters or None)
    if not hits and search_filters.get("project"):
        hits = index.search(query, k=6, filters={k: v for k, v in search_filters.items() if k != "project"} or None)
    # the hits' lines (and the three after each, to finish a cut sentence) in a few queries, not one page each
    spans = [SimpleNamespace(doc_id=h.chunk.doc_id, page=h.chunk.page, line_start=h.chunk.line_start,
                             line_end=h.chunk.line_end + 3) for h in hits if h.chunk.page == h.chunk.page_end]
    fetch = _fetch_lines(store, spans)
    sentences = []
    for rank, hit in enumerate(hits):
        c = hit.chunk
        lines = []
        for page in range(c.page, c.page_end + 1):
            start = c.line_start if page == c.page else 1
            end = c.line_end if page == c.page_end else 10**6
            lines.extend(fetch(c.doc_id, page, start, end))
        if lines:
            lines = complete_last_sentence(lines, fetch(c.doc_id, lines[-1].page, lines[-1].line_no + 1,
                                                        lines[-1].line_no + 3))
        sentences.extend(split_sentences(c.doc_id, lines, rank, context=c.context))
    sentences.extend(_own_explanations(question, intent, records))
    if llm is not None:
        from service.qa.llm_answer import answer_with_llm  # edge: only when a model is configured

        out = answer_with_llm(question, hits, sentences, llm=llm, settings=settings, lang=lang)
        if out is not None:
            text, cits = out
            for c in cits:
                c.filename = filenames.get(c.doc_id)
            return _finish(text, cits, [], "open:llm", lang, store)
    # the chunk's context (its section heading, table header) counts: "主要经验及做法" is the heading, not the text
    texts = [f"{h.chunk.label}\n{h.chunk.section}\n{h.chunk.embed_text}" for h in hits[:3]]
    year_question = question
    for name in intent.projects:  # "提前下达2022年…资金" carries its year in its name
        year_question = year_question.replace(name, " ")
    missing = unknown_names(question, known_projects, index)
    if missing or unsupported_years(year_question, texts) or coverage(question, texts, intent.projects) < 0.25:
        return _not_found(missing, known_projects, lang, "open:not_found", exclude=intent.projects)
    chosen = keep_figures(question, pick(question, sentences, names=intent.projects))
    if not chosen:
        return AskAnswer(answer=NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN, route="open:not_found", lang=lang)
    parts, cits = [], []
    for n, s in enumerate(chosen, 1):
        parts.append(f"{display(s.text)}[{n}]")
        cits.append(Citation(doc_id=s.doc_id, filename=filenames.get(s.doc_id), page=s.page,
                             line_start=s.line_start, line_end=s.line_end, quote=s.text))
    return _finish(_QUOTED_LEAD[lang == "zh"] + " ".join(parts), cits, [], "open:extractive", lang, store)


def _head_lines(store, doc_ids: list[str]) -> dict[str, list[str]]:
    try:
        return store.head_lines(doc_ids, limit=60)
    except Exception:  # a store without lines profiles its documents from their records only
        return {}


_PROFILE_SET: list = []  # [(store state, profiles)]: the last question's, reused while nothing changed


def _profiles(store, doc_rows, records: list[ProjectRecord], data_dir=None) -> dict[str, DocProfile]:
    """Departments and years each stored document covers: its first lines (the title block) and its
    records' department fields; cached per stored version."""
    # the same store state as the last question's means the same profiles: rebuilding the per-document keys
    # cost ~0.3 s a question at 10,000 documents
    state = getattr(records, "key", None)
    if state is not None and _PROFILE_SET and _PROFILE_SET[0][0] == state:
        return _PROFILE_SET[0][1]
    out = {}
    # a document's key says when it was ingested and what it holds, so it decides its records' fields too
    doc_keys = _STATE_OF[0][1] if _STATE_OF and _STATE_OF[0][0] is doc_rows else [doc_key(d) for d in doc_rows]
    keys = dict(zip((d.doc_id for d in doc_rows), doc_keys))
    # kept in the digest (service.qa.digest), per data dir and on disk: what an earlier process built is
    # reused, and the digest drops the profiles of documents deleted or ingested again
    cache = digest_for(data_dir).profiles()
    missing = [d for d, k in keys.items() if k not in cache]
    heads = _head_lines(store, missing) if missing else {}
    fields: dict[str, list[str]] = defaultdict(list)
    years: dict[str, set[int]] = defaultdict(set)
    if missing:
        for r in records:
            e = r.evaluation
            fields[r.doc_id] += [x for x in (e.department, e.implementer) if x]
            if e.year:
                years[r.doc_id].add(e.year)
    for d in doc_rows:
        key = keys[d.doc_id]
        prof = cache.get(key)
        if prof is None:
            first = heads.get(d.doc_id, [])
            head = [d.title or "", *first[:3]]
            prof = cache[key] = profile(d.doc_id, head, sorted(set(fields[d.doc_id])), sorted(years[d.doc_id]),
                                        first[:60])
            digest_for(data_dir).mark_changed()
        out[d.doc_id] = prof
    if state is not None:
        _PROFILE_SET[:] = [(state, out)]
    return out


def _covered(profiles: list[DocProfile], lang: str) -> str:
    """What the corpus covers, one entry per department: 上街区人社局（2020年度）."""
    seen: dict[str, set[int]] = {}
    for p in profiles:
        label = next((d.label() for d in p.departments if d.place), None) or next(
            (d.label() for d in p.departments if d.kind), None)
        if label:
            seen.setdefault(label, set()).update(p.years)
    items = [f"{k}（{'、'.join(str(y) for y in sorted(v))}年度）" if v and lang == "zh" else
             (f"{k} ({', '.join(str(y) for y in sorted(v))})" if v else k) for k, v in seen.items()]
    return "、".join(items) if lang == "zh" else ", ".join(items)


@dataclass
class _Scope:
    """What a question is about, resolved against the store: the records in its department/year scope,
    the projects it names (in the order it names them), and a refusal when the scope is not covered."""

    records: list[ProjectRecord]
    named: list[ProjectRecord]
    doc_ids: list[str] | None
    label: str
    refusal: str | None = None
    by_department: bool = False  # the question names a department the corpus covers
    groups_of: dict[str, str] | None = None  # doc_id → the department named, when several are named
    note: str | None = None  # said before the answer (a loose name answered for every project it may mean)
    excluded: tuple[str, ...] = ()  # projects the question sets aside (除了X…), already out of `records`
    set_aside: tuple[tuple[int, int], ...] = ()  # where the normalized question sets them aside


# what a question asks of a project's own figures (not a 部门决算 item or a passage)
_EACH = re.compile(rf"各|分别|每年|每一年|respectively|each|{HOW_MANY_EACH.pattern}", re.I)
_EACH_DEPARTMENT = re.compile(r"各(?:个)?(?:单位|部门|区县|县区|地区)|每个(?:单位|部门)|分(?:单位|部门)|按(?:单位|部门)|"
                              r"(?:by|per|each) (?:department|unit|bureau)", re.I)
_NAMES_SUBJECT = re.compile(r"支出|收入|经费|公积金|缴费|拨款|决算|expenditure|spending|spen[dt]|income|(?<![a-z])pa(?:y|id)(?![a-z])")
_ASKS_RATE = re.compile(r"执行率|完成率|执行进度|execution rate|completion rate", re.I)
# an English question asking a project's own figures (the only ones an English-only name is linked for)
_EN_PROJECT_FIGURE = re.compile(r"\b(?:score[ds]?|grade[ds]?|rating|rated|budget(?:ed)?|execution|executed|spen[dt]|"
                                r"spending)\b", re.I)
_DISTINCTIVE_ONLY = 0.6  # link_projects' score for a name linked by a distinctive run alone (its threshold)
_PROJECT_FIGURE_Q = re.compile(r"得分|几分|多少分|自评|总分|预算|执行率|执行数|执行了|等级|评级|score|grade|budget|"
                               r"execution rate", re.I)


# kinds of office that are usually a unit inside another bureau's report (社保中心 within 人社局): named
# alone, their absence from the reports' titles says nothing
_SUBUNIT_KINDS = {"社保"}


# a project the question sets aside (除了X, 不算X的话, X以外, other than X): what it asks is about the rest
_EXCLUDE = (
    re.compile(r"除(?:了|去|开)\s*(?P<x>[^，,。？?；;|]+?)\s*(?:(?:以外|之外)的?|外?(?:的话)?(?=[，,。？?；;]|还|$))"),
    re.compile(r"不(?:算|计|包括|含)\s*(?P<x>[^，,。？?；;|]+?)(?:的话|在内)?(?=[，,。？?；;]|是|还|$)"),
    re.compile(r"(?:^|(?<=[，,；;]))\s*(?P<x>[^，,。？?；;|]+?)(?:那个|这个|那项|这项)?(?:以外|之外|除外|不算)"),
    re.compile(r"(?:other than|apart from|excluding|except(?: for)?|besides|aside from)\s*(?P<x>[^,?.;]+?)(?=[,?.;]|$)", re.I),
)


def _exclusions(q: str) -> list[tuple[str, tuple[int, int]]]:
    """(the set-aside words, the span of the whole set-aside phrase) in the normalized question."""
    nq = normalize_text(q)
    out: list[tuple[str, tuple[int, int]]] = []
    for pat in _EXCLUDE:
        for m in pat.finditer(nq):
            if not any(a < m.end() and m.start() < b for _, (a, b) in out):
                out.append((m.group("x").strip(), m.span()))
    return out


_SPELLINGS: list[tuple[object, dict[str, str]]] = []  # [(records' store state, their spellings)]: the last one


def _spellings(records: list[ProjectRecord]) -> dict[str, str]:
    """Every name and alias of the records → the project it spells; kept per store state (records.key), as
    the records themselves are (a dict over every stored project, read by every question)."""
    state = getattr(records, "key", None)
    if state is not None and _SPELLINGS and _SPELLINGS[0][0] == state:
        return _SPELLINGS[0][1]
    out: dict[str, str] = {}
    for r in records:
        e = r.evaluation
        out.setdefault(e.project, e.project)
        for a in e.aliases:
            out.setdefault(a, e.project)
    if state is not None:
        _SPELLINGS[:] = [(state, out)]
    return out


_PROFILE_WORDS: list[tuple[dict, tuple]] = []  # [(profiles, what _profile_sets made of them)]: the last one


def _profile_sets(profiles: dict[str, DocProfile]) -> tuple[set[str], list[str]]:
    """The places the stored documents name, and the bureaus they name beyond the usual kinds (应急管理局,
    自然资源局: a question names them in full or abbreviated, 应急局). Kept for the profiles object they were
    read from (the same while the store is unchanged): at 10,000 documents every question read them anew."""
    if _PROFILE_WORDS and _PROFILE_WORDS[0][0] is profiles:
        return _PROFILE_WORDS[0][1]
    places = {d.place for p in profiles.values() for d in p.departments if d.place}
    bureaus = sorted({d.kind for p in profiles.values() for d in p.departments
                      if d.kind and d.kind not in DEPARTMENT_KINDS})
    _PROFILE_WORDS[:] = [(profiles, (places, bureaus))]
    return places, bureaus


def _scope(q: str, lang: str, records: list[ProjectRecord], profiles: dict[str, DocProfile]) -> _Scope:
    """Department, year and projects the question asks about, resolved against what is stored. A
    department or year the corpus does not cover is refused with what it does cover, never answered with
    another year's or another department's figures."""
    zh = lang == "zh"
    spellings = _spellings(records)
    known_places, bureaus = _profile_sets(profiles)
    # the words of a department the question names are no project's (市退役军人局 is no mention of
    # 退役军人优抚补助经费): a name read wholly inside them is dropped
    in_q = departments_in(q, bureaus)
    nq, qkey = normalize_text(q), question_key(q)
    dept_keys = [question_key(nq[a:b]) for _, (a, b) in in_q]

    def inside_department(words: str) -> bool:
        return bool(words) and any(words in k and len(words) < len(k) for k in dept_keys)
    mentions = [m for m in link_projects(q, spellings) if not inside_department(qkey[m.span[0]:m.span[1]])]
    if not mentions and lang != "zh" and _EN_PROJECT_FIGURE.search(q):
        # a name said only in English (the labor inspection fund): read in its Chinese words; the spans are
        # of that translation, not of the question, so they strip nothing from it
        zh_words = english_names_in_chinese(q)
        if zh_words:
            mentions = [Mention(m.project, m.score, (0, 0), m.ambiguous_with) for m in link_projects(zh_words, spellings)]
    loose_note = None
    if _PROJECT_FIGURE_Q.search(q) and (not mentions or len(mentions) == 1 and not mentions[0].ambiguous_with
                                        and mentions[0].score <= _DISTINCTIVE_ONLY):
        # no project named, or one linked only by a run of its name that others share in part (养老保险补助 of
        # 退役人员待安置期间养老保险补助专项资金, where three more projects are 养老保险 subsidies): every project
        # the words may mean, each answered and said so, rather than a guess or quoted passages
        loose = loose_candidates(q, spellings)
        if loose is not None and (not mentions or mentions[0].project in loose[1]) and not inside_department(loose[0]):
            words, cands = loose
            i = qkey.find(words)
            mentions = [Mention(cands[0], 0.5, (i, i + len(words)), cands[1:])]
            loose_note = (f"“{words}”不是某一个项目的全称，名称与之相符的项目有{len(cands)}个，分别回答如下：" if zh else
                          f"“{words}” is not the full name of one project; {len(cands)} projects match it: ")
    years = years_in(strip_spans(qkey, [m.span for m in mentions]))
    found = [(d, sp) for d, sp in in_q if d.place]
    found += [(Department(pl, None), sp) for pl, sp in places_in(q)
              if pl in known_places and not any(d.place == pl for d, _ in found)]
    # a place the corpus covers followed by a bureau's short name (中原医保, 高新人社): that bureau
    for pl in sorted(known_places):
        if any(d.place == pl for d, _ in found):
            continue
        m = re.search(rf"{re.escape(pl)}(?:区|县)?({'|'.join(DEPARTMENT_KINDS)})", nq)
        if m:
            found.append((Department(pl, m.group(1)), m.span()))
    if not found:
        # a kind of department alone (教育局有哪些项目…) that no stored report is from: not covered either
        # a kind the corpus covers scopes the question as a placed one does (人社局有几个项目: the 人社局 reports
        # of every place; 人社局和医保局各有多少个项目: a group each)
        bare = [(d, sp) for d, sp in in_q if not d.place and d.kind and d.kind not in _SUBUNIT_KINDS]
        found = bare
    if not found:
        # a bureau no stored report names (林业局有哪些项目): not covered, rather than every project there is
        named_spans = [sp for _, sp in in_q]
        unknown = [(b, sp) for b, _, sp in bureaus_in(q) if not any(a < sp[1] and sp[0] < e for a, e in named_spans)]
        if unknown:
            words = "、".join(dict.fromkeys(nq[a:e] for _, (a, e) in unknown))
            msg = (f"没有找到{words}的报告：语料中的单位为{_covered(list(profiles.values()), lang)}。" if zh else
                   f"Not found: the reports do not cover {words}; they cover {_covered(list(profiles.values()), lang)}.")
            return _Scope(records=[], named=[], doc_ids=[], label=words, refusal=msg)
    asked = [d for d, _ in found]
    docs = list(profiles.values())
    dept_label = "、".join(dict.fromkeys(nq[a:b] for _, (a, b) in found))  # as the question names it
    if asked:
        docs = [p for p in docs if any(p.covers(d) for d in asked)]
        if not docs:
            msg = (f"没有找到{dept_label}的报告：语料中的单位为{_covered(list(profiles.values()), lang)}。" if zh else
                   f"Not found: the reports do not cover {dept_label}; they cover {_covered(list(profiles.values()), lang)}.")
            return _Scope(records=[], named=[], doc_ids=[], label=dept_label, refusal=msg)
    if years:
        in_year = [p for p in docs if not p.years or set(p.years) & set(years)]
        if not any(p.years for p in in_year):
            have = sorted({y for p in docs for y in p.years})
            ys = "、".join(str(y) for y in years)
            who = dept_label or ("语料" if zh else "the corpus")
            msg = (f"没有找到{dept_label}{ys}年度的报告：语料中{'该单位' if asked else ''}只有"
                   f"{'、'.join(str(y) for y in have)}年度报告。" if zh else
                   f"Not found: no {ys} report of {who}; the corpus has {', '.join(str(y) for y in have)} only.")
            return _Scope(records=[], named=[], doc_ids=[], label=dept_label, refusal=msg)
        docs = in_year
        have = {y for p in docs for y in p.years}
        missing = [y for y in years if y not in have]
        if missing and have:
            # several years asked, some not in the corpus: answer the covered ones and say so, never let the
            # answer read as if it held the missing years too
            gone = "、".join(str(y) for y in missing)
            kept = [y for y in years if y in have]
            years_note = (f"语料中{dept_label or ''}没有{gone}年度的报告，以下仅为"
                          f"{'、'.join(str(y) for y in kept)}年度：" if zh else
                          f"The corpus has no {gone} report{' of ' + dept_label if dept_label else ''}; "
                          f"below is {', '.join(str(y) for y in kept)} only: ")
            years = kept
            loose_note = years_note + (loose_note or "")
    doc_ids = {p.doc_id for p in docs}
    scoped = [r for r in records if r.doc_id in doc_ids and (not years or r.evaluation.year in years or r.evaluation.year is None)]
    if asked:
        before = scoped
        scoped = _own_department(scoped, asked, [r for r in records if r.doc_id in doc_ids])
        with_projects = {r.doc_id for r in records}
        if before and not scoped and all(p.doc_id in with_projects for p in docs):
            # the documents cover the department and the year, but none of their projects is that
            # department's in that year (a 2019 report that also holds the bureau's 2020 project)
            asked_txt = f"{dept_label}{'、'.join(str(y) for y in years)}{'年度' if years else ''}"
            msg = (f"没有找到{asked_txt}的项目：语料中没有该单位该年度的项目自评表。" if zh else
                   f"Not found: the reports hold no project of {asked_txt}.")
            return _Scope(records=[], named=[], doc_ids=[], label=dept_label, refusal=msg)
    # the spellings of the projects in scope (a set lookup: testing every spelling against every scoped record
    # was quadratic in the corpus)
    in_scope = {r.evaluation.project for r in scoped}
    local = {sp: c for sp, c in spellings.items() if c in in_scope}
    if (asked or years) and mentions:
        # a name read within the scope asked: 上街区…养老保险补助 is the 上街区 pension subsidy, not another
        # department's project whose name shares more words
        mentions = link_projects(q, local) or (link_projects(q, local, relaxed=True) if asked else []) or mentions
    # set aside (除了X…): the projects named there leave the scope, and are no subject of the question
    excluded: set[str] = set()
    set_aside = _exclusions(q)
    for words, _ in set_aside:
        linked = {m.project for m in link_projects(words, local)}
        if not linked:
            # words several names share (不算提前下达的项目, excluding the advance allocations (提前下达)): every
            # project in scope whose name holds them
            stem = re.sub(r"(?:的)?(?:项目|资金|经费)$", "", "".join(re.findall(r"[\u4e00-\u9fff0-9]+", words)))
            if len(stem) >= 2:
                linked = {r.evaluation.project for r in scoped if stem in normalize_text(r.evaluation.project)}
        excluded |= linked
    if excluded:
        scoped = [r for r in scoped if r.evaluation.project not in excluded]
        mentions = [m for m in mentions if m.project not in excluded]
        note = (f"（不含{'、'.join(sorted(excluded))}）" if zh else f"(excluding {', '.join(sorted(excluded))}) ")
        loose_note = (loose_note or "") + note
    named: list[ProjectRecord] = []
    for m in sorted(mentions, key=lambda m: m.span[0]):
        for name in [m.project, *m.ambiguous_with]:
            named += [r for r in scoped if r.evaluation.project == name and r not in named]
    if mentions and not named and not excluded:
        where = [r for r in records if r.evaluation.project in {m.project for m in mentions}]
        ys = sorted({r.evaluation.year for r in where if r.evaluation.year})
        asked_txt = f"{dept_label}{'、'.join(str(y) for y in years)}{'年度' if years else ''}"
        msg = (f"没有找到{asked_txt}的{mentions[0].project}：语料中该项目只有"
               f"{'、'.join(str(y) for y in ys) + '年度的' if ys else ''}报告数据。" if zh else
               f"Not found: {mentions[0].project} is not in the {asked_txt} reports; the corpus has it "
               f"{'for ' + ', '.join(str(y) for y in ys) if ys else 'elsewhere'} only.")
        return _Scope(records=[], named=[], doc_ids=[], label=dept_label, refusal=msg)
    label = f"{dept_label}{'、'.join(str(y) for y in years)}{'年' if years and zh else ''}".strip()
    # groups: keyed by a project (record_key) where the project itself says its year or department, else by
    # its document (a report of several years or bureaus splits by what each form says)
    groups_of = None
    if not asked and _EACH_DEPARTMENT.search(q):
        # 各单位分别有几个项目: every department the corpus covers is a group, named as its document names it
        groups_of = {p.doc_id: p.departments[0].label() for p in docs if p.departments}
        first_kind = {p.doc_id: p.departments[0].kind for p in docs if p.departments}
        for r in scoped:
            own = _departments_of(r)
            # a project of another bureau than its report's (a summary of several bureaus' forms) is its own
            # bureau's; one of the report's bureau keeps the report's fuller name (中原区医保局, not 医保局)
            if own and own[0].kind != first_kind.get(r.doc_id):
                groups_of[record_key(r)] = own[0].label()
        if len(set(groups_of.values())) < 2:
            groups_of = None
    if groups_of is None and len(years) > 1 and _EACH.search(q):
        # 2020年和2022年各有多少个项目: each year asked is a group, each project in the year its form states
        by_year = {p.doc_id: f"{y}年" if zh else str(y) for p in docs
                   for y in [next((y for y in years if y in p.years), None)] if y is not None}
        by_year.update({record_key(r): f"{r.evaluation.year}年" if zh else str(r.evaluation.year)
                        for r in scoped if r.evaluation.year in years})
        if len(set(by_year.values())) > 1:
            groups_of = by_year
    if len({(d.place, d.kind) for d in asked}) > 1:
        groups_of = {}
        for d, (a, b) in found:
            for p in docs:
                if p.covers(d):
                    groups_of.setdefault(p.doc_id, nq[a:b])
            for r in scoped:
                own = _departments_of(r)
                if any(x.kind == d.kind and (d.place is None or x.place in (None, d.place)) and x.same_level(d) for x in own):
                    groups_of[record_key(r)] = nq[a:b]
    return _Scope(records=scoped, named=dedupe(named), doc_ids=sorted(doc_ids) if (asked or years) else None,
                  label=label, by_department=bool(asked) or groups_of is not None, groups_of=groups_of, note=loose_note,
                  excluded=tuple(sorted(excluded)), set_aside=tuple(sp for _, sp in set_aside) if excluded else ())


@functools.lru_cache(maxsize=4096)
def _departments_named(text: str) -> tuple[Department, ...]:
    """The departments a form's department field names, parsed once per spelling (a few recur in every form)."""
    return tuple(d for d, _ in departments_in(text))


def _departments_of(r: ProjectRecord, implementer: bool = False) -> list[Department]:
    """The departments a project's own form names: its 主管部门 (and its 实施单位 when asked)."""
    e = r.evaluation
    return [d for x in ((e.department, e.implementer) if implementer else (e.department,)) if x
            for d in _departments_named(x)]


def _own_department(records: list[ProjectRecord], asked: list[Department],
                    whole: list[ProjectRecord]) -> list[ProjectRecord]:
    """A document whose projects name different departments (a summary form of several bureaus' projects)
    answers for the asked department only the projects that name it; a document of one department keeps
    every project (its sub-units' projects included). Which it is, `whole` says: every project of the
    documents, not only those of the year asked."""
    kinds_of: dict[str, set] = defaultdict(set)
    for r in whole:
        kinds_of[r.doc_id] |= {d.kind for d in _departments_of(r, implementer=True)}
    out = []
    for r in records:
        mine = _departments_of(r, implementer=True)
        if len(kinds_of[r.doc_id]) < 2 or not mine or any(
                (a.place is None or d.place is None or d.place == a.place) and d.kind == a.kind and d.same_level(a)
                for a in asked for d in mine):
            out.append(r)
    return out


# which department reports the most (or fewest) projects: a count per department, not a ranking of projects
_MOST_PROJECTS = re.compile(r"(?:哪个|哪一个|哪家|什么)(?:单位|部门)\S{0,8}?项目(?:数量?|个数)?最(?:多|少)|"
                            r"项目(?:数量?|个数)?最(?:多|少)的(?:是)?(?:哪个|哪一个|哪家|什么)?(?:单位|部门)|"
                            r"which (?:department|bureau|unit|agency) (?:has|had|reported|submitted|filed) the (?:most|fewest) projects|"
                            r"(?:department|bureau) with the (?:most|fewest) projects", re.I)


def _most_projects_answer(q: str, records: list[ProjectRecord], lang: str, store) -> AskAnswer | None:
    """The department with the most (or fewest) projects in scope: each project counted under the department
    its own form names (主管部门), ties all named, and that department's projects listed and cited."""
    zh = lang == "zh"
    by: dict[str, list[ProjectRecord]] = {}
    printed: dict[tuple, str] = {}  # a department as its first form prints it (区应急管理局), whatever the spelling
    for r in dedupe(records):
        raw = (r.evaluation.department or "").strip()
        own = _departments_named(raw) if raw else ()
        key = (own[0].place, own[0].kind) if own else (None, raw)
        if raw:
            by.setdefault(printed.setdefault(key, raw), []).append(r)
    if len(by) < 2:
        return None
    fewest = bool(re.search(r"最少|fewest", q, re.I))
    best = (min if fewest else max)(len(rs) for rs in by.values())
    top = [d for d, rs in by.items() if len(rs) == best]
    texts, cits, rows = [], [], []
    for d in top:
        pa = execute([Part(text="有几个项目", op="count", metrics=["total"])], by[d], [], zh=zh, scope_label=d,
                     whole_scope=True)
        if pa is None:
            return None
        texts.append(pa.answer)
        cits += [_cite_ref(ref, fn) for ref, fn in pa.refs]
        rows += pa.rows
    word = ("最少" if fewest else "最多") if zh else ("fewest" if fewest else "most")
    head = (f"项目{word}的单位是{'、'.join(top)}（各单位按自评表的主管部门计，共{len(by)}个单位）。" if zh else
            f"{' and '.join(top)} {'have' if len(top) > 1 else 'has'} the {word} projects ({len(by)} departments, "
            f"each project counted under the department its form names). ")
    return _finish(head + ("" if zh else " ").join(texts), cits, rows, "structured:most_projects", lang, store, q)


def _joined(answers: list[AskAnswer]) -> AskAnswer:
    """Answers to the parts of one question, numbered, with their citation markers renumbered in order."""
    texts, cits, rows = [], [], []
    for k, a in enumerate(answers, 1):
        off = len(cits)
        body = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + off}]", a.answer) if off else a.answer
        texts.append(f"（{k}）{body}" if a.lang == "zh" else f"({k}) {body}")
        cits += a.citations
        rows += a.rows
    return AskAnswer(answer="\n".join(texts), citations=cits, rows=rows, lang=answers[0].lang,
                     route="parts:" + "+".join(a.route for a in answers))


def ask(question: Any, filters: dict | None = None, *, settings: Settings, store, index=None, llm=None,
        page: int = 1, page_size: int | None = DEFAULT_PAGE_SIZE) -> AskAnswer:
    """A list answer shows page `page` of `page_size` items (None = all) and says how many there are.
    Scope first (department, year, named projects — refused with what is covered when the corpus does
    not cover them), then 部门整体 and 部门决算 questions, then the operations over the scoped records, then
    the rule-specific structured answers, then retrieval (extractive, or the LLM when configured)."""
    q = clean_question(question)
    flt = clean_filters(filters)
    follow_ups = expand_follow_ups(q)
    if follow_ups is not None:  # "…执行率是多少？2021年呢？": each year asked, scoped and answered on its own
        return _joined([ask(x, filters, settings=settings, store=store, index=index, llm=llm, page=page,
                            page_size=page_size) for x in follow_ups])
    doc_rows = store.list_documents()  # once per question, shared below
    docs = {d.doc_id: d.filename for d in doc_rows}
    all_records = _records(store, flt, docs, doc_rows, settings.data_dir)
    lang = detect_lang(q)
    if lang == "zh" and re.match(r"\s*[A-Za-z]", q) and len(re.findall(r"[A-Za-z]{2,}", q)) >= 3:
        lang = "en"  # an English question around long Chinese names ("Compare the budgets of …")
    scope = _scope(q, lang, all_records, _profiles(store, doc_rows, all_records, settings.data_dir))
    digest_for(settings.data_dir).flush()  # once the heads and profiles of new documents are known
    if scope.refusal is not None:
        return AskAnswer(answer=scope.refusal, route="scope:not_covered", lang=lang)
    if scope.excluded:  # the set-aside phrase names no subject: read the rest of the question without it
        q = re.sub(r"\s+", " ", strip_spans(normalize_text(q), list(scope.set_aside))).strip(" ，,")
    records = scope.records
    names = sorted({r.evaluation.project for r in records})
    intent = parse_question(q, names, linked=list(dict.fromkeys(r.evaluation.project for r in scope.named)))
    intent.lang = lang
    if scope.named and not intent.projects:
        intent.projects = list(dict.fromkeys(r.evaluation.project for r in scope.named))
    planner_failed = False
    if llm is not None and settings.llm_qa_planner and intent.kind != "open" and not flt and scope.doc_ids is None:
        # a question over the stored figures: the model plans with tools; only a verified answer is used.
        # The tools search the whole store, so a question the caller filtered (document, project, year) or
        # that names a department or year (scoped above) stays offline, where the scope is enforced: a
        # planned answer's numbers are checked against tool results, not against the asked scope.
        from service.qa.llm_planner import plan_answer  # edge: only when a model is configured
        planned = plan_answer(q, store=store, llm=llm, index=index, lang=lang)
        if planned is not None:
            return _finish(planned[0], planned[1], [], "plan:llm", lang, store)
        planner_failed = True
    # the scope is every stored project: the SQL of service.qa.pushdown needs no list of ids
    whole = not flt and len(records) == len(all_records)
    out = _offline_answer(q, intent, lang, flt, scope, records, names, docs, store, index, llm, settings,
                          page, page_size, whole)
    # the caller can tell a planned question that fell back from one never planned
    return out.model_copy(update={"route": out.route + "+llm_fallback"}) if planner_failed else out


def _offline_answer(q, intent, lang, flt, scope, records, names, docs, store, index, llm, settings,
                    page, page_size, whole=False) -> AskAnswer:
    scoped_flt = dict(flt)
    if scope.doc_ids is not None:
        scoped_flt["doc_ids"] = scope.doc_ids
        if len(scope.doc_ids) == 1:
            scoped_flt["doc_id"] = scope.doc_ids[0]
    open_flt = {k: v for k, v in scoped_flt.items() if k != "doc_ids"}  # what retrieval filters on

    if _DOCS_COUNT.search(q) and not scope.named:
        # how many reports: the store's own list (within the department or year asked), not a passage
        held = [(d, fn) for d, fn in sorted(docs.items(), key=lambda x: x[1])
                if scope.doc_ids is None or d in scope.doc_ids]
        shown, cits = [], []
        for d, fn in held[:20]:  # each by its title line, cited where it stands
            first = next((ln for ln in store.get_lines(d, page=1) if ln.text.strip()), None)
            if first is None:
                shown.append(fn)
                continue
            shown.append(f"{first.text.strip()}（{fn}）" if lang == "zh" else f"{first.text.strip()} ({fn})")
            cits.append(_cite_line(d, fn, first))
        more = ("等" if lang == "zh" else " …") if len(held) > 20 else ""
        text = (f"{scope.label or '已入库的'}报告共{len(held)}份：{'；'.join(shown)}{more}。" if lang == "zh" else
                f"{len(held)} reports{' of ' + scope.label if scope.label else ''} are ingested: "
                f"{'; '.join(shown)}{more}.")
        return _finish(text, cits, [{"doc_id": d, "filename": fn} for d, fn in held], "structured:documents", lang,
                       store, q)
    if _MOST_PROJECTS.search(q) and not scope.named and records:
        ans = _most_projects_answer(q, records, lang, store)
        if ans is not None:
            return ans
    if _DEPT_WHOLE.search(q) and not scope.named:
        ans = _department_answer(q, store, scoped_flt, lang, docs)
        if ans is not None:
            return ans
        if scope.by_department and _DEPT_FORM_WORDS.search(q) and not any(
                store.list_artifacts(d, kind="department") for d, _ in _docs_in_scope(docs, scoped_flt)):
            # the department-wide evaluation asked of a department that filed none in that scope: not found,
            # never the score of one of its projects
            return AskAnswer(answer=(f"没有找到{scope.label}的部门整体绩效自评表：语料中该单位只有项目支出绩效自评表。" if lang == "zh"
                                     else f"Not found: the reports hold no department-wide self-evaluation of {scope.label}, "
                                          "only its project self-evaluations."),
                             route="structured:department_not_found", lang=lang)
    if (intent.kind == "accounts" or intent.kind == "open" and not intent.projects and _NAMES_SUBJECT.search(q)
            and not _ASKS_RATE.search(q) or _ACCOUNTS_WORDS.search(q)) and not _PROJECTS_AMOUNT.search(q):
        # an open question naming a 科目 (卫生健康支出, 住房公积金): the parsed 决算 answers it exactly when it
        # holds that subject; otherwise None and the question goes on to retrieval
        ans = _accounts_answer(q, store, scoped_flt, intent.lang, docs)
        if ans is not None:
            return ans
    if scope.named:
        ans = _reason_answer(q, scope.named, lang, store)
        if ans is not None:
            return ans
    if not scope.named and index is not None and intent.kind not in ("accounts", "findings"):
        # a project-like name no stored project holds and no report mentions (上街区人社局就业见习补贴资金得分):
        # not found, never the figures of the department's other projects
        missing = [m for m in unknown_names(q, names, index, names_only=True) if not _METRIC_IN_NAME.search(m)]
        if missing:
            return _not_found(missing, names, lang, "structured:not_found")
    parts = [parse_part(t) for t in split_parts(q)]
    asked_if: list = []  # 是否达到90% / did it reach…: a yes-or-no condition on the named projects
    if scope.named and _YES_NO.search(q.strip()):
        for p in parts:
            if p.op in ("list", "count") and p.conditions:
                asked_if += p.conditions
                p.op, p.metrics = "lookup", list(dict.fromkeys([*p.metrics, *(c.metric for c in p.conditions)]))
                p.conditions = []
    if not scope.named and (all(p.op == "count" and not p.conditions for p in parts) and
                            (_STATED_COUNT.search(q) or _SUBUNIT_Q.search(q))
                            or all(p.op in ("count", "average", "sum") for p in parts) and _STATED_Q.search(q)):
        # 对多少个项目进行了自评 / for how many projects did X carry out self-evaluation: the department's own
        # statement of what it did (对20个项目支出绩效进行了自评), which counts more than the forms attached
        intent = Intent("open", lang, intent.projects)
        parts = []
    # a detail of a named project's form: who implements it, a fund source's row, the execution row's own score
    if scope.named:
        ans = _form_detail_answer(q, scope.named, lang, store) or _filers_answer(q, scope.named, lang, store)
        if ans is not None:
            return ans
    # a named project's indicator; or, in a named department of a few projects, the one indicator that fits
    about = scope.named or (records if scope.by_department and len(records) <= 8 else [])
    if about and len({r.evaluation.project for r in about}) <= 8 and not any(p.metrics for p in parts) \
            and all(p.op == "lookup" for p in parts):
        ans = _indicator_answer(q, about, lang, store, prose_of=lambda: _open_answer(
            q, intent, store, index, open_flt, llm, settings, names, records, docs))
        if ans is not None:
            return ans
    # an indicator named by its own name (人均补助标准, 救助人次) with a figure word: of the named project, its row
    # (its 得分 is the indicator's, not the project's total); of no project, the projects where it missed its
    # target (哪些项目发生了重大安全责任事故)
    if all(p.op in ("lookup", "list") for p in parts):
        ans = _named_indicator_answer(q, scope.named, records, lang, store)
        if ans is not None:
            return ans
    # Reasons and measures are prose (retrieval). Rule findings, shortfalls and score inflation have their
    # own structured answers below, and so does a plain one-condition list (低于X%的项目, 等级为良的项目):
    # the operations take everything else that is a question about the store's figures.
    simple_list = len(parts) == 1 and parts[0].op == "list" and len(parts[0].conditions) <= 1 \
        and intent.kind in ("low_execution", "grade") and not scope.named
    # 项目自评发现的主要问题有哪些: a list of what the reports say (problems, measures, advice), not of projects
    prose_list = all(p.op in ("list", "lookup") and not p.conditions and not p.metrics for p in parts) \
        and bool(_PROSE_TOPIC.search(q))
    if intent.kind not in ("findings", "shortfall", "score_inflation") and not (_WHY_Q.search(q) or _HOW_Q.search(q)) \
            and not simple_list and not prose_list and (scope.named or any(p.op != "lookup" for p in parts)
                                     or scope.by_department and any(p.metrics for p in parts)):
        # a department or a year asked: its projects are particular, so counting or listing them is an
        # operation over the store (2019年度的项目有几个), not the catalogue
        # the projects the parts' conditions and rankings select, by SQL over project_facts (None: all)
        selected = narrow_parts(store, parts, records, scope.named, whole)
        pa = execute(parts, records if selected is None else selected, scope.named, zh=lang == "zh",
                     scope_label=scope.label,
                     whole_scope=scope.by_department or scope.doc_ids is not None or bool(_ALL_Q.search(q)),
                     groups_of=scope.groups_of, page=page, page_size=page_size,
                     universe=None if selected is None else records)
        if pa is not None and not pa.refs and pa.route.endswith("lookup") and scope.named:
            # the form does not state the figure (no funds table: 实际支出数为 100 万元 is in the prose): the
            # report's text may; said as not reported only when retrieval finds nothing either
            # asked in the report's own words (花了多少钱 → 实际支出; an English question → its Chinese terms)
            asked = [w for p in parts for m in p.metrics if (w := _PROSE_WORDS.get(m))]
            q_prose = "".join(r.evaluation.project for r in scope.named[:1]) + "".join(dict.fromkeys(asked)) + "是多少"
            prose = _open_answer(q_prose, intent, store, index, open_flt, llm, settings, names, records, docs)
            states = [p_ for p in parts for m in p.metrics if (p_ := _PROSE_STATES.get(m))]
            if prose.citations and not prose.route.endswith("not_found") and \
                    all(any(re.search(s, c.quote or "") for c in prose.citations) for s in states):
                lead = pa.answer.rstrip("。.") + ("；报告正文：" if lang == "zh" else "; the report's text: ")
                return prose.model_copy(update={"answer": lead + _quoted_body(prose.answer),
                                                "route": pa.route + "+open"})
        if pa is not None:
            cits = [_cite_ref(ref, fn) for ref, fn in pa.refs]
            verdict = ""
            for r in scope.named[:8] if asked_if else []:
                ok = all(c.holds(r) for c in asked_if)
                cond = "、".join(c.text(lang == "zh") for c in asked_if)
                verdict += (f"{r.evaluation.project}{'满足' if ok else '不满足'}“{cond}”。" if lang == "zh" else
                            f" {r.evaluation.project}: {'yes' if ok else 'no'} ({cond}).")
            out = _finish((scope.note or "") + pa.answer + verdict, cits, pa.rows, pa.route, lang, store, q)
            return out.model_copy(update={"total": pa.total, "page": pa.page, "page_size": pa.page_size})
    if prose_list and intent.kind == "list_projects" and re.search(r"哪些项目|哪几个项目|which projects", q, re.I) \
            and re.search(r"问题|不足|problems?|issues?", q, re.I):
        intent = Intent("findings", intent.lang)  # 哪些项目存在问题: what the checks found, by project
    if intent.kind not in ("open", "accounts") and not (prose_list and intent.kind == "list_projects"):
        selected = narrow_intent(store, intent, records, whole)
        sa = answer_structured(intent, records if selected is None else selected, page=page, page_size=page_size)
        if sa is not None:
            cits = [_cite_ref(ref, fn) for ref, fn in sa.refs]
            out = _finish((scope.note or "") + sa.answer, cits, sa.rows, sa.route, intent.lang, store, q)
            return out.model_copy(update={"total": sa.total, "page": sa.page, "page_size": sa.page_size})
    return _open_answer(q, intent, store, index, open_flt, llm, settings, names, records, docs)


def ask_extractive(question: Any, *, settings: Settings, store, index) -> AskAnswer:
    """Retrieval only: the best cited sentences of the top passages, no question understanding, no
    structured store. The baseline `jixiao eval qa` reports next to `ask` in the same run."""
    q = clean_question(question)
    docs = {d.doc_id: d.filename for d in store.list_documents()}
    from service.qa.intents import detect_lang

    intent = Intent("open", detect_lang(q))
    return _open_answer(q, intent, store, index, {}, None, settings, [], [], docs)
