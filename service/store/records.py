"""What the store hands out: plain pydantic rows, detached from any session."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from service.models import Finding, ProjectEvaluation


class DocumentRow(BaseModel):
    doc_id: str
    filename: str
    kind: str
    size_bytes: int
    page_count: int
    line_count: int
    title: str | None = None
    year: int | None = None
    ingested_at: datetime
    projects: int = 0
    findings: dict[str, int] = Field(default_factory=dict)  # severity -> count
    # the newest finding's id: a re-check replaces the findings (new ids) even when the counts stay the same;
    # the caches of Q&A key on it. Not part of the API's document.
    findings_version: int = Field(0, exclude=True)
    coverage_status: str | None = None  # read | partial | unrecognised | not_applicable (Coverage.status)
    coverage_reason: str | None = None

    @property
    def unread(self) -> bool:
        return self.coverage_status in ("partial", "unrecognised")


class ProjectRow(BaseModel):
    id: int
    doc_id: str
    unit_id: str
    name: str
    year: int | None = None
    amount_unit: str | None = None
    adjusted_budget: Decimal | None = None
    executed: Decimal | None = None
    execution_rate: Decimal | None = None
    reported_rate: Decimal | None = None
    reported_total: Decimal | None = None
    reported_grade: str | None = None
    findings: int = 0
    evaluation: ProjectEvaluation


class FindingRow(BaseModel):
    id: int
    doc_id: str
    unit_id: str
    project: str | None = None
    rule_id: str
    severity: str
    finding: Finding


class ArtifactRow(BaseModel):
    doc_id: str
    kind: str
    key: str
    payload: Any
    updated_at: datetime
