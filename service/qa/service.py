"""POST /ask and `jixiao ask`: route, answer, cite, verify.

Structured questions are answered from the stored records (exact); 部门决算 questions from the parsed
accounts tables; everything else from hybrid retrieval — extractively offline, or by the LLM answer chain
when a model is configured. Every citation is checked against the stored lines before it is returned; an
unverifiable citation is dropped together with the sentence that relied on it.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field

from service.errors import InputError
from service.qa.citations import Citation, verify
from service.qa.extractive import (Sentence, bridge_english, coverage, display, pick, split_sentences, unknown_names,
                                   unsupported_years)
from service.qa.intents import MAX_QUESTION_CHARS, Intent, parse_question
from service.qa.structured import ProjectRecord, answer_structured
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
    return q


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


def _records(store, filters: dict, docs: dict[str, str]) -> list[ProjectRecord]:
    rows = store.list_projects(doc_id=filters.get("doc_id"), year=filters.get("year"))
    if filters.get("project"):
        rows = [r for r in rows if filters["project"] in r.name]
    by_unit: dict[str, list] = defaultdict(list)
    for f in store.list_findings(doc_id=filters.get("doc_id")):
        by_unit[f.unit_id].append(f.finding)
    return [ProjectRecord(r.id, r.doc_id, docs.get(r.doc_id), r.evaluation, by_unit.get(r.unit_id, [])) for r in rows]


def _fetch_lines(store):
    cache: dict[tuple[str, int], list] = {}

    def fetch(doc_id: str, page: int, line_start: int, line_end: int):
        key = (doc_id, page)
        if key not in cache:
            cache[key] = store.get_lines(doc_id, page=page)
        return [ln for ln in cache[key] if line_start <= ln.line_no <= line_end]

    return fetch


def _finish(answer: str, citations: list[Citation], rows: list[dict], route: str, lang: str, store) -> AskAnswer:
    checked = verify(citations, _fetch_lines(store))
    kept = [c for c in checked if c.verified]
    if len(kept) < len(checked):
        answer += ("（部分引用无法在原文对应位置核实，已删除。）" if lang == "zh" else
                   " (Citations that could not be verified at their place were removed.)")
    return AskAnswer(answer=answer, citations=kept, rows=rows, route=route, lang=lang)


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


def _accounts_answer(question: str, store, filters: dict, lang: str, docs: dict[str, str]) -> AskAnswer | None:
    from service.accounts.qa import answer_accounts_question

    for doc_id, filename in docs.items():
        if filters.get("doc_id") and doc_id != filters["doc_id"]:
            continue
        for art in store.list_artifacts(doc_id, kind="accounts"):
            acc = _parsed_accounts(doc_id, art.key, art.updated_at, art.payload)
            ans = answer_accounts_question(question, acc)
            if ans is None:
                continue
            cits = [Citation(doc_id=r.doc_id, filename=filename, page=r.page, line_start=r.line_start,
                             line_end=r.line_end, quote=r.quote) for r in ans.citations]
            text = ans.answer_zh if lang == "zh" else ans.answer_en
            return _finish(text, cits, ans.data, f"accounts:{ans.kind}", lang, store)
    return None


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


def _open_answer(question: str, intent: Intent, store, index, filters: dict, llm, settings: Settings,
                 known_projects: list[str], records: list[ProjectRecord], filenames: dict[str, str]) -> AskAnswer:
    lang = intent.lang
    if index is None:
        return AskAnswer(answer=NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN, route="open:no_index", lang=lang)
    search_filters = {k: v for k, v in filters.items() if k in ("project", "year")}
    if filters.get("doc_id"):
        search_filters["doc_id"] = filters["doc_id"]
    if intent.projects and "project" not in search_filters and len(intent.projects) == 1:
        search_filters["project"] = intent.projects[0]
    query = bridge_english(question) if lang == "en" else question
    hits = index.search(query, k=6, filters=search_filters or None)
    if not hits and search_filters.get("project"):
        hits = index.search(query, k=6, filters={k: v for k, v in search_filters.items() if k != "project"} or None)
    fetch = _fetch_lines(store)
    sentences = []
    for rank, hit in enumerate(hits):
        c = hit.chunk
        lines = []
        for page in range(c.page, c.page_end + 1):
            start = c.line_start if page == c.page else 1
            end = c.line_end if page == c.page_end else 10**6
            lines.extend(fetch(c.doc_id, page, start, end))
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
    if unknown_names(question, known_projects, index) or unsupported_years(year_question, texts) \
            or coverage(question, texts, intent.projects) < 0.25:
        return AskAnswer(answer=NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN, route="open:not_found", lang=lang)
    chosen = pick(question, sentences, names=intent.projects)
    if not chosen:
        return AskAnswer(answer=NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN, route="open:not_found", lang=lang)
    parts, cits = [], []
    for n, s in enumerate(chosen, 1):
        parts.append(f"{display(s.text)}[{n}]")
        cits.append(Citation(doc_id=s.doc_id, filename=filenames.get(s.doc_id), page=s.page,
                             line_start=s.line_start, line_end=s.line_end, quote=s.text))
    head = "根据报告原文：" if lang == "zh" else "From the reports (quoted in Chinese): "
    return _finish(head + " ".join(parts), cits, [], "open:extractive", lang, store)


def ask(question: Any, filters: dict | None = None, *, settings: Settings, store, index=None, llm=None) -> AskAnswer:
    q = clean_question(question)
    flt = clean_filters(filters)
    docs = {d.doc_id: d.filename for d in store.list_documents()}  # once per question, shared below
    records = _records(store, flt, docs)
    names = sorted({r.evaluation.project for r in records})
    intent = parse_question(q, names)

    if intent.kind == "accounts":
        ans = _accounts_answer(q, store, flt, intent.lang, docs)
        if ans is not None:
            return ans
    elif intent.kind != "open":
        sa = answer_structured(intent, records)
        if sa is not None:
            cits = [Citation(doc_id=ref.doc_id, filename=fn, page=ref.page, line_start=ref.line_start,
                             line_end=ref.line_end, quote=ref.quote) for ref, fn in sa.refs]
            return _finish(sa.answer, cits, sa.rows, sa.route, intent.lang, store)
    return _open_answer(q, intent, store, index, flt, llm, settings, names, records, docs)


def ask_extractive(question: Any, *, settings: Settings, store, index) -> AskAnswer:
    """Retrieval only: the best cited sentences of the top passages, no question understanding, no
    structured store. The baseline `jixiao eval qa` reports next to `ask` in the same run."""
    q = clean_question(question)
    docs = {d.doc_id: d.filename for d in store.list_documents()}
    from service.qa.intents import detect_lang

    intent = Intent("open", detect_lang(q))
    return _open_answer(q, intent, store, index, {}, None, settings, [], [], docs)
