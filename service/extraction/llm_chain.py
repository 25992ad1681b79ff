"""The LLM extraction chain: one call per project unit, merged into the deterministic record.

Flow for one unit:
  lines of the unit (with [page:line] markers)  ─┐
  prompt file prompts/extract_narrative.toml    ─┼─> messages (system, few-shot pairs, user) ─> model
  the deterministic ProjectEvaluation (name)    ─┘        .with_structured_output(UnitReading)
  ─> UnitReading (validated; retried on invalid output) ─> quotes verified against the unit's lines
  ─> merge: table values from rules win, the LLM fills narrative fields, disagreements kept in the stamp.

Failure never loses the rules record: transport errors (timeout, HTTP 5xx — already retried by the openai
client), or output still invalid after `llm_max_retries` extra attempts, give back the deterministic
record with backend "rules" and the reason in `stamp.fallback_reason`.

Prompt injection: each unit is its own call with its own messages (nothing from one unit reaches another
unit's call); the document text is delimited and escaped (see service.prompts.display_text); the output
schema is fixed by the code, forbids extra keys, and every quote must be found in the unit's own text.
"""
from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from retrieval.normalize import normalize_text
from retrieval.types import Line, LoadedDocument
from service.errors import ExtractionError
from service.extraction.quotes import MAX_QUOTE_LINES, Located, canonical_quote, locate_quote  # noqa: F401 (re-exported)
from service.llm import StructuredChatModel, build_chat_model, invoke_structured, model_name_of
from service.models import (
    ClaimKind,
    DocumentExtraction,
    ExtractionStamp,
    Figure,
    NarrativeClaim,
    ProjectEvaluation,
    ReportUnit,
    SourceRef,
    TextField,
)
from service.prompts import PromptTemplate, load_prompt, render_lines
from service.settings import Settings

log = logging.getLogger(__name__)

PROMPT_ID = "extract_narrative"
# A unit longer than this is not sent: a project report is a few thousand characters; anything far
# larger is a segmentation problem, and truncating would silently hide text from the model.
MAX_UNIT_CHARS = 30_000


# ---------------------------------------------------------------------------------------------------
# What the model returns (the wire schema). Numbers are JSON numbers: a Decimal schema
# (`anyOf: number|string+pattern`) is rejected by some OpenAI-compatible servers' grammar engines.
# Values become Decimal from the digits as written in the verified quote, never from the float.


class _Wire(BaseModel):
    # extra="forbid": an answer with keys the schema does not have (e.g. text injected by a document
    # that told the model to "add a field") is invalid, not silently accepted.
    model_config = ConfigDict(extra="forbid")


class TextReading(_Wire):
    text: str = Field(description="The section's content, copied verbatim from the document.")
    quote: str = Field(description="A verbatim, contiguous excerpt (<= 60 characters) of the document supporting it.")


class ClaimReading(_Wire):
    kind: ClaimKind = Field(description="What the number or grade in the prose is.")
    value: float | None = Field(None, description="The number as written (973万元 -> 973); null for a grade.")
    text: str | None = Field(None, description="The grade word (优, 良 …) or the phrase.")
    unit: str | None = Field(None, description="Unit as written: 元, 万元, %, 分.")
    quote: str = Field(description="Verbatim excerpt of the document containing the number or grade.")


class FundsReading(_Wire):
    unit: str | None = Field(None, description="Money unit of the funds table (万元, 元).")
    initial_budget: float | None = Field(None, description="年初预算数")
    adjusted_budget: float | None = Field(None, description="全年预算数 / 调整后预算数")
    executed: float | None = Field(None, description="全年执行数")
    reported_rate: float | None = Field(None, description="执行率 in percent, e.g. 93.76")


class UnitReading(_Wire):
    """What the model read from one project unit."""

    goals: TextReading | None = None
    goal_completion: TextReading | None = None
    stated_problems: TextReading | None = None
    stated_measures: TextReading | None = None
    narrative_claims: list[ClaimReading] = Field(default_factory=list)
    funds: FundsReading | None = None
    reported_total: float | None = Field(None, description="Self-evaluation total score as reported.")
    reported_grade: str | None = Field(None, description="Grade word as reported (优/良/中/差).")


NARRATIVE_FIELDS = ("goals", "goal_completion", "stated_problems", "stated_measures")
FUNDS_FIELDS = ("initial_budget", "adjusted_budget", "executed", "reported_rate")


def get_prompt() -> PromptTemplate:
    """The extraction prompt, validated against UnitReading (examples included)."""
    return load_prompt(PROMPT_ID, output_model=UnitReading)


# ---------------------------------------------------------------------------------------------------
# Quote verification (pure)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIGIT_GROUP = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _dec(value: float | int | str | Decimal | None) -> Decimal | None:
    """A model's JSON number as Decimal: 1039.0 -> 1039, 93.76 -> 93.76 (shortest repr, no float noise)."""
    if value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer():
            return Decimal(int(value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def number_in_quote(value: float, quote: str) -> Decimal | None:
    """The number as written in the quote that equals `value` (keeps the written precision: 100.00)."""
    target = _dec(value)
    if target is None:
        return None
    for m in _NUMBER.finditer(_DIGIT_GROUP.sub("", quote)):
        written = Decimal(m.group(0))
        if written == target:
            return written
    return None


# ---------------------------------------------------------------------------------------------------
# Messages


def unit_lines(doc: LoadedDocument, unit: ReportUnit) -> list[Line]:
    start, end = (unit.page_start, unit.line_start), (unit.page_end, unit.line_end)
    return [ln for p in doc.pages[unit.page_start - 1: unit.page_end] for ln in p.lines if start <= ln.key <= end]


def output_schema_json() -> str:
    return json.dumps(UnitReading.model_json_schema(), ensure_ascii=False)


def build_messages(prompt: PromptTemplate, *, project: str, document: str, method: str) -> list:
    """System (static text + format instructions), few-shot pairs, then this unit's user message."""
    from service.llm import few_shot_messages

    return few_shot_messages(prompt, schema_json=output_schema_json(), method=method, project=project,
                             document=document)


# ---------------------------------------------------------------------------------------------------
# One call, with retries on invalid output


def read_unit(llm: StructuredChatModel, messages: list, *, method: str, max_retries: int,
              record: list[dict] | None = None) -> tuple[UnitReading | None, str | None, int]:
    """Ask the model; returns (reading, failure reason, attempts made)."""
    return invoke_structured(llm, messages, UnitReading, method=method, max_retries=max_retries, what="reading",
                             record=record)


# ---------------------------------------------------------------------------------------------------
# Merge (pure)

_GRADE_ALIASES = {"优秀": "优", "良好": "良", "中等": "中", "较差": "差"}


def _grade_key(text: str | None) -> str | None:
    if text is None:
        return None
    t = normalize_text(text).strip("“”\"'「」 ")
    return _GRADE_ALIASES.get(t, t) or None


def _ref(doc_id: str, loc: Located) -> SourceRef:
    return SourceRef(doc_id=doc_id, page=loc.page, line_start=loc.line_start, line_end=loc.line_end, quote=loc.quote)


def _overlaps(a: SourceRef | None, b: SourceRef | None) -> bool:
    return bool(a and b and a.page == b.page and a.line_start <= b.line_end and b.line_start <= a.line_end)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _compare_number(field: str, rules: Decimal | None, llm: float | None, out: list[dict]) -> None:
    llm_dec = _dec(llm)
    if llm_dec is None:
        return  # the model not reading a value is not a disagreement about its value
    if rules is None:
        out.append({"field": field, "kind": "rules_missing", "rules": None, "llm": str(llm_dec)})
    elif rules != llm_dec:
        out.append({"field": field, "kind": "mismatch", "rules": str(rules), "llm": str(llm_dec)})


def _fig_value(fig: Figure | None) -> Decimal | None:
    return fig.value if fig is not None else None


def _same_value(a: NarrativeClaim, b: NarrativeClaim) -> bool:
    if a.value is None and b.value is None:
        return _grade_key(a.text) == _grade_key(b.text)
    return a.value is not None and b.value is not None and a.value == b.value


def _claim_value(c: NarrativeClaim) -> str | None:
    return str(c.value) if c.value is not None else c.text


def match_claim(new: NarrativeClaim, rules_claims: Sequence[NarrativeClaim]) -> tuple[str, NarrativeClaim | None]:
    """How an LLM claim relates to the rules' claims: "duplicate" (same place, kind and value),
    "kind_mismatch" (same place and value, another kind), "value_mismatch" (same kind citing the same
    phrase with another value) or "new" (e.g. a second number on the same line)."""
    at_place = [r for r in rules_claims if _overlaps(r.ref, new.ref)
                or (r.ref is None and r.kind == new.kind and _same_value(r, new))]
    for r in at_place:
        if _same_value(r, new):
            return ("duplicate" if r.kind == new.kind else "kind_mismatch"), r
    for r in at_place:
        if r.kind == new.kind and r.ref is not None and new.ref is not None and (
                r.ref.quote in new.ref.quote or new.ref.quote in r.ref.quote):
            return "value_mismatch", r
    return "new", None


def merge_reading(rules: ProjectEvaluation, reading: UnitReading, lines: Sequence[Line], *,
                  stamp: ExtractionStamp) -> ProjectEvaluation:
    """Rules win on table values; verified LLM readings fill narrative fields the rules left empty;
    every value the two disagree on goes to stamp.disagreements, every claim dropped to stamp.dropped."""
    doc_id = rules.doc_id
    disagreements: list[dict] = list(rules.stamp.disagreements)
    dropped: list[dict] = []
    updates: dict[str, Any] = {}

    for name in NARRATIVE_FIELDS:
        got: TextReading | None = getattr(reading, name)
        if got is None:
            continue
        # Prefer the whole text as the citation; a model that shortened or re-flowed a long section
        # still gets a field when its short verbatim quote is found.
        loc = locate_quote(got.text, lines)
        text = loc.quote if loc is not None else normalize_text(got.text)
        loc = loc or locate_quote(got.quote, lines)
        if loc is None:
            dropped.append({"field": name, "reason": "quote not found in the unit's text", "quote": got.quote[:80]})
            continue
        current: TextField | None = getattr(rules, name)
        if current is None:
            updates[name] = TextField(text=text, ref=_ref(doc_id, loc))
        else:
            a, b = normalize_text(current.text), normalize_text(got.text)
            if a not in b and b not in a:
                disagreements.append({"field": name, "kind": "mismatch", "rules": current.text[:200],
                                      "llm": got.text[:200]})

    rules_claims = list(rules.narrative_claims)
    added: list[NarrativeClaim] = []
    for i, c in enumerate(reading.narrative_claims):
        loc = locate_quote(c.quote, lines)
        if loc is None:
            dropped.append({"field": f"narrative_claims[{i}]", "reason": "quote not found in the unit's text",
                            "quote": c.quote[:80], "kind": c.kind})
            continue
        value: Decimal | None = None
        if c.value is not None:
            value = number_in_quote(c.value, loc.quote)
            if value is None:
                dropped.append({"field": f"narrative_claims[{i}]", "reason": "value not found in its quote",
                                "quote": c.quote[:80], "kind": c.kind, "llm": str(_dec(c.value))})
                continue
        elif c.kind == "grade":
            if not c.text or normalize_text(c.text).strip("“”\"'") not in loc.quote:
                dropped.append({"field": f"narrative_claims[{i}]", "reason": "grade not found in its quote",
                                "quote": c.quote[:80], "kind": c.kind})
                continue
        else:
            dropped.append({"field": f"narrative_claims[{i}]", "reason": "claim without a value",
                            "quote": c.quote[:80], "kind": c.kind})
            continue
        text = _grade_key(c.text) if c.kind == "grade" else c.text
        new = NarrativeClaim(kind=c.kind, value=value, text=text, unit=c.unit, ref=_ref(doc_id, loc))
        verdict, other = match_claim(new, rules_claims)
        if verdict == "new":
            if not any(a.kind == new.kind and _same_value(a, new) and _overlaps(a.ref, new.ref) for a in added):
                added.append(new)  # (the model may state one phrase twice)
        elif verdict == "kind_mismatch":
            disagreements.append({"field": "narrative_claims.kind", "kind": "mismatch", "rules": other.kind,
                                  "llm": new.kind, "value": _claim_value(new),
                                  "page": new.ref.page, "line": new.ref.line_start})
        elif verdict == "value_mismatch":
            disagreements.append({"field": f"narrative_claims.{new.kind}", "kind": "mismatch",
                                  "rules": _claim_value(other), "llm": _claim_value(new),
                                  "page": new.ref.page, "line": new.ref.line_start})
    claims = rules_claims + added
    updates["narrative_claims"] = claims

    if reading.funds is not None:
        for name in FUNDS_FIELDS:
            _compare_number(f"funds.{name}", _fig_value(getattr(rules.funds, name)),
                            getattr(reading.funds, name), disagreements)
        if reading.funds.unit and rules.funds.unit and normalize_text(reading.funds.unit) != rules.funds.unit:
            disagreements.append({"field": "funds.unit", "kind": "mismatch", "rules": rules.funds.unit,
                                  "llm": reading.funds.unit})
    _compare_number("reported_total", _fig_value(rules.reported_total), reading.reported_total, disagreements)
    if reading.reported_grade:
        rules_grade = rules.reported_grade.text if rules.reported_grade else None
        if rules_grade is None:
            disagreements.append({"field": "reported_grade", "kind": "rules_missing", "rules": None,
                                  "llm": reading.reported_grade})
        elif _grade_key(rules_grade) != _grade_key(reading.reported_grade):
            disagreements.append({"field": "reported_grade", "kind": "mismatch", "rules": rules_grade,
                                  "llm": reading.reported_grade})

    updates["stamp"] = stamp.model_copy(update={"backend": "merged", "disagreements": disagreements,
                                                "dropped": dropped})
    return rules.model_copy(update=updates, deep=True)


# ---------------------------------------------------------------------------------------------------
# Public entry


def enrich_with_llm(extraction: DocumentExtraction, doc: LoadedDocument, settings: Settings, *,
                    llm: StructuredChatModel | None = None, max_concurrency: int = 4,
                    record: list[dict] | None = None) -> DocumentExtraction:
    """Run the LLM chain on every project unit of a deterministic extraction and merge the results.

    `llm` is built from settings when not given (ConfigError on bad settings: a misconfiguration is the
    operator's to fix, not something to hide behind a silent fallback). Per-unit failures fall back to
    the rules record with the reason in its stamp. Units are independent calls, so up to
    `max_concurrency` run at once (a 22-table report is 22 calls; the work is waiting on the network).
    """
    if extraction.doc_id != doc.doc_id:
        raise ExtractionError("extraction and document differ",
                              subject=f"{extraction.doc_id[:12]} vs {doc.doc_id[:12]}")
    if llm is None:
        llm = build_chat_model(settings)
    prompt = get_prompt()
    method = settings.llm_structured_method
    base_stamp = {
        "prompt_id": prompt.id,
        "prompt_version": prompt.version,
        "model": model_name_of(llm, settings),
        "settings_hash": settings.settings_hash(),
    }
    units = {u.unit_id: u for u in extraction.units}

    def one(rules: ProjectEvaluation) -> ProjectEvaluation:
        stamp = rules.stamp.model_copy(update=base_stamp)
        attempts: list[dict] = []
        out = _enrich_one(rules, units.get(rules.unit_id), doc, llm, prompt, method, settings, stamp, attempts)
        if record is not None:
            record.extend({**a, "unit": rules.unit_id} for a in attempts)  # list.extend is atomic under the GIL
        return out

    if max_concurrency > 1 and len(extraction.projects) > 1:
        with ThreadPoolExecutor(max_workers=min(max_concurrency, len(extraction.projects)),
                                thread_name_prefix="jixiao-llm") as pool:
            projects = list(pool.map(one, extraction.projects))  # keeps document order
    else:
        projects = [one(rules) for rules in extraction.projects]
    return extraction.model_copy(update={"projects": projects})


def _fallback(rules: ProjectEvaluation, stamp: ExtractionStamp, reason: str) -> ProjectEvaluation:
    log.warning("LLM extraction fell back to rules for %s (%s): %s", rules.unit_id, rules.project, reason)
    return rules.model_copy(update={"stamp": stamp.model_copy(update={"backend": "rules", "fallback_reason": reason})},
                            deep=True)


def _enrich_one(rules: ProjectEvaluation, unit: ReportUnit | None, doc: LoadedDocument, llm: StructuredChatModel,
                prompt: PromptTemplate, method: str, settings: Settings, stamp: ExtractionStamp,
                record: list[dict] | None = None) -> ProjectEvaluation:
    if unit is not None:
        lines = unit_lines(doc, unit)
    elif rules.ref is not None:
        lines = [ln for ln in doc.pages[rules.ref.page - 1].lines
                 if rules.ref.line_start <= ln.line_no <= rules.ref.line_end]
    else:
        return _fallback(rules, stamp, "no unit span to read")
    if not lines:
        return _fallback(rules, stamp, "the unit has no lines")
    document = render_lines(lines)
    if len(document) > MAX_UNIT_CHARS:
        return _fallback(rules, stamp, f"unit text too long for one call ({len(document)} > {MAX_UNIT_CHARS} chars)")
    messages = build_messages(prompt, project=rules.project, document=document, method=method)
    reading, reason, _attempts = read_unit(llm, messages, method=method, max_retries=settings.llm_max_retries,
                                           record=record)
    if reading is None:
        return _fallback(rules, stamp, reason or "unknown failure")
    return merge_reading(rules, reading, lines, stamp=stamp)
