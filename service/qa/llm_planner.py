"""The LLM planner: the model chooses tools over the store (service.qa.llm_tools), the code runs them, and
the final answer is kept only if every number in it is a structured value some tool returned.

Loop: system + user (prompts/plan_question.toml) ─> llm.bind_tools(tool_specs) ─> up to MAX_ROUNDS rounds of
tool calls (each executed; errors returned to the model as tool results) ─> a final text ─> verify:
every number in the text (万元/%/thousands separators normalised by llm_answer.numbers_of) must equal a
`value` field of a tool result — never a number inside a quote, a name or a message, so a document line that
instructs the model cannot ground a claim — and the citations are the provenance refs of those values.
`plan_answer` returns None whenever anything fails (transport error, round limit, an ungrounded number, no
citation): the caller answers offline and says so.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from service.prompts import load_prompt
from service.qa.citations import Citation
from service.qa.llm_answer import LANGUAGE_NAMES, evidence_only_by_fiat, numbers_of
from service.qa.llm_tools import execute, tool_specs

log = logging.getLogger(__name__)

PROMPT_ID = "plan_question"
MAX_ROUNDS = 4
# A tool result longer than this is cut for the model (the verifier still sees all of it).
MAX_RESULT_CHARS = 8000


def wrap(result: dict) -> str:
    """A tool result as the model sees it: JSON between <document> delimiters; angle brackets in it become
    full-width so document text inside (names, quotes) can never close the delimiter."""
    text = json.dumps(result, ensure_ascii=False).replace("<", "\uff1c").replace(">", "\uff1e")
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + "…(truncated)"
    return f"<document>\n{text}\n</document>"


def grounded_values(result: Any, out: dict[Decimal, list[dict]] | None = None, ref: dict | None = None
                    ) -> dict[Decimal, list[dict]]:
    """Every structured `value` in a tool result with the refs that back it (its own ref, or the refs of the
    aggregate group it belongs to). Quotes, names and messages are never walked for numbers."""
    out = {} if out is None else out
    if isinstance(result, dict):
        refs = [result["ref"]] if isinstance(result.get("ref"), dict) else result.get("refs") or []
        v = result.get("value")
        if isinstance(v, str):
            try:
                d = Decimal(v)
            except Exception:
                d = None
            if d is not None:
                out.setdefault(d.normalize(), []).extend(r for r in refs if isinstance(r, dict))
        for key in ("n", "total", "n_values", "project_id", "year"):
            if isinstance(result.get(key), int) and not isinstance(result.get(key), bool):
                out.setdefault(Decimal(result[key]).normalize(), []).extend(r for r in refs if isinstance(r, dict))
        for k, child in result.items():
            if k not in ("ref", "refs", "quote", "raw", "name", "message", "department", "group", "text",
                         "table_title", "code", "table"):
                grounded_values(child, out)
    elif isinstance(result, list):
        for child in result:
            grounded_values(child, out)
    return out


def verify_final(text: str, results: list[dict]) -> tuple[list[Citation] | None, str | None]:
    """Citations for the text's numbers, or (None, reason) when a number is not a tool value."""
    if evidence_only_by_fiat([text]):
        # an instruction or a verdict on every project at once is what injected text asks a model to say;
        # no tool computes such a verdict, so the answer cannot be grounded
        return None, "the answer reads as an instruction or a verdict on the whole corpus"
    values: dict[Decimal, list[dict]] = {}
    for r in results:
        grounded_values(r, values)
    arabic, chinese = numbers_of(text)
    if chinese:
        return None, f"Chinese numerals not checkable: {sorted(chinese)}"
    cites: list[Citation] = []
    seen = set()
    for d in sorted(arabic):
        refs = values.get(d.normalize())
        if refs is None:
            return None, f"number {d} is not in any tool result"
        for r in refs:
            key = (r["doc_id"], r["page"], r["line_start"], r["line_end"])
            if key not in seen:
                seen.add(key)
                cites.append(Citation(doc_id=r["doc_id"], page=r["page"], line_start=r["line_start"],
                                      line_end=r["line_end"], quote=r["quote"]))
    if not cites:
        return None, "no figure in the answer carries provenance"
    return cites, None


@dataclass
class PlanOutcome:
    status: Literal["answered", "failed"] = "failed"
    text: str | None = None
    citations: list[Citation] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    rounds: int = 0
    reason: str | None = None


def run_planner(question: str, *, store, llm, index=None, lang: str = "zh", catalogue: str = "",
                max_rounds: int = MAX_ROUNDS) -> PlanOutcome:
    from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage

    prompt = load_prompt(PROMPT_ID)
    out = PlanOutcome()
    user = prompt.user.format(question=" ".join(question.replace("<", "\uff1c").replace(">", "\uff1e").split()),
                              language=LANGUAGE_NAMES.get(lang, LANGUAGE_NAMES["zh"]),
                              document=catalogue.replace("<", "\uff1c").replace(">", "\uff1e") or "（未列出）")
    messages: list = [SystemMessage(prompt.system), HumanMessage(user)]
    bound = llm.bind_tools(tool_specs())
    results: list[dict] = []
    try:
        for _ in range(max_rounds + 1):
            ai = bound.invoke(messages)
            out.rounds += 1
            messages.append(ai)
            # arguments that are not JSON land in invalid_tool_calls (langchain); they are answered as errors too
            broken = getattr(ai, "invalid_tool_calls", None) or []
            if not ai.tool_calls and not broken:
                final = ai.content if isinstance(ai.content, str) else ""
                break
            if out.rounds > max_rounds:
                out.reason = f"no final answer within {max_rounds} rounds of tool calls"
                return out
            for call in ai.tool_calls:
                result = execute(store, call["name"], call.get("args"), index)
                out.calls.append({"name": call["name"], "args": call.get("args"), "error": result.get("error")})
                if "error" not in result:
                    results.append(result)
                messages.append(ToolMessage(wrap(result), tool_call_id=call["id"]))
            for call in broken:
                result = {"error": "invalid arguments", "details": "arguments are not a JSON object"}
                out.calls.append({"name": call.get("name"), "args": call.get("args"), "error": result["error"]})
                messages.append(ToolMessage(wrap(result), tool_call_id=call.get("id") or ""))
        else:  # pragma: no cover - the loop always breaks or returns
            final = ""
    except Exception as exc:  # transport errors, timeouts, malformed responses: the offline answer serves
        out.reason = f"{type(exc).__name__}: {exc}"
        return out
    final = final.strip()
    if not final:
        out.reason = "empty final answer"
        return out
    cites, reason = verify_final(final, results)
    if cites is None:
        out.reason = reason
        return out
    out.status, out.text, out.citations = "answered", final, cites
    return out


def plan_answer(question: str, *, store, llm, index=None, lang: str = "zh", catalogue: str = ""
                ) -> tuple[str, list[Citation]] | None:
    """(text, citations) when the planner's answer is grounded; None means: answer offline."""
    out = run_planner(question, store=store, llm=llm, index=index, lang=lang, catalogue=catalogue)
    if out.status != "answered":
        log.warning("LLM planner fell back to the offline answer after %d round(s): %s", out.rounds, out.reason)
        return None
    return out.text, out.citations
