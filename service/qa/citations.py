"""Citation verification: a citation stands only if its quote is found at the place it names."""
from __future__ import annotations

from collections import Counter

import re
from functools import lru_cache
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel

from retrieval.normalize import join_broken, normalize_text
from retrieval.types import Line


class Citation(BaseModel):
    doc_id: str
    filename: str | None = None
    page: int
    line_start: int
    line_end: int
    quote: str
    verified: bool = False


def span_text(lines: Sequence[Line]) -> str:
    """The text a SourceRef's quote is matched against: lines joined as a renderer broke them."""
    return join_broken([ln.text for ln in lines])


def quote_found(quote: str, lines: Sequence[Line]) -> bool:
    if not quote or not lines:
        return False
    text = span_text(lines)
    if quote in text or any(quote in ln.text for ln in lines):
        return True
    # quotes typed by a person or a model may differ in spacing only (TABs between cells included)
    q = _squash(normalize_text(quote))
    return bool(q) and (q in _squash(text) or any(q in _squash(ln.text) for ln in lines))


def _squash(text: str) -> str:
    return "".join(text.split())


LinesFetcher = Callable[[str, int, int, int], Sequence[Line]]


def verify(citations: Sequence[Citation], fetch_lines: LinesFetcher) -> list[Citation]:
    """Mark each citation verified or not; the caller drops or flags the unverified ones."""
    out = []
    for c in citations:
        try:
            lines = fetch_lines(c.doc_id, c.page, c.line_start, c.line_end)
        except Exception:  # an unknown document or page is simply not verifiable
            lines = []
        out.append(c.model_copy(update={"verified": quote_found(c.quote, lines)}))
    return out


# ---------------------------------------------------------------------------------------------------------
# support: a true quote about something else is not evidence for the answer

_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_CIT_MARK = re.compile(r"\[\d+\]")
_GRADE_IN_CONTEXT = re.compile(r"(?:等级|评为|属于|结果为|评级|grade|graded)(?:为|是)?\W{0,4}(优秀|良好|优|良|中|差)", re.I)
_GRADE_NORM = {"优秀": "优", "良好": "良"}


@lru_cache(maxsize=65536)  # project names recur in every list answer: 10,000 names normalised per question
def _spaced(text: str) -> str:
    """Normalized with cells kept apart: squashing "500\t263.65" would read 500263.65."""
    t = normalize_text(text or "").replace("\t", " ")
    return re.sub(r"(?<=[\u4e00-\u9fff]) +| +(?=[\u4e00-\u9fff])", "", t)


def _figure_list(text: str) -> list[Decimal]:
    """Every number of a text, in order, repeats kept."""
    out = []
    for m in _NUMBER.finditer(text):
        try:
            out.append(Decimal(m.group(0).replace(",", "")))
        except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
            pass
    return out


def _figures(text: str) -> set[Decimal]:
    return set(_figure_list(text))


def _grades(text: str) -> set[str]:
    return {_GRADE_NORM.get(g, g) for g in _GRADE_IN_CONTEXT.findall(normalize_text(text or ""))}


def answer_tokens(answer: str, question: str = "", names: Sequence[str] = ()) -> tuple[set[Decimal], set[str]]:
    """The figures an answer states (without citation markers, digits inside project names, and numbers the
    question itself carried: a year, a threshold) and the grades it states."""
    text = _spaced(_CIT_MARK.sub(" ", answer or ""))
    for n in sorted(names, key=len, reverse=True):
        if _spaced(n):
            text = text.replace(_spaced(n), " ")
    return _own_figures(text, _figures(_spaced(question))), _grades(text)


def _own_figures(text: str, asked: set[Decimal]) -> set[Decimal]:
    """The answer's figures less those the question carried; a figure the question carried is the answer's
    own when the answer states it for two items or more (得分为100分的项目: 就业专项资金（100分）、…)."""
    times = Counter(_figure_list(text))  # a 700-item list answer: counted once, not per figure
    own = {n for n, k in times.items() if n not in asked or k >= 2}
    # a question that states the very figures it asks about (预算970万、执行909.5万，对吗): the answer confirming
    # them states nothing else, and those figures are what its lines must carry
    return own or (set(times) if times and set(times) <= asked else set())


@lru_cache(maxsize=8)
def _squashed_answer(answer: str) -> str:
    # one answer is checked against each of its citations: normalising a 15k-character answer per citation
    # was most of a long answer's time
    return _squash(_spaced(answer))


def supports(quote: str, answer: str, question: str = "", names: Sequence[str] = (),
             tokens: tuple[set[Decimal], set[str]] | None = None) -> bool:
    """Does the cited line carry a figure (or a grade) the answer states? An answer without either is
    supported by a line naming one of its projects. `tokens`: answer_tokens(answer, question, names), when
    the caller checks many quotes against one answer (computing them is most of the check's time)."""
    figs, grades = tokens if tokens is not None else answer_tokens(answer, question, names)
    q = _spaced(quote)
    if figs & _figures(q) or grades & _grades(q):
        return True
    if len(_squash(q)) >= 6 and _squash(q) in _squashed_answer(answer):
        return True  # the answer quotes the line (a stated problem, a measure)
    if figs or grades:
        return False
    sq = _squash(q)
    return any(_squash(normalize_text(n)) and _squash(normalize_text(n)) in sq for n in names)
