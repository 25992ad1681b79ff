"""Structured questions as SQL over the store's project_facts (issue 13: "answered by SQL over indexed
columns, not by loading every record").

A question's conditions (执行率低于90%, 等级为良, 自评得分高于复核得分, 未完成指标), its ranking (最高的5个: ORDER BY …
LIMIT, with the ties at the cut) and the figure a sum or an average adds become one query on indexed
columns; only the projects it returns are read further (their printed figures in one query, the full head
of those an answer cites). The exact figures of what it returns are then checked again in Python, with the
same code as before (plan.execute, structured.answer_structured), so the answer is the same as from every
record: SQL widens each bound by EPS (SQLite keeps the figures as floats) and never narrows the set the
Python check would keep.

Pure but for the store passed in. Returns None whenever a question is not one SQL can narrow (a named
project, a lookup over the whole scope, a condition on a figure the facts do not hold): the caller then uses
the scoped records as they are.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from service.qa.facts import FACT_METRICS
from service.qa.structured import ProjectRecord, dedupe

EPS = Decimal("0.000001")
_RANK_SLACK = 4  # rows fetched per place asked: copies of one report (txt, PDF, DOCX) take several


def _where(c) -> list[tuple[str, str, Any]] | None:
    """A plan Condition as facts filters, each bound widened by EPS; None if the facts cannot test it."""
    if c.metric not in FACT_METRICS:
        return None
    if c.metric == "grade":
        return [("grade", c.op, c.value)] if c.op in ("eq", "ne", "in") else None
    v = Decimal(c.value)
    return {"lt": [(c.metric, "lt", v + EPS)], "le": [(c.metric, "le", v + EPS)],
            "gt": [(c.metric, "gt", v - EPS)], "ge": [(c.metric, "ge", v - EPS)],
            "eq": [(c.metric, "ge", v - EPS), (c.metric, "le", v + EPS)]}.get(c.op)


class Narrowing:
    """The scoped records, deduplicated once over all of them (as the answer would), and the SQL that
    selects among them."""

    def __init__(self, store, records: Sequence[ProjectRecord], whole: bool):
        self.store = store
        self.kept = dedupe(list(records))
        self.by_id = {r.project_id: r for r in self.kept if r.project_id is not None}
        # the scope is the whole store: SQL needs no list of ids (and LIMIT may cut the ranking)
        self.whole = whole

    def ids(self, where: list[tuple[str, str, Any]] = (), order_by: str | None = None, desc: bool = False,
            limit: int | None = None) -> set[int] | None:
        """The kept records' ids SQL selects; a ranking's cut is widened to its ties and to enough distinct
        projects, or None when the cut cannot be trusted (then no narrowing)."""
        scope = None if self.whole else list(self.by_id)
        cols = ("project_id", order_by) if order_by else ("project_id",)
        fetch = None if limit is None else limit * _RANK_SLACK + 8
        rows = self.store.select_facts(where=where, project_ids=scope, order_by=order_by, desc=desc, limit=fetch,
                                       columns=cols)
        cut_short = fetch is not None and len(rows) == fetch  # more rows exist than were fetched
        if cut_short:  # take every row as far as the last one's figure, ties included
            cut = Decimal(rows[-1][1])
            tie = [*where, (order_by, "ge", cut - EPS) if desc else (order_by, "le", cut + EPS)]
            rows = self.store.select_facts(where=tie, project_ids=scope, columns=cols)
        got = {r[0] for r in rows if r[0] in self.by_id}
        return None if cut_short and len(got) < limit else got

    def records(self, ids: set[int]) -> list[ProjectRecord]:
        out = [r for r in self.kept if r.project_id in ids]
        prefetch(out)
        return out


def prefetch(records: Sequence[ProjectRecord]) -> None:
    """Read the printed heads of these records in one query (per 500) instead of one each."""
    by_reader: dict[int, tuple[Any, list[int]]] = {}
    for r in records:
        reader = getattr(r.evaluation, "_heads", None)
        if reader is not None and hasattr(reader, "prefetch"):
            by_reader.setdefault(id(reader), (reader, []))[1].append(r.project_id)
    for reader, ids in by_reader.values():
        reader.prefetch(ids)


def narrow_parts(store, parts, records: Sequence[ProjectRecord], named, whole: bool) -> list[ProjectRecord] | None:
    """The records plan.execute needs for these parts: the union of what each part's SQL selects. None when
    some part needs every record (or names projects)."""
    if named or not parts or not records:
        return None
    n = Narrowing(store, records, whole)
    chosen: set[int] = set()
    for p in parts:
        where: list = []
        for c in p.conditions:
            w = _where(c)
            if w is None:
                return None
            where += w
        metrics = [m for m in p.metrics if m in FACT_METRICS and m != "grade"]
        if p.op in ("rank", "compare"):
            m = (metrics or ["rate"])[0]
            if p.op == "compare":
                if not p.conditions:
                    return None
                got = n.ids(where + [(m, "notnull", None)])
            else:
                got = n.ids(where, order_by=m, desc=p.order == "desc", limit=max(p.limit or 1, p.nth or 1))
        elif p.op == "group":
            got = n.ids(where + [("grade", "notnull", None)])
        elif p.op in ("list", "count", "sum", "average"):
            if not p.conditions:
                return None  # every record of the scope: nothing to narrow
            got = n.ids(where)
        else:  # a lookup over the scope (a department's few projects), or an operation not known here
            return None
        if got is None:
            return None
        chosen |= got
    return n.records(chosen)


def narrow_intent(store, intent, records: Sequence[ProjectRecord], whole: bool) -> list[ProjectRecord] | None:
    """The records structured.answer_structured needs for this intent, selected by SQL; None for intents
    that read every record anyway (a catalogue, findings by rule) or name projects."""
    if not records:
        return None
    n = Narrowing(store, records, whole)
    if intent.kind == "low_execution":
        th = intent.threshold or Decimal(90)  # as answer_structured reads it
        got = n.ids([("rate", "lt", Decimal(th) + EPS)])
    elif intent.kind == "grade" and intent.grades:
        where = [("grade", "in", tuple(intent.grades))]
        if intent.threshold is not None:
            where += [("total", "ge", Decimal(intent.threshold) - EPS), ("total", "le", Decimal(intent.threshold) + EPS)]
        got = n.ids(where)
    elif intent.kind == "score_inflation":
        got = n.ids([("total-allowed_total", "ge", Decimal("0.01") - EPS)])
    elif intent.kind == "shortfall":
        got = n.ids([("n_missed", "gt", 0)])
        if got is not None and intent.projects:  # a named project with none missed still answers (扣分)
            got |= {r.project_id for r in n.kept if r.evaluation.project in intent.projects}
    elif intent.kind == "ranking" and intent.metric in ("rate", "total", "budget", "executed"):
        got = n.ids(order_by=intent.metric, desc=intent.order == "desc", limit=intent.limit or 5)
    else:
        return None
    return None if got is None else n.records(got)
