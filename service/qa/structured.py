"""Exact answers over extracted records (pure). Every row carries the SourceRefs that support it, and the
answer text says only what the rows say."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from service.checks.indicators import assess
from service.checks.numbers import grade_of, normalize_grade
from service.checks.scheme import effective_rate
from service.checks.score import INFLATION_RULES, allowed_total
from service.models import Finding, Indicator, ProjectEvaluation, SourceRef
from service.qa.intents import Intent



@dataclass
class ProjectRecord:
    """One stored project with what Q&A needs: its record, its findings and where it lives."""

    project_id: int | None
    doc_id: str
    filename: str | None
    evaluation: ProjectEvaluation
    findings: list[Finding] = field(default_factory=list)

    @functools.cached_property
    def dedupe_key(self) -> tuple:
        """What makes two records one project (dedupe): kept once, since every question dedupes every record."""
        e = self.evaluation
        kept = getattr(e, "dedupe_key", None)  # a lazily stored record keeps it with its names
        if kept is not None:
            return tuple(kept)
        return (e.project, e.year, e.reported_total.raw if e.reported_total else None,
                e.funds.adjusted_budget.raw if e.funds.adjusted_budget else None, indicator_count(e))


@dataclass
class StructuredAnswer:
    answer: str
    rows: list[dict]
    refs: list[tuple[SourceRef, str | None]]  # (ref, filename)
    route: str
    total: int | None = None  # a list answer: how many items in all (the answer shows one page of them)
    page: int | None = None
    page_size: int | None = None


DEFAULT_PAGE_SIZE = 20


@dataclass
class ListItem:
    """One line of a list answer with the rows and citations that belong to it, so a page carries only the
    citations of the items it shows."""

    text: str | Callable[[], str]
    # the text, rows and citations, or functions making them: a long list builds those of the page it shows only
    rows: list[dict] | Callable[[], list[dict]]
    refs: list[tuple[SourceRef, str | None]] | Callable[[], list[tuple[SourceRef, str | None]]]


def page_bounds(total: int, page: int, page_size: int | None) -> tuple[int, int, int]:
    """(start, end, pages) of page `page` (1-based; clamped into range); page_size None or < 1 = everything."""
    if not page_size or page_size < 1 or total == 0:
        return 0, total, 1
    pages = -(-total // page_size)
    page = min(max(1, page), pages)
    return (page - 1) * page_size, min(total, page * page_size), pages


def paged(head: str, items: list[ListItem], route: str, zh: bool, page: int = 1,
          page_size: int | None = DEFAULT_PAGE_SIZE) -> StructuredAnswer:
    """A list answer: the head, then one item per line (a list of hundreds must stay readable, not one
    paragraph), then when not everything is shown "共 M 项" and how to get the rest."""
    start, end, pages = page_bounds(len(items), page, page_size)
    shown = items[start:end]
    lines = [head.rstrip("：: ")] + [f"{k}. {it.text() if callable(it.text) else it.text}"
                                     for k, it in enumerate(shown, start + 1)]
    number = start // page_size + 1 if page_size and page_size > 0 and items else 1
    if end - start < len(items):
        nxt = number + 1 if number < pages else 1
        lines.append(f"（共 {len(items)} 项，本页第 {start + 1}–{end} 项，第 {number}/{pages} 页；其余各项：命令行 "
                     f"--page {nxt} 或 --all，接口 page={nxt}。）" if zh else
                     f"({len(items)} items in all; showing {start + 1}–{end}, page {number} of {pages}; for the rest "
                     f"use --page {nxt} or --all on the command line, page={nxt} in the API.)")
    rows: list[dict] = []
    refs: list[tuple[SourceRef, str | None]] = []
    for it in shown:
        rows.extend(it.rows() if callable(it.rows) else it.rows)
        refs.extend(x for x in (it.refs() if callable(it.refs) else it.refs) if x not in refs)
    return StructuredAnswer("\n".join(lines), rows, refs, route, total=len(items), page=number,
                            page_size=page_size if page_size and page_size > 0 else None)


def _d(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "—"
    q = value.quantize(Decimal(1).scaleb(-places))
    s = format(q, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def dedupe(records: list[ProjectRecord]) -> list[ProjectRecord]:
    """The same report ingested as txt, PDF and DOCX gives the same project three times; keep the first."""
    seen: set[tuple] = set()
    out = []
    for r in records:
        key = r.dedupe_key
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def indicator_count(e) -> int:
    """How many indicators a record has, without reading a lazily stored record's indicators
    (service.qa.digest keeps the count in its head)."""
    n = getattr(e, "n_indicators", None)
    return n if isinstance(n, int) else len(e.indicators)


def printed_in_yuan(e: ProjectEvaluation) -> bool:
    return (e.funds.unit or "万元") == "元"


def in_wan(e: ProjectEvaluation, value: Decimal | None) -> Decimal | None:
    """An amount of `e`'s funds in 万元 whatever unit its form printed (a form in 元 is read ÷ 10,000), so that
    amounts of different forms compare, rank and add up."""
    return value / 10000 if value is not None and printed_in_yuan(e) else value


def _per_evaluation(cache: dict, e: ProjectEvaluation, compute: Callable):
    """compute(e), kept per evaluation object (the Q&A keeps its parsed records per store state and never
    changes them). The evaluation is kept with its entry, so its id is not reused meanwhile."""
    hit = cache.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    value = compute(e)
    if len(cache) > 100_000:
        cache.clear()
    cache[id(e)] = (e, value)
    return value


_RATES: dict[int, tuple[ProjectEvaluation, Decimal | None]] = {}


def forget(e: ProjectEvaluation) -> None:
    """Drop e from the per-evaluation caches: for a record read once (the ingest's writer computing its facts),
    whose cache entries would only keep it alive (10,000 full records, ~0.9 GB, in the writer)."""
    for cache in (_RATES, _MISSED):
        hit = cache.get(id(e))
        if hit is not None and hit[0] is e:
            del cache[id(e)]


def execution_rate(e: ProjectEvaluation) -> Decimal | None:
    """effective_rate, kept per evaluation: a filter, a row and a condition each asked it of every project,
    50,000 times a question at 10,000 documents."""
    return _per_evaluation(_RATES, e, effective_rate)


def recomputed_score(r: ProjectRecord) -> Decimal | None:
    pre = getattr(r.evaluation, "allowed_total", _NONE)  # computed when the record's head was saved
    return allowed_total(r.evaluation, r.findings) if pre is _NONE else pre


_NONE = object()


def _indicator_label(ind: Indicator) -> str:
    return ind.level3


_MISSED: dict[int, tuple[ProjectEvaluation, list[Indicator]]] = {}


def missed_indicators(e: ProjectEvaluation) -> list[Indicator]:
    return [ind for ind in e.indicators if (a := assess(ind)) is not None and a.status == "missed"]


def _missed(e: ProjectEvaluation) -> list[Indicator]:
    """The indicators of one project judged missed, kept per evaluation: assessing 90,000 indicators was 0.5 s of
    every shortfall question at 10,000 documents. A lazily stored record's head has them already."""
    def compute(ev: ProjectEvaluation) -> list[Indicator]:
        missed = getattr(ev, "missed_indicators", None)
        return missed if isinstance(missed, list) else missed_indicators(ev)
    return _per_evaluation(_MISSED, e, compute)


def missed_names(e: ProjectEvaluation) -> list[str]:
    """The names of the indicators a project missed (a lazily stored record's head has them)."""
    names = getattr(e, "missed_names", None)
    return names if isinstance(names, list) else [i.level3 for i in _missed(e)]


def _row(r: ProjectRecord, **extra) -> dict:
    e = r.evaluation
    rate = execution_rate(e)
    row = {
        "project": e.project, "doc_id": r.doc_id, "filename": r.filename, "project_id": r.project_id,
        "year": e.year,
        "adjusted_budget": _d(e.funds.adjusted_budget.value) if e.funds.adjusted_budget and e.funds.adjusted_budget.value is not None else None,
        "executed": _d(e.funds.executed.value) if e.funds.executed and e.funds.executed.value is not None else None,
        "amount_unit": e.funds.unit,
        "execution_rate": _d(rate) if rate is not None else None,
        "reported_total": e.reported_total.raw if e.reported_total else None,
        "reported_grade": e.reported_grade.text if e.reported_grade else None,
    }
    row.update(extra)
    return row


def _rows_of(r: ProjectRecord) -> list[dict]:
    return [_row(r)]


def _shortfall_rows(r: ProjectRecord, inds: list[Indicator]) -> list[dict]:
    return [_row(r, indicator=i.level3, target=i.target.raw if i.target else None,
                 actual=i.actual.raw if i.actual else None, weight=_d(i.weight) if i.weight is not None else None,
                 score=_d(i.score) if i.score is not None else None) for i in inds]


def _shortfall_text(rs: list[ProjectRecord], zh: bool) -> str:
    """One project's missed indicators (its records in one document), as a shortfall list shows them."""
    inds = "、".join(f"{i.level3}（目标{i.target.raw if i.target else '—'}，实际{i.actual.raw if i.actual else '—'}）"
                    if zh else f"{i.level3} (target {i.target.raw if i.target else '—'}, actual {i.actual.raw if i.actual else '—'})"
                    for r in rs for i in _missed(r.evaluation))
    return f"{rs[0].evaluation.project}：{inds}" if zh else f"{rs[0].evaluation.project}: {inds}"


def _shortfall_group_rows(rs: list[ProjectRecord]) -> list[dict]:
    return _shortfall_rows(rs[0], [i for r in rs for i in _missed(r.evaluation)])


def _shortfall_refs(rs: list[ProjectRecord]) -> list[tuple[SourceRef, str | None]]:
    return _refs(rs[0], [i.ref for r in rs for i in _missed(r.evaluation)])


def _funds_refs(e: ProjectEvaluation) -> list[SourceRef]:
    f = e.funds
    return [x.ref for x in (f.adjusted_budget, f.executed, f.reported_rate) if x is not None and x.ref is not None][:2]


def _total_refs(e: ProjectEvaluation) -> list[SourceRef]:
    return [x.ref for x in (e.reported_total,) if x is not None and x.ref is not None] + \
        [x.ref for x in (e.reported_grade,) if x is not None and x.ref is not None][:1]


def _rate_text(e: ProjectEvaluation, rate: Decimal, zh: bool) -> str:
    """"名称（52.73%，执行数263.65万元÷全年预算数500万元）": the two amounts are what the cited lines carry, so
    the citations of a rate survive the check that a quote carries a figure the answer states."""
    b, x, u = e.funds.adjusted_budget, e.funds.executed, e.funds.unit or ""
    if b is None or x is None or b.raw is None or x.raw is None:
        return f"{e.project}（{_d(rate)}%）" if zh else f"{e.project} ({_d(rate)}%)"
    return (f"{e.project}（{_d(rate)}%，执行数{x.raw}{u}÷全年预算数{b.raw}{u}）" if zh else
            f"{e.project} ({_d(rate)}%, executed {x.raw} ÷ budget {b.raw} {u})")


def _join(items: list[str], lang: str) -> str:
    return ("；" if lang == "zh" else "; ").join(items)


def _refs(r: ProjectRecord, items: list[SourceRef | None]) -> list[tuple[SourceRef, str | None]]:
    return [(ref, r.filename) for ref in items if ref is not None]


def _refs_of(r: ProjectRecord, which: Callable[[ProjectEvaluation], list[SourceRef]]) -> list[tuple[SourceRef, str | None]]:
    """A list item's citations, made when its page is shown: a ref is read from the project's full head
    (service.qa.digest), which a list of thousands should not read for every item."""
    return _refs(r, which(r.evaluation))


def _first_total_ref(e: ProjectEvaluation) -> list[SourceRef]:
    return _total_refs(e)[:1]


def answer_structured(intent: Intent, records: list[ProjectRecord], page: int = 1,
                      page_size: int | None = DEFAULT_PAGE_SIZE) -> StructuredAnswer | None:
    """page/page_size cut list answers (low execution, grades, shortfalls, score inflation, findings, all
    projects) to one page; None = everything."""
    records = dedupe(records)
    zh = intent.lang == "zh"
    refs: list[tuple[SourceRef, str | None]] = []
    rows: list[dict] = []

    cited: set = set()  # SourceRef is frozen: a set, not list membership (pydantic __eq__, quadratic)

    def cite(r: ProjectRecord, items: list[SourceRef]) -> None:
        for ref in items:
            if ref is not None and (ref, r.filename) not in cited:
                cited.add((ref, r.filename))
                refs.append((ref, r.filename))

    if intent.kind == "shortfall":
        # which projects missed an indicator, by the names their heads keep; the indicators themselves
        # (targets, actual values, refs) are read for the page shown
        missing = [r for r in records if missed_names(r.evaluation)
                   and (not intent.projects or r.evaluation.project in intent.projects)]
        by_project: dict[str, list[ProjectRecord]] = {}
        for r in missing:
            by_project.setdefault(f"{r.doc_id}|{r.evaluation.project}", []).append(r)
        hits = bool(missing)
        if not hits and intent.projects:
            # no figure below its target, but the form itself took points off (提高 → 90%, 22.5 of 25 with a
            # deviation reason): that is the report's own "not fully met", said as such
            short = [(r, i) for r in records if r.evaluation.project in intent.projects
                     for i in r.evaluation.indicators
                     if i.weight is not None and i.score is not None and i.score < i.weight]
            if short:
                listed = [ListItem(
                    (f"{r.evaluation.project}：{i.level3}（目标{i.target.raw if i.target else '—'}，实际"
                     f"{i.actual.raw if i.actual else '—'}，得分{_d(i.score)}/{_d(i.weight)}"
                     f"{'，偏差原因：' + i.deviation_note if i.deviation_note else ''}）") if zh else
                    (f"{r.evaluation.project}: {i.level3} (target {i.target.raw if i.target else '—'}, actual "
                     f"{i.actual.raw if i.actual else '—'}, scored {_d(i.score)} of {_d(i.weight)}"
                     f"{'; reason: ' + i.deviation_note if i.deviation_note else ''})"),
                    [_row(r, indicator=i.level3, target=i.target.raw if i.target else None,
                          actual=i.actual.raw if i.actual else None, weight=_d(i.weight), score=_d(i.score))],
                    _refs(r, [i.ref])) for r, i in short]
                head = ("没有实际完成值低于指标值的量化指标；以下指标未得满分（报告扣分）：" if zh else
                        "No indicator's actual value is below its target; these lost points on the form: ")
                return paged(head, listed, "structured:shortfall", zh, page, page_size)
        if not hits:
            return StructuredAnswer(
                "在已入库的报告中，没有发现实际完成值低于目标值的绩效指标。" if zh else
                "No indicator in the ingested reports has an actual value that misses its target.", [], [],
                "structured:shortfall")
        listed = [ListItem(functools.partial(_shortfall_text, rs, zh), functools.partial(_shortfall_group_rows, rs),
                           functools.partial(_shortfall_refs, rs)) for rs in by_project.values()]
        head = (f"共有{len(by_project)}个项目存在未完成目标的绩效指标（实际完成值未达到指标值）：" if zh else
                f"{len(by_project)} projects have indicators whose actual value misses the target: ")
        return paged(head, listed, "structured:shortfall", zh, page, page_size)

    if intent.kind == "low_execution":
        th = intent.threshold or Decimal(90)
        hits = [(r, execution_rate(r.evaluation)) for r in records]
        hits = [(r, rate) for r, rate in hits if rate is not None and rate < th]
        hits.sort(key=lambda x: x[1])
        if not hits:
            return StructuredAnswer(f"没有预算执行率低于{_d(th)}%的项目。" if zh else
                                    f"No project executed less than {_d(th)}% of its budget.", [], [], "structured:low_execution")
        listed = [ListItem(_rate_text(r.evaluation, rate, zh), functools.partial(_rows_of, r),
                           functools.partial(_refs_of, r, _funds_refs)) for r, rate in hits]
        head = (f"预算执行率低于{_d(th)}%的项目共{len(hits)}个（执行数÷全年预算数）：" if zh else
                f"{len(hits)} projects executed less than {_d(th)}% of their budget (executed ÷ adjusted budget): ")
        return paged(head, listed, "structured:low_execution", zh, page, page_size)

    if intent.kind == "score_inflation":
        hits = []
        for r in records:
            rec = recomputed_score(r)
            rep = r.evaluation.reported_total.value if r.evaluation.reported_total else None
            if rec is not None and rep is not None and rep - rec >= Decimal("0.01"):
                hits.append((r, rep, rec))
        if not hits:
            return StructuredAnswer("没有发现自评得分高于复核得分的项目。" if zh else
                                    "No project scored itself higher than the recomputed score.", [], [], "structured:score_inflation")
        listed = []
        for r, rep, rec in hits:
            infl = [f for f in r.findings if f.rule_id in INFLATION_RULES and f.severity != "info"]
            listed.append(ListItem(
                f"{r.evaluation.project}（自评{_d(rep)}分，复核{_d(rec)}分）" if zh else
                f"{r.evaluation.project} (self-score {_d(rep)}, recomputed {_d(rec)})",
                [_row(r, recomputed_total=_d(rec), rules=sorted({f.rule_id for f in infl}))],
                _refs(r, _total_refs(r.evaluation) + [ref for f in infl for ref in f.refs][:3])))
        head = (f"自评得分高于复核得分的项目共{len(hits)}个：" if zh else
                f"{len(hits)} projects scored themselves higher than the recomputed score: ")
        return paged(head, listed, "structured:score_inflation", zh, page, page_size)

    if intent.kind == "grade":
        hits = [r for r in records if r.evaluation.reported_grade and
                normalize_grade(r.evaluation.reported_grade.text) in intent.grades]
        if intent.threshold is not None:  # "总分90分却被评为良": the stated total narrows the set
            hits = [r for r in hits if r.evaluation.reported_total and r.evaluation.reported_total.value == intent.threshold]
        g = "、".join(intent.grades)
        if not hits:
            return StructuredAnswer(f"没有自评等级为{g}的项目。" if zh else f"No project is graded {g}.", [], [], "structured:grade")
        listed = [ListItem(f"{r.evaluation.project}（{r.evaluation.reported_total.raw if r.evaluation.reported_total else '—'}分）"
                           if zh else f"{r.evaluation.project} ({r.evaluation.reported_total.raw if r.evaluation.reported_total else '—'})",
                           functools.partial(_rows_of, r), functools.partial(_refs_of, r, _total_refs)) for r in hits]
        head = f"自评等级为{g}的项目共{len(hits)}个：" if zh else f"{len(hits)} projects are graded {g}: "
        return paged(head, listed, "structured:grade", zh, page, page_size)

    if intent.kind == "ranking":
        def metric(r: ProjectRecord) -> Decimal | None:
            e = r.evaluation
            if intent.metric == "rate":
                return execution_rate(e)
            if intent.metric == "total":
                return e.reported_total.value if e.reported_total else None
            fig = amount(r)
            return in_wan(e, fig.value) if fig is not None else None

        def amount(r: ProjectRecord):
            return r.evaluation.funds.adjusted_budget if intent.metric == "budget" else r.evaluation.funds.executed

        scored = [(r, metric(r)) for r in records]
        scored = [(r, v) for r, v in scored if v is not None]
        scored.sort(key=lambda x: x[1], reverse=intent.order == "desc")
        top = scored[: intent.limit or 5]
        names = {"rate": ("预算执行率", "execution rate", "%"), "total": ("自评得分", "self-score", "分"),
                 "budget": ("全年预算数", "budget", ""), "executed": ("执行数", "executed", "")}[intent.metric]
        for r, v in top:
            rows.append(_row(r, value=_d(v)))
            cite(r, _funds_refs(r.evaluation) if intent.metric in ("rate", "budget", "executed") else _total_refs(r.evaluation))
        if not top:
            return None
        word = ("最低" if intent.order == "asc" else "最高") if zh else ("lowest" if intent.order == "asc" else "highest")
        def shown(r: ProjectRecord, v: Decimal) -> str:
            if intent.metric in ("budget", "executed"):
                # the 万元 reading, and what a form in 元 printed beside it (the cited cell carries that)
                yuan = printed_in_yuan(r.evaluation)
                return f"{_d(v)}万元" + (f"（{amount(r).raw}元）" if yuan else "") if zh else \
                    f"{_d(v)} 万元" + (f" ({amount(r).raw} 元)" if yuan else "")
            return f"{_d(v)}{names[2]}" if zh else f"{_d(v)}{names[2] if names[2] == '%' else ''}"

        parts = [f"{k}. {r.evaluation.project}（{shown(r, v)}）" if zh else f"{k}. {r.evaluation.project} ({shown(r, v)})"
                 for k, (r, v) in enumerate(top, 1)]
        head = f"{names[0]}{word}的{len(top)}个项目：" if zh else f"The {len(top)} projects with the {word} {names[1]}: "
        return StructuredAnswer(head + _join(parts, intent.lang) + ("。" if zh else "."), rows, refs, "structured:ranking")

    if intent.kind == "project_field":
        hits = [r for r in records if r.evaluation.project in intent.projects]
        if not hits:
            return None
        parts = []
        for r in hits:
            e = r.evaluation
            rate = execution_rate(e)
            u = e.funds.unit or ""
            fld = intent.field
            if fld == "findings":
                fs = [f for f in r.findings if f.severity in ("error", "warning")] or r.findings
                for f in fs:
                    rows.append(_row(r, rule_id=f.rule_id, severity=f.severity, message=f.message_zh if zh else f.message_en))
                    cite(r, f.refs[:2])
                if fs:
                    parts.append((f"{e.project}共有{len(fs)}条审核发现：" if zh else f"{e.project} has {len(fs)} findings: ") +
                                 _join([f"[{f.rule_id}] " + (f.message_zh if zh else f.message_en).rstrip("。.") for f in fs],
                                       intent.lang) + ("。" if zh else "."))
                else:
                    parts.append(f"{e.project}未发现算术或一致性问题。" if zh else f"No findings for {e.project}.")
                if e.stated_problems and e.stated_problems.text:
                    parts.append((f"报告自述存在的问题：{e.stated_problems.text}" if zh else
                                  f"Problems the report states: {e.stated_problems.text}"))
                    cite(r, [e.stated_problems.ref])
                continue
            if fld == "goals":
                if not (e.goals and e.goals.text):
                    continue
                rows.append(_row(r, goals=e.goals.text))
                said = (f"{e.project}的年度绩效目标：{e.goals.text.rstrip('。')}。" if zh else
                        f"Goals of {e.project} (in Chinese): {e.goals.text}")
                cite(r, [e.goals.ref])
                if e.goal_completion and e.goal_completion.text:
                    said += (f"报告所述完成情况：{e.goal_completion.text.rstrip('。')}。" if zh else
                             f" Completion as reported: {e.goal_completion.text}")
                    cite(r, [e.goal_completion.ref])
                parts.append(said)
                continue
            rows.append(_row(r))
            bits_zh, bits_en = [], []
            if fld in ("budget", "summary") and e.funds.adjusted_budget:
                bits_zh.append(f"全年预算数{e.funds.adjusted_budget.raw}{u}")
                bits_en.append(f"budget {e.funds.adjusted_budget.raw} {u}")
                cite(r, [e.funds.adjusted_budget.ref])
            if fld in ("executed", "summary", "rate") and e.funds.executed:
                bits_zh.append(f"执行数{e.funds.executed.raw}{u}")
                bits_en.append(f"executed {e.funds.executed.raw} {u}")
                cite(r, [e.funds.executed.ref])
            if fld in ("rate", "summary") and rate is not None:
                rep = e.funds.reported_rate.raw if e.funds.reported_rate else None
                bits_zh.append(f"预算执行率{_d(rate)}%" + (f"（报告填报{rep}）" if rep else ""))
                bits_en.append(f"execution rate {_d(rate)}%" + (f" (reported {rep})" if rep else ""))
                if e.funds.reported_rate:
                    cite(r, [e.funds.reported_rate.ref])
            if fld in ("total", "summary", "grade") and e.reported_total:
                bits_zh.append(f"自评得分{e.reported_total.raw}分")
                bits_en.append(f"self-score {e.reported_total.raw}")
                cite(r, [e.reported_total.ref])
            if fld in ("grade", "summary", "total") and e.reported_grade:
                g = e.reported_grade.text
                bits_zh.append(f"自评等级{g}")
                bits_en.append(f"grade {g}")
                if e.reported_total and e.reported_total.value is not None and normalize_grade(g) != grade_of(e.reported_total.value):
                    bits_zh.append(f"（按总分应为{grade_of(e.reported_total.value)}）")
                    bits_en.append(f"(the total implies {grade_of(e.reported_total.value)})")
                cite(r, [e.reported_grade.ref])
            if not bits_zh:
                continue
            parts.append(f"{e.project}：" + "，".join(bits_zh) + "。" if zh else f"{e.project}: " + ", ".join(bits_en) + ".")
        if not parts:
            return None
        return StructuredAnswer(("" if zh else " ").join(parts), rows, refs, f"structured:project_{intent.field}")

    if intent.kind == "findings":
        fs = [(r, f) for r in records for f in r.findings
              if (not intent.rule_id or f.rule_id == intent.rule_id) and (not intent.projects or r.evaluation.project in intent.projects)]
        if not fs:
            return StructuredAnswer(f"没有{intent.rule_id or ''}相关的审核发现。" if zh else f"No findings for {intent.rule_id or 'that'}.",
                                    [], [], "structured:findings")
        per_project: dict[str, ListItem] = {}
        for r, f in sorted(fs, key=lambda x: x[0].evaluation.project):
            it = per_project.setdefault(r.evaluation.project, ListItem(r.evaluation.project, [], []))
            it.rows.append(_row(r, rule_id=f.rule_id, severity=f.severity, message=f.message_zh if zh else f.message_en))
            it.refs.extend(x for x in _refs(r, f.refs[:2]) if x not in it.refs)
        head = ((f"规则{intent.rule_id}" if intent.rule_id else "审核") + f"共有{len(fs)}条发现，涉及{len(per_project)}个项目："
                if zh else (f"Rule {intent.rule_id}: " if intent.rule_id else "Review: ")
                + f"{len(fs)} findings in {len(per_project)} projects: ")
        return paged(head, list(per_project.values()), "structured:findings", zh, page, page_size)

    if intent.kind == "list_projects":
        listed = [ListItem(r.evaluation.project, functools.partial(_rows_of, r), functools.partial(_refs_of, r, _first_total_ref))
                  for r in records]
        head = f"已入库的报告共包含{len(records)}个项目：" if zh else f"The ingested reports contain {len(records)} projects: "
        return paged(head, listed, "structured:list_projects", zh, page, page_size)
    return None
