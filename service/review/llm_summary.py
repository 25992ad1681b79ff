"""Optional prose summary of a review draft, written by a chat model that is passed in (never built here).

The model only rephrases the findings. Code then checks the prose: every number in it must be one of the
numbers in the findings or in the reported/recomputed figures; otherwise the prose is dropped and the draft
goes out without it. The prompt lives in prompts/review_summary.toml."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_NUM = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


def numbers_in(text: str | None) -> set[Decimal]:
    out: set[Decimal] = set()
    for m in _NUM.finditer(text or ""):
        try:
            out.add(Decimal(m.group(0).replace(",", "")).normalize())
        except InvalidOperation:
            continue
    return out


@dataclass(frozen=True)
class SummaryResult:
    text: str | None
    model: str | None
    dropped_reason: str | None = None


def digest(review) -> str:
    """The findings as plain lines: the only material the model sees."""
    lines = [f"文件: {review.document}"]
    for p in review.projects:
        lines.append(f"项目: {p.project} (评分方案 {p.variant})")
        for r in p.figures:
            lines.append(f"  {r.label_zh}: 报告 {r.reported}; 复核 {r.recomputed}")
        for f in p.findings:
            if f.severity == "info":
                continue
            lines.append(f"  [{f.severity}] {f.rule_id} {f.message_zh}")
    for f in review.other_findings:
        if f.severity != "info":
            lines.append(f"[{f.severity}] {f.rule_id} {f.project or ''} {f.message_zh}")
    return "\n".join(lines)


def check_numbers(text: str, allowed: set[Decimal]) -> list[str]:
    """Numbers in `text` that are not allowed (as printed)."""
    bad = []
    for m in _NUM.finditer(text):
        v = Decimal(m.group(0).replace(",", "")).normalize()
        if v not in allowed:
            bad.append(m.group(0))
    return bad


def summarize(review, chat_model: Any, *, prompt_id: str = "review_summary") -> SummaryResult:
    """Ask the model for a short 审核意见 paragraph; keep it only if every number checks out."""
    from service.prompts import load_prompt
    from service.review.model import allowed_numbers

    prompt = load_prompt(prompt_id)
    project = "、".join(p.project for p in review.projects) or review.document
    messages = [("system", prompt.render_system()),
                ("user", prompt.render_user(project=project, document=digest(review)))]
    model_name = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    try:
        reply = chat_model.invoke(messages)
    except Exception as exc:  # the draft never depends on the model
        return SummaryResult(None, model_name, f"model call failed: {type(exc).__name__}: {exc}")
    text = getattr(reply, "content", reply)
    if not isinstance(text, str) or not text.strip():
        return SummaryResult(None, model_name, "empty reply")
    text = text.strip()
    bad = check_numbers(text, allowed_numbers(review))
    if bad:
        return SummaryResult(None, model_name, f"numbers not in the findings: {', '.join(bad[:8])}")
    return SummaryResult(text, model_name, None)
