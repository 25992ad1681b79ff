"""Findings of the checks: filter by document, project, rule and severity."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import StoreDep
from service.api.schemas import FindingOut, Severity, finding_out

router = APIRouter(prefix="/findings", tags=["findings"])


@router.get("", response_model=list[FindingOut])
def list_findings(
    store: StoreDep,
    document: Annotated[str | None, Query(description="Doc id, unique id prefix or file name.")] = None,
    project: Annotated[str | None, Query(max_length=200, description="Part of the project name.")] = None,
    rule_id: Annotated[str | None, Query(max_length=40, description="E.g. R-EXEC-RATE.")] = None,
    severity: Annotated[list[Severity] | None, Query(description="error, warning or info; repeatable.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 2000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[FindingOut]:
    """Findings, errors first, then warnings, then info; in document order within a severity."""
    doc_id = store.get_document(document).doc_id if document else None
    rows = store.list_findings(doc_id=doc_id, project=project or None, rule_id=rule_id or None,
                               severity=tuple(severity) if severity else None)
    filenames = {d.doc_id: d.filename for d in store.list_documents()}
    project_ids = {p.unit_id: p.id for p in store.list_projects(doc_id=doc_id)}
    return [finding_out(r, filenames, project_ids) for r in rows[offset:offset + limit]]
