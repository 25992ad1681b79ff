"""Response models shared by several routers, and the functions that build them from store rows.

Amounts, rates and scores are JSON numbers here (rounded for display where they are computed); the exact
figures as the report prints them travel beside them as `raw` text with their source lines.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, Field

from service.models import Figure, Finding, SourceRef, TextField
from service.store import FindingRow

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")


def num(value: Decimal | None, places: int | None = None) -> float | None:
    if value is None:
        return None
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return float(value)


class RefOut(BaseModel):
    """Where a statement is in the document: lines line_start..line_end of one page; `quote` is exact text
    of those lines (see /documents/{id}/lines)."""

    doc_id: str
    page: int
    line_start: int
    line_end: int
    quote: str

    @classmethod
    def of(cls, ref: SourceRef | None) -> RefOut | None:
        return None if ref is None else cls(**ref.model_dump())


class FigureOut(BaseModel):
    raw: str
    value: float | None = None
    unit: str | None = None
    ref: RefOut | None = None

    @classmethod
    def of(cls, fig: Figure | None) -> FigureOut | None:
        if fig is None:
            return None
        return cls(raw=fig.raw, value=num(fig.value), unit=fig.unit, ref=RefOut.of(fig.ref))


class TextOut(BaseModel):
    text: str
    ref: RefOut | None = None

    @classmethod
    def of(cls, tf: TextField | None) -> TextOut | None:
        return None if tf is None else cls(text=tf.text, ref=RefOut.of(tf.ref))


class SeverityCounts(BaseModel):
    error: int = 0
    warning: int = 0
    info: int = 0


class FindingOut(BaseModel):
    id: int
    doc_id: str
    filename: str | None = None
    unit_id: str
    project: str | None = None
    project_id: int | None = Field(None, description="The project (GET /projects/{id}) the finding is about.")
    rule_id: str
    rule_title_zh: str
    rule_title_en: str
    severity: Severity
    message_zh: str
    message_en: str
    reported: str | None = None
    recomputed: str | None = None
    variant: str | None = None
    refs: list[RefOut] = Field(default_factory=list)


def rule_titles(rule_id: str) -> tuple[str, str]:
    try:
        from service.checks.rulebook import RULE_BY_ID
    except ModuleNotFoundError:  # pragma: no cover - the rulebook ships with the checks
        return rule_id, rule_id
    rule = RULE_BY_ID.get(rule_id)
    return (rule.title_zh, rule.title_en) if rule else (rule_id, rule_id)


def finding_out(row: FindingRow, filenames: dict[str, str], project_ids: dict[str, int]) -> FindingOut:
    f: Finding = row.finding
    zh, en = rule_titles(f.rule_id)
    return FindingOut(
        id=row.id, doc_id=row.doc_id, filename=filenames.get(row.doc_id), unit_id=row.unit_id, project=row.project,
        project_id=project_ids.get(row.unit_id), rule_id=row.rule_id, rule_title_zh=zh, rule_title_en=en,
        severity=row.severity, message_zh=f.message_zh, message_en=f.message_en, reported=f.reported,
        recomputed=f.recomputed, variant=f.variant, refs=[RefOut.of(r) for r in f.refs],
    )
