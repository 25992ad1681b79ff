"""A project's facts: the figures questions filter, rank and add up, and the head an answer prints and cites
(pure). The store keeps both per project (service.store.schema.project_facts), the figures in indexed
columns, so structured questions select projects by SQL (service.qa.pushdown) and read the head of the
selected ones only."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Sequence

from service.models import Figure, Finding, Funds, Indicator, ProjectEvaluation, TextField

# the figures (service.qa.plan.metric_value's metrics) kept as columns; amounts in 万元
FACT_METRICS = ("budget", "executed", "initial", "available", "unspent", "rate", "total", "grade")
# the rest of a project's head (service.qa.digest.REST_FIELDS), kept as JSON in the `head` column
HEAD_KEYS = ("reported_total", "reported_grade", "funds", "n_indicators", "missed_indicators", "missed_names",
             "allowed_total")


def head_of(e: ProjectEvaluation, findings: Sequence[Finding]) -> dict[str, Any]:
    """What every question may read of a project besides its names: its funds (without the per-source rows
    no answer over many projects reads), total and grade as printed with where, its indicator count, the
    indicators it missed and the score its findings allow."""
    from service.checks.score import allowed_total
    from service.qa.structured import missed_indicators

    missed = missed_indicators(e)
    return {
        "reported_total": e.reported_total, "reported_grade": e.reported_grade,
        "funds": e.funds.model_copy(update={"sources": []}) if e.funds.sources else e.funds,
        "n_indicators": len(e.indicators), "missed_indicators": missed, "missed_names": [i.level3 for i in missed],
        "allowed_total": allowed_total(e, findings),
    }


def head_json(head: dict[str, Any]) -> dict[str, Any]:
    def dump(v):
        return v.model_dump(mode="json") if v is not None else None
    return {"reported_total": dump(head["reported_total"]), "reported_grade": dump(head["reported_grade"]),
            "funds": dump(head["funds"]), "n_indicators": head["n_indicators"],
            "missed_indicators": [dump(i) for i in head["missed_indicators"]],
            "allowed_total": str(head["allowed_total"]) if head["allowed_total"] is not None else None}


def head_from_json(data: dict[str, Any]) -> dict[str, Any]:
    missed = [Indicator.model_validate(i) for i in data.get("missed_indicators") or ()]
    return {
        "reported_total": Figure.model_validate(data["reported_total"]) if data.get("reported_total") else None,
        "reported_grade": TextField.model_validate(data["reported_grade"]) if data.get("reported_grade") else None,
        "funds": Funds.model_validate(data["funds"]) if data.get("funds") else Funds(),
        "n_indicators": int(data.get("n_indicators") or 0),
        "missed_indicators": missed, "missed_names": [i.level3 for i in missed],
        "allowed_total": Decimal(data["allowed_total"]) if data.get("allowed_total") is not None else None,
    }


_FUNDS_FIGURES = ("initial_budget", "adjusted_budget", "available", "executed", "reported_rate", "exec_weight",
                  "exec_score")


def printed_of(head: dict[str, Any]) -> dict[str, Any]:
    """The small part of a head every listed project shows (each figure as printed, its value and unit; the
    grade's text; the indicator count), without the source refs and indicators that make a head 2.6 kB: a
    list of 1,000 projects parses these, and the full heads of the 20 it shows and cites."""
    def fig(f):
        return [f.raw, str(f.value) if f.value is not None else None, f.unit] if f is not None else None
    funds = head["funds"]
    return {"unit": funds.unit, "funds": {k: fig(getattr(funds, k)) for k in _FUNDS_FIGURES if getattr(funds, k)},
            "total": fig(head["reported_total"]),
            "grade": head["reported_grade"].text if head["reported_grade"] is not None else None,
            "n_indicators": head["n_indicators"], "missed_names": head["missed_names"],
            "allowed_total": str(head["allowed_total"]) if head["allowed_total"] is not None else None}


class LightFigure:
    """A Figure as `printed_of` keeps it: raw, value and unit at hand, ref read on first use."""

    __slots__ = ("raw", "value", "unit", "_full", "_path", "_ref")

    def __init__(self, item: list, full: Callable[[], dict], path: tuple[str, ...]):
        self.raw, value, self.unit = item
        self.value = Decimal(value) if value is not None else None
        self._full, self._path, self._ref = full, path, _UNREAD

    @property
    def ref(self):
        if self._ref is _UNREAD:
            x: Any = self._full()
            for k in self._path:
                x = x.get(k) if isinstance(x, dict) else getattr(x, k, None)
            self._ref = getattr(x, "ref", None)
        return self._ref


class LightText(LightFigure):
    __slots__ = ("text",)

    def __init__(self, text: str, full: Callable[[], dict], path: tuple[str, ...]):
        self.text = text
        super().__init__([text, None, None], full, path)


class LightFunds:
    """Funds as `printed_of` keeps them (no per-source rows: a head never had them)."""

    # the figures a form does not print (most of them, on most forms): None without an instance attribute
    initial_budget = adjusted_budget = available = executed = reported_rate = exec_weight = exec_score = None
    sources: tuple = ()

    def __init__(self, printed: dict, full: Callable[[], dict]):
        self.unit = printed.get("unit") or "万元"
        for k, item in (printed.get("funds") or {}).items():
            if item:
                setattr(self, k, LightFigure(item, full, ("funds", k)))


_UNREAD = object()


def light_head(printed: dict[str, Any], full: Callable[[], dict]) -> dict[str, Any]:
    """A head (HEAD_KEYS but missed_indicators, which missed_names names) from `printed_of`'s dict; full() gives the whole head (parsed
    head JSON), read only when a ref is asked."""
    total = printed.get("total")
    return {
        "reported_total": LightFigure(total, full, ("reported_total",)) if total else None,
        "reported_grade": LightText(printed["grade"], full, ("reported_grade",)) if printed.get("grade") else None,
        "funds": LightFunds(printed, full),
        "n_indicators": int(printed.get("n_indicators") or 0),
        "missed_names": list(printed.get("missed_names") or ()),
        "allowed_total": Decimal(printed["allowed_total"]) if printed.get("allowed_total") is not None else None,
    }


def facts_of(e: ProjectEvaluation, findings: Sequence[Finding]) -> dict[str, Any]:
    """The project_facts row of one project (without its ids): each figure exactly as Q&A computes it
    (metric_value, the one definition), so what SQL selects is what the answer then states."""
    from service.qa.plan import metric_value
    from service.qa.structured import ProjectRecord, forget

    head = head_of(e, findings)
    r = ProjectRecord(None, e.doc_id, None, e, list(findings))
    row: dict[str, Any] = {m: metric_value(r, m) for m in FACT_METRICS}
    forget(e)  # read once, here: the Q&A caches must not keep every record the writer stores
    row.update(name=e.project, department=e.department, year=e.year, allowed_total=head["allowed_total"],
               n_missed=len(head["missed_indicators"]), printed=printed_of(head), head=head_json(head))
    return row
