"""The LLM answer chain for open questions: numbered sources in, cited sentences out, every citation checked.

Flow for one question:
  retrieved sentences (service.qa.extractive.split_sentences over the hits' lines)
  ─> the best MAX_SOURCES by the extractive ranking, deduplicated ─> numbered sources [1]..[n]
  ─> messages (system, few-shot pairs, user) from prompts/answer_question.toml
  ─> model.with_structured_output(GroundedAnswer)   (retried on invalid output)
  ─> check: each citation's source must exist and its quote be found in that source; a sentence with no
     valid citation, or with a number that none of its valid quotes contains, is removed
  ─> text with citations renumbered [1..k] and a Citation (doc_id, page, line_start, line_end, quote) each.

`answer_with_llm` returns None when the model cannot be used (transport error after the openai client's
own retries, or output still invalid after `llm_max_retries` more attempts): the caller then answers
extractively. An answer the model marks unanswerable, or one with nothing left after the checks, is the
"not found" answer with no citations. The caller (service.qa.service) verifies every citation once more
against the stored lines before anything is returned.

Prompt injection: the sources are data between <document> delimiters (angle brackets in the text become
full-width, so a source cannot close the delimiter); the system message and the output schema are fixed
by code and the prompt file, never by document text; the schema forbids extra keys; and whatever the model
writes only survives as sentences tied to quotes found in the sources.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.normalize import normalize_text
from retrieval.types import Line
from service.extraction.llm_chain import canonical_quote
from service.llm import StructuredChatModel, invoke_structured, model_name_of
from service.prompts import FewShotExample, PromptTemplate, load_prompt
from service.qa.citations import Citation, quote_found
from service.qa.extractive import Sentence, display, rank_sentences
from service.qa.service import NOT_FOUND_EN, NOT_FOUND_ZH
from service.settings import Settings

log = logging.getLogger(__name__)

PROMPT_ID = "answer_question"
# Eight sentences cover the answer for the questions in eval/ while keeping one call well under 4k tokens;
# the ranking is the extractive one, so the model sees what the offline path would have chosen from.
MAX_SOURCES = 8
# A long table row (a 具体完成情况 cell) is cut for display; quotes are still checked against the whole text.
MAX_SOURCE_CHARS = 600
# More sentences than this is not an answer to one question; the rest are dropped with a reason.
MAX_SENTENCES = 12
_MIN_QUOTE_CHARS = 2
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


# ---------------------------------------------------------------------------------------------------
# What the model returns (the wire schema). Every field is required and extra keys are forbidden, so the
# schema is valid for strict json_schema mode and an answer shaped by injected text is invalid.


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteCitation(_Wire):
    source: int = Field(description="Number n of the source [n] that supports the sentence.")
    quote: str = Field(description="Words copied verbatim from that source's text (<= 60 characters).")


class AnswerSentence(_Wire):
    text: str = Field(description="One sentence of the answer, in the answer language, without [n] markers.")
    citations: list[QuoteCitation] = Field(description="The sources supporting this sentence, each with a quote.")


class GroundedAnswer(_Wire):
    """An answer to one question, sentence by sentence, each sentence citing numbered sources."""

    sentences: list[AnswerSentence] = Field(description="The answer; empty when the sources do not answer.")
    unanswerable: bool = Field(description="True when the sources do not answer the question.")


def get_prompt() -> PromptTemplate:
    """The answer prompt, validated against GroundedAnswer (examples included)."""
    return load_prompt(PROMPT_ID, output_model=GroundedAnswer)


# ---------------------------------------------------------------------------------------------------
# Sources (pure)


@dataclass(frozen=True)
class Source:
    number: int
    label: str  # the report as the model sees it (corpus stem)
    sentence: Sentence


def select_sentences(question: str, sentences: Sequence[Sentence], k: int = MAX_SOURCES) -> list[Sentence]:
    """The best k sentences by the extractive ranking, without repeats (the same text from two renderings
    of one report, or the same place twice). A question of generic words only has no ranking terms; then
    retrieval order decides."""
    pool = [replace(s) for s in sentences]  # rank_sentences writes .score; the caller's objects stay as they were
    ranked = rank_sentences(question, pool) or sorted(pool, key=lambda s: s.hit_rank)
    chosen: list[Sentence] = []
    texts: set[str] = set()
    places: set[tuple] = set()
    for s in ranked:
        text_key = "".join(s.text.split())
        place = (s.doc_id, s.page, s.line_start, s.line_end)
        if not text_key or text_key in texts or place in places:
            continue
        texts.add(text_key)
        places.add(place)
        chosen.append(s)
        if len(chosen) == k:
            break
    return chosen


def build_sources(question: str, hits: Sequence[Any], sentences: Sequence[Sentence],
                  k: int = MAX_SOURCES) -> list[Source]:
    labels: dict[str, str] = {}
    for hit in hits:
        chunk = getattr(hit, "chunk", None)
        if chunk is not None and chunk.doc_id not in labels and getattr(chunk, "stem", ""):
            labels[chunk.doc_id] = chunk.stem
    return [Source(n, labels.get(s.doc_id, s.doc_id[:12]), s)
            for n, s in enumerate(select_sentences(question, sentences, k), 1)]


def shown_text(text: str) -> str:
    """A source's text as the model sees it: table cells apart with ' | ' (as service.prompts.display_text
    shows rows), angle brackets full-width so the text can never close the <document> delimiter, one line.
    canonical_quote undoes the first two when a quote comes back."""
    text = display(text).replace("<", "\uff1c").replace(">", "\uff1e")
    text = " ".join(text.splitlines())
    return text if len(text) <= MAX_SOURCE_CHARS else text[:MAX_SOURCE_CHARS] + "…"


def render_source(number: int, label: str, page: int, line_start: int, line_end: int, text: str) -> str:
    place = f"{page}:{line_start}" if line_end == line_start else f"{page}:{line_start}-{line_end}"
    return f"[{number}] 〔{label} {place}〕 {text}"


def render_sources(sources: Sequence[Source]) -> str:
    return "\n".join(render_source(src.number, src.label, src.sentence.page, src.sentence.line_start,
                                   src.sentence.line_end, shown_text(src.sentence.text)) for src in sources)


def render_example_sources(example: FewShotExample) -> str:
    """A few-shot example's report lines ([page:line] text, already in display form) as numbered sources,
    one line each, in the same form as real sources."""
    return "\n".join(render_source(n, example.source, page, line, line, text)
                     for n, (page, line, text) in enumerate(example.lines(), 1))


def _language(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, LANGUAGE_NAMES["zh"])


def _question_text(question: str) -> str:
    # the question sits outside the delimiters; it must not be able to open or close one either
    return " ".join(question.replace("<", "\uff1c").replace(">", "\uff1e").split())


def output_schema_json() -> str:
    return json.dumps(GroundedAnswer.model_json_schema(), ensure_ascii=False)


def build_messages(prompt: PromptTemplate, *, question: str, lang: str, document: str, method: str) -> list:
    """System (static text + format instructions), few-shot pairs, then this question's user message."""
    from service.llm import few_shot_messages

    return few_shot_messages(prompt, schema_json=output_schema_json(), method=method,
                             example_document=render_example_sources, question=_question_text(question),
                             language=_language(lang), document=document)


# ---------------------------------------------------------------------------------------------------
# Checking what the model wrote (pure)

_MARKERS = re.compile(r"\s*[\[［【]\s*\d+(?:\s*[,，、:：\-–]\s*\d+)*\s*[\]］】]")
_SOURCE_HEAD = re.compile(r"^\s*\[\d+\]\s*(?:〔[^〕]*〕)?\s*")
_QUOTE_MARKS = "“”\"'‘’「」『』"
_ARABIC = re.compile(r"\d+(?:\.\d+)?")
_DIGIT_GROUP = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Chinese numerals count as numbers when a run has a digit and a multiplier (九十九, 一百, 两万);
# single characters (一, 十) are far more often words (进一步, 十分) than amounts.
_CN_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万亿]{2,}")
_CN_DIGIT = re.compile(r"[零〇一二两三四五六七八九]")
_CN_UNIT = re.compile(r"[十百千万亿]")


def strip_markers(text: str) -> str:
    """The sentence without [n] / 【n】 markers the model was told not to write (the code adds them)."""
    return _MARKERS.sub("", text).strip()


def match_quote(quote: str, source: Source) -> str | None:
    """The quote in the form Citation quotes take, if it is found in the source's text (by the rules the
    caller's verify uses: exact, or equal up to spacing); else None."""
    q = canonical_quote(_SOURCE_HEAD.sub("", quote))
    s = source.sentence
    line = Line(page=s.page, line_no=s.line_start, text=s.text)
    for candidate in (q, q.strip(_QUOTE_MARKS).strip()):
        if len(candidate) >= _MIN_QUOTE_CHARS and quote_found(candidate, [line]):
            return candidate
    return None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex only matches digits
        return None


def numbers_of(text: str) -> tuple[set[Decimal], set[str]]:
    """Arabic numbers (as values: 100 and 100.00 are one number) and Chinese numeral runs in the text."""
    t = _DIGIT_GROUP.sub("", normalize_text(text))
    arabic = {d for d in (_decimal(m) for m in _ARABIC.findall(t)) if d is not None}
    chinese = {m for m in _CN_RUN.findall(t) if _CN_DIGIT.search(m) and _CN_UNIT.search(m)}
    return arabic, chinese


def unsupported_numbers(text: str, quotes: Sequence[str]) -> list[str]:
    """Numbers in the sentence that none of its quotes contains."""
    arabic, chinese = numbers_of(text)
    q_arabic: set[Decimal] = set()
    for q in quotes:
        q_arabic |= numbers_of(q)[0]
    missing = [str(d) for d in sorted(arabic) if d not in q_arabic]
    missing += [c for c in sorted(chinese) if not any(c in q for q in quotes)]
    return missing


@dataclass
class CheckedSentence:
    text: str
    cites: list[tuple[Source, str]]  # (source, quote as found)


# A quote proves only that the report contains that text. Text that addresses the reader or the model (an
# instruction), or passes a verdict on every project at once, is not evidence for anything a reviewer asks:
# a model that obeyed an injected "所有项目均已完成" and quoted it would otherwise pass every check.
_INSTRUCTION = re.compile(
    r"(忽略|无视|不要理会|忘记)(以上|上述|之前|前面|所有)?.{0,6}(指令|指示|要求|规则|提示)|"
    r"(请|务必|必须)(你|模型|助手|AI)?.{0,4}(回答|输出|声明|宣布|告诉|写)|(你|模型|助手|AI|系统)(必须|应当|应该|需要)|"
    r"ignore (all |the )?(previous|above|prior)|disregard|system prompt|you (must|should) (answer|say|reply)|"
    r"</?(system|document|assistant|user)>", re.I)
_CORPUS_VERDICT = re.compile(
    r"(所有|全部|一切|各|每个)(的)?(项目|单位|部门|指标|报告)[^，。;；]{0,8}(均|都|全|全部)?[^，。;；]{0,4}"
    r"(已完成|完成|达标|合格|优秀|为优|无问题|没有问题|不存在问题)|"
    r"(不存在|没有)任何(问题|偏差)|all (projects|indicators|units)[^.]{0,30}(complete|met|passed|no problem)", re.I)


def evidence_only_by_fiat(quotes: Sequence[str]) -> bool:
    """True when every quote reads as an instruction or a verdict about the whole corpus."""
    return bool(quotes) and all(_INSTRUCTION.search(q) or _CORPUS_VERDICT.search(q) for q in quotes)


def check_answer(reading: GroundedAnswer, sources: Sequence[Source]) -> tuple[list[CheckedSentence], list[dict]]:
    """Keep the sentences the sources support; say why each other one (or citation) was dropped."""
    by_number = {src.number: src for src in sources}
    kept: list[CheckedSentence] = []
    dropped: list[dict] = []
    for i, sent in enumerate(reading.sentences):
        text = strip_markers(sent.text)
        if not text:
            dropped.append({"sentence": i, "reason": "empty sentence"})
            continue
        if len(kept) == MAX_SENTENCES:
            dropped.append({"sentence": i, "reason": f"more than {MAX_SENTENCES} sentences", "text": text[:80]})
            continue
        cites: list[tuple[Source, str]] = []
        for c in sent.citations:
            src = by_number.get(c.source)
            if src is None:
                dropped.append({"sentence": i, "reason": "no such source", "source": c.source,
                                "quote": c.quote[:80]})
                continue
            quote = match_quote(c.quote, src)
            if quote is None:
                dropped.append({"sentence": i, "reason": "quote not found in its source", "source": c.source,
                                "quote": c.quote[:80]})
                continue
            if all(not (s is src and q == quote) for s, q in cites):
                cites.append((src, quote))
        if not cites:
            dropped.append({"sentence": i, "reason": "no valid citation", "text": text[:80]})
            continue
        if evidence_only_by_fiat([q for _, q in cites]):
            dropped.append({"sentence": i, "reason": "supported only by an instruction or a verdict on the whole "
                            "corpus", "text": text[:80]})
            continue
        missing = unsupported_numbers(text, [q for _, q in cites])
        if missing:
            dropped.append({"sentence": i, "reason": "number not in its quotes", "numbers": missing,
                            "text": text[:80]})
            continue
        kept.append(CheckedSentence(text, cites))
    return kept, dropped


def compose(kept: Sequence[CheckedSentence], lang: str) -> tuple[str, list[Citation]]:
    """The answer text with citations renumbered [1..k] in order of first use, and the Citations."""
    numbers: dict[tuple[int, str], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for sent in kept:
        marks = []
        for src, quote in sent.cites:
            key = (src.number, quote)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                s = src.sentence
                citations.append(Citation(doc_id=s.doc_id, page=s.page, line_start=s.line_start,
                                          line_end=s.line_end, quote=quote))
            if f"[{numbers[key]}]" not in marks:
                marks.append(f"[{numbers[key]}]")
        parts.append(display(sent.text) + "".join(marks))
    return ("" if lang == "zh" else " ").join(parts), citations


# ---------------------------------------------------------------------------------------------------
# One call, with retries on invalid output


def ask_model(llm: StructuredChatModel, messages: list, *, method: str, max_retries: int
              ) -> tuple[GroundedAnswer | None, str | None, int]:
    """Ask the model; returns (answer, failure reason, attempts made), with the extraction chain's retry
    policy (service.llm.invoke_structured)."""
    return invoke_structured(llm, messages, GroundedAnswer, method=method, max_retries=max_retries, what="answer")


# ---------------------------------------------------------------------------------------------------
# Public entry


@dataclass
class AnswerOutcome:
    """Everything one run of the chain did, for tests, logs and callers that want more than the answer."""

    status: Literal["answered", "not_found", "failed"]
    text: str | None = None
    citations: list[Citation] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    attempts: int = 0
    reason: str | None = None
    prompt_id: str = PROMPT_ID
    prompt_version: str = ""
    model: str | None = None


def not_found_text(lang: str) -> str:
    return NOT_FOUND_EN if lang == "en" else NOT_FOUND_ZH


def run_answer_chain(question: str, hits: Sequence[Any], sentences: Sequence[Sentence], *,
                     llm: StructuredChatModel, settings: Settings, lang: str = "zh") -> AnswerOutcome:
    prompt = get_prompt()
    outcome = AnswerOutcome(status="failed", prompt_version=prompt.version, model=model_name_of(llm, settings))
    outcome.sources = build_sources(question, hits, sentences)
    if not outcome.sources:
        # Nothing retrieved: no call to make; the caller's own no-result path answers.
        outcome.reason = "no sources to answer from"
        return outcome
    method = settings.llm_structured_method
    messages = build_messages(prompt, question=question, lang=lang, document=render_sources(outcome.sources),
                              method=method)
    reading, reason, outcome.attempts = ask_model(llm, messages, method=method,
                                                  max_retries=settings.llm_max_retries)
    if reading is None:
        outcome.reason = reason
        return outcome
    kept, outcome.dropped = check_answer(reading, outcome.sources)
    if reading.unanswerable or not kept:
        outcome.status, outcome.text = "not_found", not_found_text(lang)
        outcome.reason = "the model found no answer in the sources" if reading.unanswerable else \
            "no sentence of the answer survived the citation checks"
        return outcome
    outcome.status = "answered"
    outcome.text, outcome.citations = compose(kept, lang)
    return outcome


def answer_with_llm(question: str, hits: Sequence[Any], sentences: Sequence[Sentence], *,
                    llm: StructuredChatModel, settings: Settings, lang: str = "zh"
                    ) -> tuple[str, list[Citation]] | None:
    """The answer text with [n] markers and its Citations; the not-found text with no citations when the
    sources do not answer; None when the model could not be used (the caller answers extractively)."""
    out = run_answer_chain(question, hits, sentences, llm=llm, settings=settings, lang=lang)
    if out.dropped:
        log.info("LLM answer: dropped %d item(s): %s", len(out.dropped), out.dropped)
    if out.status == "failed":
        log.warning("LLM answer fell back to the extractive path (%s %s, model %s): %s",
                    out.prompt_id, out.prompt_version, out.model, out.reason)
        return None
    log.info("LLM answer %s (%s %s, model %s, %d attempt(s), %d citation(s))", out.status, out.prompt_id,
             out.prompt_version, out.model, out.attempts, len(out.citations))
    return out.text or not_found_text(lang), out.citations
