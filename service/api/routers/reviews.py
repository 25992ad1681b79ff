"""GET /reviews/{doc}: the review draft (审核意见) of a document, or of one of its projects, as a download."""
from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from service.api.deps import StoreDep
from service.errors import NotFoundError

router = APIRouter(prefix="/reviews", tags=["reviews"])

MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _ascii(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9.-]+", "_", text)).strip("_.")


def content_disposition(filename: str, fallback: str) -> str:
    """attachment; the UTF-8 name (RFC 6266 / 5987) and an ASCII fallback for old clients."""
    return f"attachment; filename=\"{_ascii(fallback) or 'review'}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _label(text: str, limit: int = 60) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_")[:limit]


@router.get("/{doc}", response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()},
                             "description": "The draft, as an attachment."}})
def get_review(
    doc: str,
    store: StoreDep,
    format: Annotated[Literal["md", "docx", "pdf", "xlsx"], Query(description="md, docx, pdf or xlsx.")] = "md",
    project: Annotated[str | None, Query(max_length=200, description="Only this project (name or unit id).")] = None,
    edition: Annotated[Literal["working", "issue"], Query(
        description="working: the reviewer's copy with an appendix of rule ids; issue: the 发文版 without it.")] = "working",
) -> Response:
    """The 审核意见: problems grouped by root cause with their pages and lines, reported vs reviewed scores,
    整改要求 and 落款."""
    from service.review import build_review, render

    row = store.get_document(doc)
    extraction = store.get_extraction(row.doc_id)
    findings = [f.finding for f in store.list_findings(doc_id=row.doc_id)]
    review = build_review(extraction, findings, document=row.filename, project=project or None,
                          coverage=store.store.get_coverage(row.doc_id))
    if project and not review.projects:
        raise NotFoundError(f"no project matching it in {row.filename}", subject=project)
    data = render(review, format, edition)
    stem = row.filename.rsplit(".", 1)[0]
    one = review.projects[0] if project else None
    name = f"{stem}_审核意见" + (f"_{_label(one.project)}" if one else "") + f".{format}"
    fallback = f"{_ascii(stem) or row.doc_id[:12]}_review" + (f"_{one.unit_id}" if one else "") + f".{format}"
    return Response(content=data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": content_disposition(name, fallback)})
