"""Projects (项目自评): the list with filters and sorting, and one project in full — funds, indicators,
figures as reported vs recomputed, and its findings."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service.api.cache import CachedStore
from service.api.deps import StoreDep
from service.api.schemas import (
    SEVERITIES,
    FigureOut,
    FindingOut,
    RefOut,
    SeverityCounts,
    TextOut,
    finding_out,
    num,
)
from service.errors import NotFoundError
from service.models import Indicator, ProjectEvaluation, Target
from service.store import ProjectRow

router = APIRouter(prefix="/projects", tags=["projects"])

SortKey = Literal["id", "name", "document", "year", "budget", "executed", "execution_rate", "reported_total",
                  "recomputed_total", "grade", "findings", "errors"]


class ProjectOut(BaseModel):
    id: int
    unit_id: str
    doc_id: str
    filename: str
    name: str
    year: int | None
    department: str | None
    amount_unit: str | None = Field(description="Unit of budget and executed as reported (万元, 元).")
    budget: float | None = Field(description="全年预算数 / 调整后预算数 (else 年初预算数).")
    executed: float | None = Field(description="全年执行数.")
    execution_rate: float | None = Field(description="Recomputed: executed / budget × 100 (else as reported).")
    reported_rate: float | None
    reported_total: float | None
    recomputed_total: float | None = Field(description="The total the rules allow: the reported total less what the checks found inflated (service.checks.score).")
    reported_grade: str | None
    recomputed_grade: str | None = Field(description="The grade of the reported total.")
    variant: str | None = Field(description="The scoring scheme assumed, e.g. henan-exec10.")
    findings: SeverityCounts
    findings_total: int


class FigureRowOut(BaseModel):
    label_zh: str
    label_en: str
    reported: str
    recomputed: str
    differs: bool


class FundsSourceOut(BaseModel):
    name: str
    initial_budget: FigureOut | None = None
    adjusted_budget: FigureOut | None = None
    available: FigureOut | None = None
    executed: FigureOut | None = None
    reported_rate: FigureOut | None = None


class FundsOut(BaseModel):
    unit: str
    initial_budget: FigureOut | None = None
    adjusted_budget: FigureOut | None = None
    available: FigureOut | None = None
    executed: FigureOut | None = None
    reported_rate: FigureOut | None = None
    exec_weight: FigureOut | None = None
    exec_score: FigureOut | None = None
    sources: list[FundsSourceOut] = Field(default_factory=list)


class IndicatorOut(BaseModel):
    level1: str | None
    level2: str | None
    level3: str
    target: str | None
    actual: str | None
    weight: float | None
    score: float | None
    deviation_note: str | None
    ref: RefOut | None


class ProjectDetailOut(ProjectOut):
    implementer: str | None
    evidence: str | None = Field(description="Why that scoring scheme was assumed.")
    figures: list[FigureRowOut] = Field(description="Funds and scores as reported vs recomputed.")
    funds: FundsOut
    indicators: list[IndicatorOut]
    goals: TextOut | None
    goal_completion: TextOut | None
    stated_problems: TextOut | None
    stated_measures: TextOut | None
    ref: RefOut | None = Field(description="The project's span in the document (first line).")
    finding_list: list[FindingOut]


@dataclass(frozen=True)
class _Calc:
    recomputed_total: Decimal | None
    recomputed_grade: str | None
    variant: str | None
    evidence: str | None
    figures: tuple[FigureRowOut, ...]


def _calc_document(store: CachedStore, doc_id: str) -> dict[str, _Calc]:
    """Per unit: what the checks recompute (scheme, total, grade, reported-vs-recomputed rows). Scheme
    detection looks at the other projects of the same document, hence per document."""
    try:
        from service.checks.engine import unit_context
        from service.checks.numbers import fmt, grade_of, raw_or
        from service.checks.totals import recompute_total
        from service.review.model import figure_rows
    except ModuleNotFoundError:  # pragma: no cover - checks and review ship with the product
        return {}
    from service.checks.score import reviewed_score

    extraction = store.get_extraction(doc_id)
    by_unit: dict[str, list] = {}
    for f in store.list_findings(doc_id=doc_id):
        by_unit.setdefault(f.unit_id, []).append(f.finding)
    out: dict[str, _Calc] = {}
    for p in extraction.projects:
        try:
            ctx = unit_context(p, extraction)
            # the score the rules allow (service.checks.score), the same number Q&A and the drafts give;
            # the Σ of the parts stays in the figure rows
            score = reviewed_score(p, by_unit.get(p.unit_id, []))
            total = score.value
            if total is None and score.status != "unreviewable":  # no grades-in-得分 column is ever summed
                tot = recompute_total(ctx)
                total = tot[0] if tot else None
            # the reviewed score beside the figures, with how it was obtained (the drafts' 复核说明)
            shown = fmt(score.value, None) if score.value is not None else (
                "无法复核" if score.status == "unreviewable" else "—")
            extra = (FigureRowOut(label_zh="复核得分", label_en="Reviewed score", reported=raw_or(p.reported_total),
                                  recomputed=shown, differs=score.status in ("adjusted", "unreviewable")),
                     FigureRowOut(label_zh="复核说明", label_en="How the reviewed score was obtained", reported="",
                                  recomputed=score.basis_zh(), differs=False))
            reported = p.reported_total.value if p.reported_total is not None else None
            out[p.unit_id] = _Calc(
                recomputed_total=total,
                recomputed_grade=grade_of(reported) if reported is not None else None,
                variant=ctx.scheme.variant, evidence=ctx.scheme.evidence,
                figures=tuple(FigureRowOut(label_zh=r.label_zh, label_en=r.label_en, reported=r.reported,
                                           recomputed=r.recomputed, differs=r.differs) for r in figure_rows(ctx))
                + extra,
            )
        except Exception:  # one odd project must not take the list down; it just shows no recomputation
            out[p.unit_id] = _Calc(None, None, None, None, ())
    return out


def _calc(store: CachedStore, doc_id: str) -> dict[str, _Calc]:
    return store.memo(("project_calc", doc_id), lambda: _calc_document(store, doc_id))


def _severity_by_unit(store: CachedStore) -> dict[str, dict[str, int]]:
    def compute() -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SEVERITIES, 0))
        for f in store.list_findings():
            out[f.unit_id][f.severity] = out[f.unit_id].get(f.severity, 0) + 1
        return dict(out)

    return store.memo(("severity_by_unit",), compute)


def _budget(p: ProjectEvaluation) -> Decimal | None:
    f = p.funds
    for fig in (f.adjusted_budget, f.initial_budget):
        if fig is not None and fig.value is not None:
            return fig.value
    return None


def _project_out(row: ProjectRow, filenames: dict[str, str], calc: _Calc | None, sev: dict[str, int]) -> dict:
    p = row.evaluation
    counts = SeverityCounts(**{s: sev.get(s, 0) for s in SEVERITIES})
    return dict(
        id=row.id, unit_id=row.unit_id, doc_id=row.doc_id, filename=filenames.get(row.doc_id, ""), name=row.name,
        year=row.year, department=p.department, amount_unit=row.amount_unit, budget=num(_budget(p)),
        executed=num(row.executed), execution_rate=num(row.execution_rate, 2), reported_rate=num(row.reported_rate),
        reported_total=num(row.reported_total),
        recomputed_total=num(calc.recomputed_total, 2) if calc else None,
        reported_grade=row.reported_grade, recomputed_grade=calc.recomputed_grade if calc else None,
        variant=calc.variant if calc else None, findings=counts, findings_total=sum(sev.get(s, 0) for s in SEVERITIES),
    )


def _sort_value(p: ProjectOut, key: str) -> Any:
    return {
        "id": p.id, "name": p.name, "document": p.filename, "year": p.year, "budget": p.budget,
        "executed": p.executed, "execution_rate": p.execution_rate, "reported_total": p.reported_total,
        "recomputed_total": p.recomputed_total, "grade": p.reported_grade, "findings": p.findings_total,
        "errors": p.findings.error,
    }[key]


def sort_projects(items: list[ProjectOut], sort: str) -> list[ProjectOut]:
    """`sort` is a key, `-key` for descending; unknown values (None) go last either way; ties keep id order."""
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    known = [p for p in items if _sort_value(p, key) is not None]
    unknown = [p for p in items if _sort_value(p, key) is None]
    known.sort(key=lambda p: p.id)
    known.sort(key=lambda p: _sort_value(p, key), reverse=desc)
    return known + sorted(unknown, key=lambda p: p.id)


@router.get("", response_model=list[ProjectOut])
def list_projects(
    store: StoreDep,
    document: Annotated[str | None, Query(description="Doc id, unique id prefix or file name.")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    grade: Annotated[str | None, Query(max_length=100, description="Reported grade, by its start (优 matches 优秀).")] = None,
    execution_below: Annotated[float | None, Query(ge=0, le=10_000, description="Execution rate below this percent.")] = None,
    has_findings: Annotated[bool | None, Query(description="Only projects with (true) / without (false) findings.")] = None,
    sort: Annotated[str, Query(description=f"One of {', '.join(SortKey.__args__)}; prefix - for descending.",
                               pattern="^-?(" + "|".join(SortKey.__args__) + ")$")] = "id",
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ProjectOut]:
    """Projects across documents (document order by default)."""
    doc_id = store.get_document(document).doc_id if document else None
    rows = store.list_projects(doc_id=doc_id, year=year, grade=grade or None, execution_below=execution_below,
                               has_findings=has_findings)
    filenames = {d.doc_id: d.filename for d in store.list_documents()}
    sev = _severity_by_unit(store)

    def out(r: ProjectRow, with_calc: bool) -> ProjectOut:
        calc = _calc(store, r.doc_id).get(r.unit_id) if with_calc else None
        return ProjectOut(**_project_out(r, filenames, calc, sev.get(r.unit_id, {})))

    # The recomputation (_calc: a document's extraction read back and each project's figures and reviewed
    # score worked out) is what costs: for every project it was ~28 s a request at 10,000 documents, since
    # the cache holds fewer documents' results than that. Only the page gets it; the others are ordered by
    # the stored row, and by recomputed_total as the stored facts give it (_sortable_totals).
    items = [out(r, False) for r in rows]
    if sort.lstrip("-") == "recomputed_total":
        totals = _sortable_totals(store, rows)
        items = [p.model_copy(update={"recomputed_total": totals.get(p.id)}) for p in items]
    by_id = {r.id: r for r in rows}
    return [out(by_id[p.id], True) for p in sort_projects(items, sort)[offset:offset + limit]]


def _sortable_totals(store: CachedStore, rows: list[ProjectRow]) -> dict[int, float | None]:
    """Each project's recomputed_total as its row shows it, without recomputing every project: it is the
    reviewed score (service.checks.score) whenever there is one, which project_facts keeps (allowed_total);
    a project without one (no total printed) is recomputed, as _calc then adds up its indicators."""
    allowed = store.memo(("allowed_totals",), lambda: dict(store.select_facts(columns=("project_id", "allowed_total"))))
    out: dict[int, float | None] = {}
    for r in rows:
        value = allowed.get(r.id)
        if value is None:
            calc = _calc(store, r.doc_id).get(r.unit_id)
            out[r.id] = num(calc.recomputed_total, 2) if calc else None
        else:
            out[r.id] = num(value, 2)
    return out


def _target(t: Target | None) -> str | None:
    return t.raw if t is not None else None


def _indicator(i: Indicator) -> IndicatorOut:
    return IndicatorOut(level1=i.level1, level2=i.level2, level3=i.level3, target=_target(i.target),
                        actual=_target(i.actual), weight=num(i.weight), score=num(i.score),
                        deviation_note=i.deviation_note, ref=RefOut.of(i.ref))


def _funds(p: ProjectEvaluation) -> FundsOut:
    f = p.funds
    return FundsOut(
        unit=f.unit, **{k: FigureOut.of(getattr(f, k)) for k in (
            "initial_budget", "adjusted_budget", "available", "executed", "reported_rate", "exec_weight", "exec_score")},
        sources=[FundsSourceOut(name=s.name, **{k: FigureOut.of(getattr(s, k)) for k in (
            "initial_budget", "adjusted_budget", "available", "executed", "reported_rate")}) for s in f.sources],
    )


@router.get("/{project_id}", response_model=ProjectDetailOut)
def get_project(project_id: str, store: StoreDep) -> ProjectDetailOut:
    """One project by numeric id (from GET /projects) or unit id."""
    if project_id.strip().isdigit() and len(project_id.strip()) > 18:  # beyond any SQL integer
        raise NotFoundError("no such project", subject=project_id[:40])
    row = store.get_project(project_id)
    p = row.evaluation
    filenames = {d.doc_id: d.filename for d in store.list_documents()}
    calc = _calc(store, row.doc_id).get(row.unit_id)
    sev = _severity_by_unit(store).get(row.unit_id, {})
    findings = [finding_out(f, filenames, {row.unit_id: row.id})
                for f in store.list_findings(doc_id=row.doc_id) if f.unit_id == row.unit_id]
    return ProjectDetailOut(
        **_project_out(row, filenames, calc, sev), implementer=p.implementer,
        evidence=calc.evidence if calc else None, figures=list(calc.figures) if calc else [], funds=_funds(p),
        indicators=[_indicator(i) for i in p.indicators], goals=TextOut.of(p.goals),
        goal_completion=TextOut.of(p.goal_completion), stated_problems=TextOut.of(p.stated_problems),
        stated_measures=TextOut.of(p.stated_measures), ref=RefOut.of(p.ref), finding_list=findings,
    )
