"""Documents: upload (through the pipeline), list, show, source lines, delete."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from service.api.deps import IndexDep, SettingsDep, StepsDep, StoreDep
from service.api.upload import FIELD, read_upload, too_large
from service.errors import InputError, JixiaoError, NotFoundError
from service.models import Coverage
from service.store import DocumentRow

router = APIRouter(prefix="/documents", tags=["documents"])

# Ingest is CPU-bound pure Python (PDF layout, extraction, checks): one at a time keeps the API responsive
# for readers, and two threads would only take turns on the GIL anyway.
INGEST_CONCURRENCY = 1


class DocumentOut(BaseModel):
    doc_id: str
    filename: str
    kind: str
    size_bytes: int
    pages: int
    lines: int
    title: str | None
    year: int | None
    ingested_at: datetime
    projects: int
    findings: dict[str, int]
    coverage_status: str | None = Field(
        None, description="What the reader understood: read | partial | unrecognised | not_applicable. "
                          "partial and unrecognised mean the findings are incomplete: check the form by hand.")
    coverage_reason: str | None = None
    unread: bool = Field(False, description="True for partial or unrecognised: never a clean result.")

    @classmethod
    def of(cls, r: DocumentRow) -> DocumentOut:
        return cls(doc_id=r.doc_id, filename=r.filename, kind=r.kind, size_bytes=r.size_bytes, pages=r.page_count,
                   lines=r.line_count, title=r.title, year=r.year, ingested_at=r.ingested_at, projects=r.projects,
                   findings=r.findings, coverage_status=r.coverage_status, coverage_reason=r.coverage_reason,
                   unread=r.unread)


class UploadOut(BaseModel):
    status: Literal["ingested", "unchanged"] = Field(
        description="ingested: stored now (201); unchanged: the same bytes were already stored (200).")
    doc_id: str
    filename: str
    kind: str | None
    pages: int
    lines: int
    projects: int
    findings: int
    by_severity: dict[str, int]
    message: str
    warnings: list[str]
    seconds: float
    coverage_status: str | None = None
    coverage_reason: str | None = None
    unread: bool = False


class LineOut(BaseModel):
    line_no: int
    kind: str
    text: str
    cells: list[str] | None = None


class PageLinesOut(BaseModel):
    doc_id: str
    filename: str
    page: int
    pages: int
    lines: list[LineOut]


class DeletedOut(BaseModel):
    doc_id: str
    filename: str
    deleted: bool
    index_deleted: bool


class IngestFailed(JixiaoError):
    """The pipeline refused or failed the file; carries the pipeline's error code."""


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": [FIELD],
            "properties": {FIELD: {"type": "string", "format": "binary",
                                   "description": "One report: .pdf, .docx, .xlsx, .txt or .md"}},
        }}},
    }
}


def _ingest_error(code: str | None, message: str, filename: str) -> JixiaoError:
    code = code or "internal_error"
    if code.endswith("_failed") or code == "internal_error":
        return IngestFailed(message, subject=filename, code=code)
    return InputError(message, subject=filename, code=code)


# An upload waits this long for another process's writes (a CLI ingest) before answering 503 writer_busy.
WRITER_WAIT_SECONDS = 60.0


@router.post("", response_model=UploadOut, status_code=status.HTTP_201_CREATED, openapi_extra=_UPLOAD_BODY,
             responses={200: {"model": UploadOut, "description": "Already stored (same bytes)."},
                        400: {"description": "invalid_input, empty_file, corrupt_pdf, no_text_layer, …"},
                        413: {"description": "too_large"}, 415: {"description": "unsupported_type"}})
async def upload_document(request: Request, response: Response, settings: SettingsDep, store: StoreDep,
                          steps: StepsDep, index: IndexDep,
                          backend: Annotated[Literal["rules", "llm", "auto"] | None, Query(
                              description="Extraction backend for this upload (default: the server's "
                                          "JIXIAO_EXTRACTION_BACKEND): rules, llm or auto.")] = None) -> UploadOut:
    """Upload one report (multipart field `file`). It goes through the same pipeline as `jixiao ingest`:
    validate, load, extract, check, store, index. The same bytes twice are stored once."""
    if backend is not None:
        if backend == "llm" and not settings.llm_configured:
            # refused before the body is read: the caller asked for a reader this server does not have
            raise InputError("backend=llm needs a model configured on the server (JIXIAO_LLM_BASE_URL, "
                             "JIXIAO_LLM_MODEL)", subject="backend", code="llm_not_configured")
        settings = settings.model_copy(update={"extraction_backend": backend})
    limit = settings.max_upload_bytes
    upload = await read_upload(request, limit)
    if len(upload.data) > limit:  # pragma: no cover - read_upload stops first
        raise too_large(limit)
    state = request.app.state

    def ingest():
        from service.pipeline import Pipeline

        sha = hashlib.sha256(upload.data).hexdigest()  # here, not on the event loop: 100 MB take a while
        # Same bytes wait for each other: the second finds the first one's document and reports "unchanged"
        # instead of extracting it again. (The store's primary key would keep it single anyway.)
        from service.writer_lock import writer_lock

        with state.upload_locks.hold(sha), writer_lock(settings.data_dir, timeout=WRITER_WAIT_SECONDS):
            pipeline = Pipeline(settings, store=store.store, steps=steps, index=index)
            try:
                return pipeline.ingest_bytes(upload.data, upload.filename)
            finally:
                store.invalidate()

    if getattr(state, "ingest_limiter", None) is None:  # made here, inside the event loop
        state.ingest_limiter = anyio.CapacityLimiter(INGEST_CONCURRENCY)
    result = await anyio.to_thread.run_sync(ingest, limiter=state.ingest_limiter)
    if not result.ok or result.doc_id is None:
        raise _ingest_error(result.error_code, result.message, upload.filename)
    if result.status == "unchanged":
        response.status_code = status.HTTP_200_OK
    return UploadOut(status=result.status, doc_id=result.doc_id, filename=upload.filename, kind=result.kind,
                     pages=result.pages, lines=result.lines, projects=result.projects, findings=result.findings,
                     by_severity=result.by_severity, message=result.message, warnings=result.warnings,
                     seconds=result.seconds, coverage_status=result.coverage_status,
                     coverage_reason=result.coverage_reason, unread=result.unread)


@router.get("", response_model=list[DocumentOut])
def list_documents(store: StoreDep) -> list[DocumentOut]:
    """Every stored document, oldest first, with its project and finding counts."""
    return [DocumentOut.of(r) for r in store.list_documents()]


@router.get("/{ref}", response_model=DocumentOut)
def get_document(ref: str, store: StoreDep) -> DocumentOut:
    """By full doc id, unique id prefix, or file name."""
    return DocumentOut.of(store.get_document(ref))


@router.get("/{ref}/coverage", response_model=Coverage)
def get_coverage(ref: str, store: StoreDep) -> Coverage:
    """The reader's verdict on one document: which forms were read, how many projects and indicator rows,
    which required fields are missing, and whether the document is read / partial / unrecognised."""
    doc = store.get_document(ref)
    coverage = store.store.get_coverage(doc.doc_id)
    if coverage is None:
        raise NotFoundError("no coverage verdict stored for this document (stored by an older version; "
                            "ingest it again)", subject=doc.filename)
    return coverage


@router.get("/{ref}/lines", response_model=PageLinesOut)
def get_lines(ref: str, store: StoreDep,
              page: Annotated[int, Query(ge=1, le=100_000, description="1-based page number.")] = 1) -> PageLinesOut:
    """The numbered lines of one page, as cited by findings and answers (the source viewer)."""
    doc = store.get_document(ref)
    lines = store.get_lines(doc.doc_id, page=page)
    return PageLinesOut(doc_id=doc.doc_id, filename=doc.filename, page=page, pages=doc.page_count,
                        lines=[LineOut(line_no=ln.line_no, kind=ln.kind, text=ln.text,
                                       cells=list(ln.cells) if ln.kind == "row" and ln.cells else None)
                               for ln in lines])


@router.delete("/{ref}", response_model=DeletedOut)
def delete_document(ref: str, store: StoreDep, index: IndexDep, settings: SettingsDep) -> DeletedOut:
    """Remove a document, everything derived from it, and its chunks in the search index."""
    from service.writer_lock import writer_lock

    doc = store.get_document(ref)
    with writer_lock(settings.data_dir, timeout=WRITER_WAIT_SECONDS):
        return _delete(doc, store, index)


def _delete(doc, store, index) -> DeletedOut:
    try:
        index_deleted = bool(index.delete_document(doc.doc_id)) if index is not None else False
        deleted = store.store.delete_document(doc.doc_id)
    finally:
        store.invalidate()
    return DeletedOut(doc_id=doc.doc_id, filename=doc.filename, deleted=deleted, index_deleted=index_deleted)
