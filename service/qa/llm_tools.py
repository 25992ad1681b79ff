"""Tools the LLM planner may call: pure functions over the store, JSON-serialisable, bounded in size.

Each tool validates its arguments with a pydantic model (extra keys forbidden); `execute` turns an unknown
tool or invalid arguments into an error result the model can read and recover from, never an exception.
Every figure a tool returns carries its provenance (doc_id, page, line_start, line_end, quote) when the
store has it, so the planner can verify the final answer's numbers and cite them.
Document text (project names, quotes) is data: the planner wraps tool results before the model sees them.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# A result larger than this many items is cut (and says so): one answer never needs more rows than this.
MAX_ROWS = 20


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindProjects(_Args):
    """Find projects by filter: year, name fragment, department fragment, grade prefix, rate/score bounds."""
    year: int | None = None
    name: str | None = Field(None, max_length=60)
    department: str | None = Field(None, max_length=60)
    grade: str | None = Field(None, max_length=8)
    rate_min: float | None = None
    rate_max: float | None = None
    score_min: float | None = None
    score_max: float | None = None


class GetProject(_Args):
    """One project's figures (budget, executed, rate, score, grade) and its findings, by id."""
    project_id: int


class Aggregate(_Args):
    """count/sum/avg/min/max of a field over the projects matching a filter, optionally grouped."""
    op: Literal["count", "sum", "avg", "min", "max"]
    field: Literal["adjusted_budget", "executed", "execution_rate", "reported_total"] = "executed"
    group_by: Literal["grade", "department"] | None = None
    filter: FindProjects = Field(default_factory=FindProjects)


class SearchPassages(_Args):
    """Search the report text (hybrid index) for passages; their numbers are text, not figures to answer with."""
    query: str = Field(min_length=1, max_length=100)
    k: int = Field(3, ge=1, le=5)


class GetAccountsItem(_Args):
    """A 部门决算 row by subject name fragment (卫生健康支出, 住房公积金) or 功能/经济分类 code, with its columns."""
    name: str | None = Field(None, max_length=40)
    code: str | None = Field(None, pattern=r"^\d{3,7}$")
    table_id: str | None = Field(None, pattern=r"^\d{2}$")


TOOLS: dict[str, type[_Args]] = {"find_projects": FindProjects, "get_project": GetProject,
                                 "aggregate": Aggregate, "search_passages": SearchPassages,
                                 "get_accounts_item": GetAccountsItem}
# A passage is shown cut to this many characters: enough to read a sentence or a table row around a hit.
PASSAGE_CHARS = 400


def tool_specs() -> list[dict]:
    """OpenAI tool definitions (what bind_tools sends)."""
    return [{"type": "function", "function": {"name": name, "description": (model.__doc__ or "").strip(),
                                              "parameters": model.model_json_schema()}}
            for name, model in TOOLS.items()]


def _num(v: Decimal | None) -> str | None:
    return None if v is None else format(v.normalize(), "f")


def _ref(fig) -> dict | None:
    ref = getattr(fig, "ref", None)
    if ref is None:
        return None
    return {"doc_id": ref.doc_id, "page": ref.page, "line_start": ref.line_start, "line_end": ref.line_end,
            "quote": ref.quote}


def _fig(fig) -> dict | None:
    if fig is None or fig.value is None:
        return None
    return {"value": _num(fig.value), "raw": fig.raw, "ref": _ref(fig)}


def _summary(row) -> dict:
    ev = row.evaluation
    f = ev.funds
    return {"project_id": row.id, "name": row.name, "department": ev.department, "year": row.year,
            "unit": row.amount_unit or f.unit,
            "adjusted_budget": _fig(f.adjusted_budget), "executed": _fig(f.executed),
            "execution_rate": _fig(f.reported_rate), "reported_total": _fig(ev.reported_total),
            "grade": ({"value": ev.reported_grade.text, "ref": _ref(ev.reported_grade)}
                      if ev.reported_grade else None),
            "findings": row.findings}


def _value(row, field: str) -> Decimal | None:
    f = row.evaluation.funds
    fig = {"adjusted_budget": f.adjusted_budget, "executed": f.executed, "execution_rate": f.reported_rate,
           "reported_total": row.evaluation.reported_total}[field]
    return None if fig is None else fig.value


def _matches(row, a: FindProjects) -> bool:
    ev = row.evaluation
    if a.name and a.name not in row.name and not any(a.name in x for x in ev.aliases):
        return False
    if a.department and a.department not in (ev.department or ""):
        return False
    for field, lo, hi in (("execution_rate", a.rate_min, a.rate_max), ("reported_total", a.score_min, a.score_max)):
        if lo is None and hi is None:
            continue
        v = _value(row, field)
        if v is None or (lo is not None and v < Decimal(str(lo))) or (hi is not None and v > Decimal(str(hi))):
            return False
    return True


def _rows(store, a: FindProjects) -> list:
    return [r for r in store.list_projects(year=a.year, grade=a.grade or None) if _matches(r, a)]


def find_projects(store, a: FindProjects) -> dict:
    rows = _rows(store, a)
    return {"total": len(rows), "truncated": len(rows) > MAX_ROWS, "projects": [_summary(r) for r in rows[:MAX_ROWS]]}


def get_project(store, a: GetProject) -> dict:
    from service.errors import NotFoundError
    try:
        row = store.get_project(a.project_id)
    except NotFoundError:
        return {"error": f"no project with id {a.project_id}"}
    out = _summary(row)
    out["findings"] = [{"rule_id": f.rule_id, "severity": f.severity, "message": f.finding.message_zh,
                        "refs": [r.model_dump() for r in f.finding.refs[:3]]}
                       for f in store.list_findings(doc_id=row.doc_id)[:MAX_ROWS] if f.unit_id == row.unit_id]
    return out


def aggregate(store, a: Aggregate) -> dict:
    rows = _rows(store, a.filter)
    groups: dict[str, list] = {}
    for r in rows:
        key = "all" if a.group_by is None else (
            (r.evaluation.reported_grade.text if r.evaluation.reported_grade else "未填")
            if a.group_by == "grade" else (r.evaluation.department or "未注明部门"))
        groups.setdefault(key, []).append(r)
    out = []
    for key, members in list(groups.items())[:MAX_ROWS]:
        vals = [v for v in (_value(r, a.field) for r in members) if v is not None]
        if a.op == "count":
            result: Decimal | None = Decimal(len(members))
        elif not vals:
            result = None
        elif a.op == "sum":
            result = sum(vals, Decimal(0))
        elif a.op == "avg":
            result = (sum(vals, Decimal(0)) / len(vals)).quantize(Decimal("0.01"))
        else:
            result = min(vals) if a.op == "min" else max(vals)
        # the terms a figure was computed from are its provenance (first MAX_ROWS, the figure over all)
        refs = [x for x in (_ref(getattr(r.evaluation.funds, a.field, None) if a.field != "reported_total"
                                 else r.evaluation.reported_total) for r in members[:MAX_ROWS]) if x]
        if a.field == "execution_rate":
            refs = [x for x in (_ref(r.evaluation.funds.reported_rate) for r in members[:MAX_ROWS]) if x]
        out.append({"group": key, "value": _num(result), "n": len(members), "n_values": len(vals), "refs": refs})
    return {"op": a.op, "field": a.field, "groups": out}


def search_passages(index, a: SearchPassages) -> dict:
    # no `value` fields: the planner's verifier never takes a number from passage text as grounded
    if index is None:
        return {"error": "passage search is not available here"}
    hits = index.search(a.query, k=a.k)
    return {"passages": [{"text": h.chunk.text[:PASSAGE_CHARS], "project": h.chunk.project,
                          "where": {"doc_id": h.chunk.doc_id, "page": h.chunk.page, "line_start": h.chunk.line_start,
                                    "line_end": h.chunk.line_end}} for h in hits]}


def get_accounts_item(store, a: GetAccountsItem) -> dict:
    from service.accounts import AccountsExtraction

    if not a.name and not a.code:
        return {"error": "give a name fragment or a code"}
    rows: list[dict] = []
    for doc in store.list_documents():
        for art in store.list_artifacts(doc.doc_id, kind="accounts"):
            acc = AccountsExtraction.model_validate(art.payload)
            for table in acc.tables:
                if a.table_id and table.table_id != a.table_id:
                    continue
                labels = {c.key: "/".join(c.path) or c.label for c in table.columns}
                for row in table.rows:
                    if (a.code and row.code != a.code) or (a.name and a.name not in row.name):
                        continue
                    rows.append({"department": acc.department, "year": acc.year, "table": table.table_id,
                                 "table_title": table.title, "unit": table.unit, "name": row.name, "code": row.code,
                                 "columns": {labels.get(k, k): {"value": _num(v.value), "raw": v.raw, "ref": _ref(v)}
                                             for k, v in row.values.items() if v.value is not None}})
    return {"total": len(rows), "truncated": len(rows) > MAX_ROWS, "rows": rows[:MAX_ROWS]}


_RUN = {"get_accounts_item": get_accounts_item, "find_projects": find_projects, "get_project": get_project, "aggregate": aggregate}


def execute(store, name: str, raw_args: Any, index=None) -> dict:
    """Run one tool call; an unknown tool or invalid arguments is an error result, not an exception."""
    model = TOOLS.get(name)
    if model is None:
        return {"error": f"unknown tool {name!r}; tools: {sorted(TOOLS)}"}
    try:
        args = model.model_validate_json(raw_args) if isinstance(raw_args, str) else model.model_validate(raw_args or {})
    except ValidationError as exc:
        return {"error": "invalid arguments", "details": json.loads(exc.json(include_url=False))[:5]}
    if name == "search_passages":
        return search_passages(index, args)
    return _RUN[name](store, args)
