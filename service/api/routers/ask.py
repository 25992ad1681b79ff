"""POST /ask: a question in Chinese or English, answered from the stored reports with verified citations.

Questions run in two lanes, each with its own bounded set of worker threads. Exact questions (structured
records, 部门决算 tables: a few milliseconds of CPU each) never queue behind open ones (retrieval, and with a
model configured an LLM call of seconds). The lane is chosen by the Q&A's own pure router, memoized per
question and store state. Bounding the threads also keeps two cores from thrashing on the GIL.

Finished answers are cached per (question, filters) for the current store state (see service.api.cache): the
same question over the same reports gets the same answer, without recomputing it, until a document is added
or removed. `Cache-Control: no-cache` on the request recomputes; the `X-Jixiao-Cache` response header says
`hit` or `miss`.
"""
from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from service.api.cache import CachedStore
from service.api.deps import IndexDep, LLMDep, SettingsDep, StoreDep

router = APIRouter(tags=["ask"])

EXACT_THREADS = 2
OPEN_THREADS = 1  # offline the open lane is CPU-bound: one thread leaves the exact lane most of the GIL
OPEN_THREADS_LLM = 8  # with a model it mostly waits on the endpoint


class AskFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str | None = Field(None, max_length=300, description="Doc id, unique id prefix or file name.")
    project: str | None = Field(None, max_length=200, description="Part of a project name.")
    year: int | None = Field(None, ge=1900, le=2100)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="At most 500 characters (longer: 400 invalid_question).",
                          examples=["哪些项目未完成绩效目标？"])
    filters: AskFilters | None = None
    page: int = Field(1, ge=1, description="Which page of a list answer (1-based).")
    page_size: int = Field(20, ge=0, le=1000, description="Items per page of a list answer; 0 = all of them.")


class CitationOut(BaseModel):
    n: int = Field(description="The number used in the answer text, e.g. [1].")
    doc_id: str
    filename: str | None
    page: int
    line_start: int
    line_end: int
    quote: str
    verified: bool


class AskOut(BaseModel):
    answer: str
    citations: list[CitationOut]
    rows: list[dict[str, Any]] = Field(description="The records behind a structured answer (empty for open ones).")
    route: str = Field(description="structured:<intent>, accounts:<kind> or open:<how>.")
    lang: str | None = None
    total: int | None = Field(None, description="A list answer: how many items in all (the answer shows one page; "
                                                "ask again with page=2, … or page_size=0 for the rest).")
    page: int | None = None
    page_size: int | None = None


@dataclass
class Lanes:
    exact: anyio.CapacityLimiter
    open: anyio.CapacityLimiter


def _lanes(request: Request, llm: Any | None) -> Lanes:
    state = request.app.state
    if state.ask_lanes is None:  # made here, inside the event loop
        state.ask_lanes = Lanes(anyio.CapacityLimiter(EXACT_THREADS),
                                anyio.CapacityLimiter(OPEN_THREADS_LLM if llm is not None else OPEN_THREADS))
    return state.ask_lanes


def lane_of(question: str, store: CachedStore) -> Literal["exact", "open"]:
    """Which lane a question goes to; a question the Q&A will refuse takes the (fast) exact lane."""
    q = question.strip()
    if not q or len(q) > 500:
        return "exact"
    try:
        from service.qa.intents import parse_question
    except ModuleNotFoundError:  # pragma: no cover - the Q&A ships with the product
        return "open"

    def kind() -> str:
        names = store.memo(("project_names",), lambda: sorted({p.name for p in store.list_projects()}))
        try:
            k = parse_question(q, names).kind
            if k == "open" and not re.search(r"为什么|为何|原因|措施|建议|why|reason|measure", q, re.I):
                # an operation over the store (count, sum, rank, …) or a loosely named project: answered exactly
                from service.qa.linking import link_projects
                from service.qa.plan import parse_part, split_parts

                if any(parse_part(t).op != "lookup" for t in split_parts(q)) or link_projects(q, {n: n for n in names}):
                    return "exact"
            return k
        except Exception:  # routing is ask()'s job; here it only picks a lane
            return "open"

    return "open" if store.memo(lane_key(q), kind) == "open" else "exact"


def lane_key(question: str) -> tuple[str, str]:
    return ("ask_lane", question.strip())


def _wants_fresh(request: Request) -> bool:
    cc = request.headers.get("cache-control", "").lower()
    return "no-cache" in cc or "no-store" in cc


@router.post("/ask", response_model=AskOut,
             responses={200: {"headers": {"X-Jixiao-Cache": {"description": "hit or miss",
                                                             "schema": {"type": "string"}}}}})
async def ask(request: Request, body: Annotated[AskIn, Body()], settings: SettingsDep, store: StoreDep,
              index: IndexDep, llm: LLMDep) -> Response:
    """Structured questions (execution rates, unmet targets, grades, totals …) are answered exactly from the
    extracted records; others from hybrid retrieval over the report text. Every citation is checked against
    the stored lines; an unverifiable one is dropped."""
    from service.qa.service import ask as answer

    key = ("ask", body.question.strip(), body.filters.model_dump_json() if body.filters else "", body.page,
           body.page_size)
    fresh = _wants_fresh(request)
    if not fresh:
        hit = store.peek(key, region="answers")
        if hit is not None:
            return Response(hit, media_type="application/json", headers={"X-Jixiao-Cache": "hit"})
    lanes = _lanes(request, llm)

    def run() -> Response:
        generation = store.generation()  # re-checks the store when its last check is over a second old
        if not fresh:
            again = store.peek(key, region="answers")
            if again is not None:
                return Response(again, media_type="application/json", headers={"X-Jixiao-Cache": "hit"})
        filters: dict[str, Any] = {}
        if body.filters is not None:
            if body.filters.document:
                filters["doc_id"] = store.get_document(body.filters.document).doc_id
            if body.filters.project:
                filters["project"] = body.filters.project
            if body.filters.year is not None:
                filters["year"] = body.filters.year
        out = answer(body.question, filters or None, settings=settings, store=store, index=index, llm=llm,
                     page=body.page, page_size=body.page_size or None)
        payload = AskOut(
            answer=out.answer, rows=out.rows, route=out.route, lang=getattr(out, "lang", None),
            total=out.total, page=out.page, page_size=out.page_size,
            citations=[CitationOut(n=k, doc_id=c.doc_id, filename=c.filename, page=c.page, line_start=c.line_start,
                                   line_end=c.line_end, quote=c.quote, verified=c.verified)
                       for k, c in enumerate(out.citations, 1)],
        ).model_dump_json().encode()  # serialized here, in the worker thread: answers run to tens of KB
        store.put(key, payload, generation, region="answers")
        return Response(payload, media_type="application/json", headers={"X-Jixiao-Cache": "miss"})

    kind = store.peek(lane_key(body.question))  # seen before: no thread hop just to pick the lane
    if kind is None:
        lane = await anyio.to_thread.run_sync(lane_of, body.question, store)
    else:
        lane = "open" if kind == "open" else "exact"
    return await anyio.to_thread.run_sync(run, limiter=lanes.open if lane == "open" else lanes.exact)
