"""Scoring structured extraction against the gold annotations (eval/gold/extraction/<stem>.json). Pure:
the caller loads gold files and runs the extractor; this module only compares.

Gold shape: {"stem", "method", "projects": [{"project", "aliases", "layout", "anchor_quote", "funds": {unit,
initial_budget, adjusted_budget, available, executed, reported_rate, exec_weight, exec_score, sources: [...]},
"indicators": [{level1, level2, level3, target, actual, weight, score, deviation_note}], "category_weights",
"reported_total", "reported_grade", "goals", "stated_problems", "stated_measures", "narrative_claims":
[{kind, value, text, unit, quote}]}], "summaries": [{title, rows: [{project, group, budget, executed, rate,
score}]}], "departments": [{reported_total, reported_grade, stated_counts: [{label, value, quote}]}]}.
Numbers are decimal strings; keys the annotator added beyond these are ignored; a key the gold omits is
not scored.

Matching:
  * projects — by name or alias: the light key (punctuation and spacing removed) first, then a looser key
    (和/and, 的, a parenthetical, a trailing number), one-to-one, only when it singles out one project;
  * indicator rows — within a matched project, by 三级指标 name (light key, then loose key, then one name
    containing the other); a row counts as correct when its name matches and target, actual, 分值 and 得分
    all agree (numbers by Decimal equality, targets by meaning: `≥302人` = `≥ 302 人`);
  * narrative claims — as a multiset by kind and value (grades by grade word, 优秀 = 优);
  * stated counts — by value, pairing labels by character overlap (`项目数` ~ `自评项目`);
  * summary rows — by project name and group; departments — by name, else by position.
Every field gets true/false positives and false negatives: a value present on one side only is a miss on
that side; a value present on both but different is both. `numeric_exact` is the share of gold numbers
found with the same Decimal at the same place.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from service.extraction.names import light_key, loose_key
from service.extraction.prose import canonical_grade
from service.extraction.targets import parse_target, targets_equivalent
from service.models import DocumentExtraction, Figure, TextField

FUNDS_FIELDS = ("initial_budget", "adjusted_budget", "available", "executed", "reported_rate", "exec_weight",
                "exec_score")
SOURCE_FIELDS = ("initial_budget", "adjusted_budget", "available", "executed", "reported_rate")
TEXT_FIELDS = ("goals", "stated_problems", "stated_measures")
INDICATOR_FIELDS = ("level1", "level2", "target", "actual", "weight", "score", "deviation_note")
_WEIGHT_SUFFIX = re.compile(r"\(\s*\d+(?:\.\d+)?\s*\)$")
_TEXT_SQUASH = re.compile(r"[\s,，.。:：;；、“”\"'()（）!！?？\-—]+")


# --- the extraction in gold shape ---------------------------------------------------------------------------

def _num(f: Figure | None) -> str | None:
    if f is None or f.value is None:
        return None
    return format(f.value, "f")


def _text(t: TextField | None) -> str | None:
    return t.text if t is not None else None


def to_gold_shape(x: DocumentExtraction) -> dict:
    """The extraction as the gold files write it (no provenance): for scoring and for comparing renderings."""
    projects = [_record_shape(p) for p in x.projects]
    summaries = [{
        "title": s.title,
        "rows": [{"project": r.project, "group": r.group, "linked_project": r.linked_project, "budget": _num(r.budget),
                  "executed": _num(r.executed), "rate": _num(r.rate), "score": _num(r.score)} for r in s.rows],
    } for s in x.summaries]
    departments = []
    for d in x.departments:
        dept = {
            "department": d.department,
            "year": d.year,
            "reported_total": _num(d.reported_total),
            "reported_grade": _text(d.reported_grade),
            "stated_counts": [{"label": c.label, "value": format(c.value, "f")} for c in d.stated_counts],
            "projects": list(d.projects),
        }
        if d.funds is not None or d.indicators:  # a department-wide form read as a form
            dept["funds"] = _funds_shape(d.funds) if d.funds is not None else None
            dept["indicators"] = [_indicator_shape(i) for i in d.indicators]
        departments.append(dept)
    return {"projects": projects, "summaries": summaries, "departments": departments}


def _funds_shape(f) -> dict:
    return {
        "unit": f.unit,
        **{k: _num(getattr(f, k)) for k in FUNDS_FIELDS},
        "sources": [{"name": s.name, **{k: _num(getattr(s, k)) for k in SOURCE_FIELDS}} for s in f.sources],
    }


def _indicator_shape(i) -> dict:
    return {
        "level1": i.level1, "level2": i.level2, "level3": i.level3,
        "target": i.target.raw if i.target else None, "actual": i.actual.raw if i.actual else None,
        "weight": None if i.weight is None else format(i.weight, "f"),
        "score": None if i.score is None else format(i.score, "f"),
        "deviation_note": i.deviation_note,
    }


def _record_shape(p) -> dict:
    return {
        "project": p.project,
        "aliases": list(p.aliases),
        "layout": p.stamp.layout,
        "department": p.department,
        "year": p.year,
        "funds": _funds_shape(p.funds),
        "indicators": [_indicator_shape(i) for i in p.indicators],
        "category_weights": {k: format(v, "f") for k, v in p.category_weights.items()},
        "reported_total": _num(p.reported_total),
        "reported_grade": _text(p.reported_grade),
        "goals": _text(p.goals),
        "goal_completion": _text(p.goal_completion),
        "stated_problems": _text(p.stated_problems),
        "stated_measures": _text(p.stated_measures),
        "narrative_claims": [{
            "kind": c.kind, "value": None if c.value is None else format(c.value, "f"), "text": c.text,
            "unit": c.unit,
        } for c in p.narrative_claims],
    }


# --- comparisons --------------------------------------------------------------------------------------------

def dec(v: Any) -> Decimal | None:
    if v is None or v == "":
        return None
    try:
        return Decimal(str(v).replace(",", "").rstrip("%"))
    except InvalidOperation:
        return None


def same_number(g: Any, p: Any) -> bool:
    a, b = dec(g), dec(p)
    return a is not None and b is not None and a == b


def same_text(g: str | None, p: str | None) -> bool:
    a, b = _TEXT_SQUASH.sub("", g or ""), _TEXT_SQUASH.sub("", p or "")
    if not a or not b:
        return False
    return a == b or SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9


def same_target(g: str | None, p: str | None) -> bool:
    if g is None or p is None:
        return False
    if _TEXT_SQUASH.sub("", g) == _TEXT_SQUASH.sub("", p):
        return True
    return targets_equivalent(parse_target(g), parse_target(p))


def same_level(g: str | None, p: str | None) -> bool:
    def key(s: str | None) -> str:
        return light_key(_WEIGHT_SUFFIX.sub("", (s or "").strip()))

    return bool(key(g)) and key(g) == key(p)


def same_grade(g: str | None, p: str | None) -> bool:
    return bool(g) and canonical_grade(g) == canonical_grade(p)


def _unit_key(u: str | None) -> str:
    return (u or "").strip()


# --- counting -----------------------------------------------------------------------------------------------

@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def prf(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(p, 4), "recall": round(r, 4),
                "f1": round(f, 4)}


@dataclass
class DocResult:
    stem: str
    fields: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    gold_projects: int = 0
    matched_projects: int = 0
    numeric_total: int = 0
    numeric_hit: int = 0
    rows: Counts = field(default_factory=Counts)  # indicator rows: name matched and values agree
    misses: list[dict] = field(default_factory=list)  # what differed, for reading the score

    def slot(self, name: str, g: Any, p: Any, equal, where: str = "", numeric: bool = False) -> bool:
        """Score one field. Returns True when both sides agree on a present value."""
        c = self.fields[name]
        g_present = g is not None and g != "" and g != [] and g != {}
        p_present = p is not None and p != "" and p != [] and p != {}
        numeric = numeric and g_present and dec(g) is not None  # a grade word in a score cell is not a number
        if numeric:
            self.numeric_total += 1
        if g_present and p_present and equal(g, p):
            c.tp += 1
            if numeric:
                self.numeric_hit += 1
            return True
        if p_present:
            c.fp += 1
        if g_present:
            c.fn += 1
        if g_present or p_present:
            self.misses.append({"field": name, "where": where, "gold": g, "pred": p})
        return False


def _names(rec: dict) -> list[str]:
    return [rec.get("project") or ""] + list(rec.get("aliases") or [])


def match_projects(gold: list[dict], pred: list[dict]) -> list[tuple[int, int]]:
    """One-to-one pairs (gold index, pred index): exact names first, then aliases, then loose keys."""
    pairs: list[tuple[int, int]] = []
    used_g: set[int] = set()
    used_p: set[int] = set()

    def run(key_g, key_p) -> None:
        for i, g in enumerate(gold):
            if i in used_g:
                continue
            kg = key_g(g)
            cands = [j for j, p in enumerate(pred) if j not in used_p and kg & key_p(p)]
            if len(cands) == 1:
                # and the pred side must not fit another unmatched gold project equally well
                others = [k for k, g2 in enumerate(gold) if k not in used_g and k != i and key_g(g2) & key_p(pred[cands[0]])]
                if not others:
                    pairs.append((i, cands[0]))
                    used_g.add(i)
                    used_p.add(cands[0])

    run(lambda g: {light_key(g.get("project") or "")}, lambda p: {light_key(p.get("project") or "")})
    run(lambda g: {light_key(n) for n in _names(g) if n}, lambda p: {light_key(n) for n in _names(p) if n})
    run(lambda g: {loose_key(g.get("project") or "")}, lambda p: {loose_key(p.get("project") or "")})
    # one project reported twice under one name: the passes above refuse the ambiguity; pair what is left
    # with the same name in document order
    pair_in_order(gold, pred, light_key, pairs, used_g, used_p)
    return pairs


def pair_in_order(gold: list[dict], pred: list[dict], key, pairs: list[tuple[int, int]], used_g: set[int],
                  used_p: set[int]) -> None:
    """Pair each unpaired gold project with the first unpaired prediction whose name has the same key."""
    for i, g in enumerate(gold):
        if i in used_g:
            continue
        k = key(g.get("project") or "")
        j = next((j for j, p in enumerate(pred) if j not in used_p and k and key(p.get("project") or "") == k), None)
        if j is not None:
            pairs.append((i, j))
            used_g.add(i)
            used_p.add(j)


def _match_rows(gold: list[dict], pred: list[dict]) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    used_g: set[int] = set()
    used_p: set[int] = set()
    keys = (
        lambda s: light_key(s or ""),
        lambda s: loose_key(s or ""),
    )
    for key in keys:
        for i, g in enumerate(gold):
            if i in used_g:
                continue
            kg = key(g.get("level3"))
            for j, p in enumerate(pred):
                if j not in used_p and kg and kg == key(p.get("level3")):
                    pairs.append((i, j))
                    used_g.add(i)
                    used_p.add(j)
                    break
    for i, g in enumerate(gold):  # a row with an empty 三级指标 cell: by its 一级/二级 headings
        if i in used_g or light_key(g.get("level3") or ""):
            continue
        for j, p in enumerate(pred):
            if j not in used_p and not light_key(p.get("level3") or "") and same_level(g.get("level1"), p.get("level1")) \
                    and (same_level(g.get("level2"), p.get("level2")) or not (g.get("level2") or p.get("level2"))):
                pairs.append((i, j))
                used_g.add(i)
                used_p.add(j)
                break
    for i, g in enumerate(gold):  # one name written inside the other (a cut or extended name)
        if i in used_g:
            continue
        kg = light_key(g.get("level3") or "")
        cands = [j for j, p in enumerate(pred) if j not in used_p and len(kg) >= 4
                 and (kg in light_key(p.get("level3") or "") or light_key(p.get("level3") or "") in kg)
                 and len(light_key(p.get("level3") or "")) >= 4]
        if len(cands) == 1:
            pairs.append((i, cands[0]))
            used_g.add(i)
            used_p.add(cands[0])
    return pairs


def _claims(res: DocResult, where: str, gold: list[dict], pred: list[dict]) -> None:
    c = res.fields["narrative_claims"]
    used: set[int] = set()
    for g in gold:
        hit = None
        for j, p in enumerate(pred):
            if j in used or p.get("kind") != g.get("kind"):
                continue
            if g.get("kind") == "grade":
                ok = same_grade(g.get("text"), p.get("text"))
            else:
                ok = same_number(g.get("value"), p.get("value")) and (
                    not g.get("unit") or not p.get("unit") or _unit_key(g.get("unit")) == _unit_key(p.get("unit")))
            if ok:
                hit = j
                break
        numeric = g.get("value") is not None
        if numeric:
            res.numeric_total += 1
        if hit is None:
            c.fn += 1
            res.misses.append({"field": "narrative_claims", "where": where, "gold": g, "pred": None})
        else:
            used.add(hit)
            c.tp += 1
            if numeric:
                res.numeric_hit += 1
    for j, p in enumerate(pred):
        if j not in used:
            c.fp += 1
            res.misses.append({"field": "narrative_claims", "where": where, "gold": None, "pred": p})


def _label_overlap(a: str, b: str) -> float:
    sa, sb = set(light_key(a)), set(light_key(b))
    if not sa or not sb:
        return 0.0
    if light_key(a) in light_key(b) or light_key(b) in light_key(a):
        return 1.0
    return len(sa & sb) / len(sa | sb)


def _counts(res: DocResult, where: str, gold: list[dict], pred: list[dict]) -> None:
    c = res.fields["department.stated_counts"]
    cand = sorted(
        ((_label_overlap(g.get("label", ""), p.get("label", "")), i, j)
         for i, g in enumerate(gold) for j, p in enumerate(pred) if same_number(g.get("value"), p.get("value"))),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    used_g: set[int] = set()
    used_p: set[int] = set()
    for sim, i, j in cand:
        if sim < 0.2 or i in used_g or j in used_p:
            continue
        used_g.add(i)
        used_p.add(j)
    res.numeric_total += len(gold)
    res.numeric_hit += len(used_g)
    c.tp += len(used_g)
    c.fn += len(gold) - len(used_g)
    c.fp += len(pred) - len(used_p)
    for i, g in enumerate(gold):
        if i not in used_g:
            res.misses.append({"field": "department.stated_counts", "where": where, "gold": g, "pred": None})
    for j, p in enumerate(pred):
        if j not in used_p:
            res.misses.append({"field": "department.stated_counts", "where": where, "gold": None, "pred": p})


def _score_project(res: DocResult, g: dict, p: dict) -> None:
    where = g.get("project") or p.get("project") or "?"
    gf, pf = g.get("funds") or {}, p.get("funds") or {}
    for k in FUNDS_FIELDS:
        if k in gf:
            res.slot(f"funds.{k}", gf.get(k), pf.get(k), same_number, where, numeric=True)
    if "sources" in gf:
        gs, ps = list(gf.get("sources") or []), list(pf.get("sources") or [])
        used: set[int] = set()
        for s in gs:
            j = next((j for j, x in enumerate(ps) if j not in used and light_key(x["name"]) == light_key(s["name"])), None)
            if j is not None:
                used.add(j)
            other = ps[j] if j is not None else {}
            res.slot("funds.sources", s.get("name"), other.get("name"), lambda a, b: True, where)
            for k in SOURCE_FIELDS:
                if k in s:
                    res.slot(f"funds.sources.{k}", s.get(k), other.get(k), same_number, f"{where} / {s['name']}",
                             numeric=True)
        for j, x in enumerate(ps):
            if j not in used:
                res.slot("funds.sources", None, x.get("name"), lambda a, b: True, where)
                for k in SOURCE_FIELDS:
                    res.slot(f"funds.sources.{k}", None, x.get(k), same_number, f"{where} / {x['name']}")
    if "category_weights" in g:
        gw, pw = g.get("category_weights") or {}, p.get("category_weights") or {}
        pkeys = {light_key(k): v for k, v in pw.items()}
        for k, v in gw.items():
            res.slot("category_weights", v, pkeys.pop(light_key(k), None), same_number, f"{where} / {k}", numeric=True)
        for k, v in pkeys.items():
            res.slot("category_weights", None, v, same_number, f"{where} / {k}")
    if "reported_total" in g:
        res.slot("reported_total", g.get("reported_total"), p.get("reported_total"), same_number, where, numeric=True)
    if "reported_grade" in g:
        res.slot("reported_grade", g.get("reported_grade"), p.get("reported_grade"), same_grade, where)
    for k in TEXT_FIELDS:
        if k in g:
            res.slot(k, g.get(k), p.get(k), same_text, where)
    if "narrative_claims" in g:
        _claims(res, where, list(g.get("narrative_claims") or []), list(p.get("narrative_claims") or []))
    if "indicators" in g:
        _score_indicators(res, where, list(g.get("indicators") or []), list(p.get("indicators") or []))


def _score_indicators(res: DocResult, where: str, gold: list[dict], pred: list[dict]) -> None:
    pairs = _match_rows(gold, pred)
    matched_g = {i for i, _ in pairs}
    matched_p = {j for _, j in pairs}
    comparators = {
        "level1": same_level, "level2": same_level, "target": same_target, "actual": same_target,
        "weight": same_number, "score": same_number, "deviation_note": same_text,
    }
    for i, j in pairs:
        g, p = gold[i], pred[j]
        w = f"{where} / {g.get('level3')}"
        res.fields["indicators.level3"].tp += 1
        agree = {}
        for k in INDICATOR_FIELDS:
            numeric = k in ("weight", "score")
            agree[k] = res.slot(f"indicators.{k}", g.get(k), p.get(k), comparators[k], w, numeric=numeric)
            if g.get(k) is None and p.get(k) is None:
                agree[k] = True
        if all(agree[k] for k in ("target", "actual", "weight", "score")):
            res.rows.tp += 1
        else:
            res.rows.fp += 1
            res.rows.fn += 1
    for i, g in enumerate(gold):
        if i in matched_g:
            continue
        w = f"{where} / {g.get('level3')}"
        res.rows.fn += 1
        res.fields["indicators.level3"].fn += 1
        res.misses.append({"field": "indicator_row", "where": where, "gold": g, "pred": None})
        for k in INDICATOR_FIELDS:
            if g.get(k) is not None:
                res.fields[f"indicators.{k}"].fn += 1
                if k in ("weight", "score"):
                    res.numeric_total += 1
    for j, p in enumerate(pred):
        if j in matched_p:
            continue
        res.rows.fp += 1
        res.fields["indicators.level3"].fp += 1
        res.misses.append({"field": "indicator_row", "where": where, "gold": None, "pred": p})
        for k in INDICATOR_FIELDS:
            if p.get(k) is not None:
                res.fields[f"indicators.{k}"].fp += 1


def _unmatched_project(res: DocResult, rec: dict, side: str) -> None:
    """Every value of a project the other side does not have is a miss on this side."""
    empty: dict = {"funds": {"sources": []}, "indicators": [], "narrative_claims": [], "category_weights": {}}
    if side == "gold":
        _score_project(res, rec, {**empty, "project": rec.get("project")})
    else:
        blank = {k: None for k in ("reported_total", "reported_grade", *TEXT_FIELDS)}
        gold_like = {**blank, **empty, "funds": {k: None for k in FUNDS_FIELDS} | {"sources": []}}
        _score_project(res, gold_like, rec)


def score_document(gold: dict, pred: dict) -> DocResult:
    """Compare one document's gold with the extraction in gold shape (to_gold_shape)."""
    res = DocResult(stem=gold.get("stem", "?"))
    gp, pp = list(gold.get("projects") or []), list(pred.get("projects") or [])
    pairs = match_projects(gp, pp)
    res.gold_projects = len(gp)
    res.matched_projects = len(pairs)
    for i, j in pairs:
        _score_project(res, gp[i], pp[j])
    for i, g in enumerate(gp):
        if i not in {a for a, _ in pairs}:
            res.misses.append({"field": "project", "where": g.get("project"), "gold": g.get("project"), "pred": None})
            _unmatched_project(res, g, "gold")
    for j, p in enumerate(pp):
        if j not in {b for _, b in pairs}:
            res.misses.append({"field": "project", "where": p.get("project"), "gold": None, "pred": p.get("project")})
            _unmatched_project(res, p, "pred")

    _score_summaries(res, list(gold.get("summaries") or []), list(pred.get("summaries") or []))
    _score_departments(res, list(gold.get("departments") or []), list(pred.get("departments") or []))
    return res


def _score_summaries(res: DocResult, gold: list[dict], pred: list[dict]) -> None:
    used_t: set[int] = set()
    for t in gold:
        j = next((j for j, x in enumerate(pred) if j not in used_t and light_key(x.get("title", "")) == light_key(t.get("title", ""))), None)
        if j is None:
            j = next((j for j in range(len(pred)) if j not in used_t), None)
        prow = list(pred[j]["rows"]) if j is not None else []
        if j is not None:
            used_t.add(j)
        used: set[int] = set()
        for r in t.get("rows") or []:
            k = next((k for k, x in enumerate(prow) if k not in used and light_key(x["project"]) == light_key(r["project"])
                      and light_key(x.get("group") or "") == light_key(r.get("group") or "")), None)
            if k is None:
                k = next((k for k, x in enumerate(prow) if k not in used and loose_key(x["project"]) == loose_key(r["project"])
                          and light_key(x.get("group") or "") == light_key(r.get("group") or "")), None)
            x = prow[k] if k is not None else {}
            if k is not None:
                used.add(k)
            where = f"{t.get('title')} / {r.get('group')} / {r['project']}"
            res.slot("summary.rows", r["project"], x.get("project"), lambda a, b: True, where)
            for f in ("budget", "executed", "rate", "score"):
                if f in r:
                    res.slot(f"summary.{f}", r.get(f), x.get(f), same_number, where, numeric=True)
        for k, x in enumerate(prow):
            if k not in used:
                res.slot("summary.rows", None, x["project"], lambda a, b: True, f"{t.get('title')} / {x['project']}")
    for j, x in enumerate(pred):
        if j not in used_t:
            for r in x["rows"]:
                res.slot("summary.rows", None, r["project"], lambda a, b: True, f"{x.get('title')} / {r['project']}")


def _score_departments(res: DocResult, gold: list[dict], pred: list[dict]) -> None:
    pairs: list[tuple[int, int]] = []
    used: set[int] = set()
    for i, g in enumerate(gold):
        name = light_key(g.get("department") or "")
        j = next((j for j, p in enumerate(pred) if j not in used and name and (
            name in light_key(p.get("department") or "") or light_key(p.get("department") or "x") in name)), None)
        if j is not None:
            pairs.append((i, j))
            used.add(j)
    if not pairs and len(gold) == 1 and len(pred) == 1:
        pairs = [(0, 0)]
        used = {0}
    matched = {i for i, _ in pairs}
    for i, j in pairs:
        g, p = gold[i], pred[j]
        where = g.get("department") or p.get("department") or "department"
        res.slot("department.reported_total", g.get("reported_total"), p.get("reported_total"), same_number, where,
                 numeric=True)
        res.slot("department.reported_grade", g.get("reported_grade"), p.get("reported_grade"), same_grade, where)
        _counts(res, where, list(g.get("stated_counts") or []), list(p.get("stated_counts") or []))
    for i, g in enumerate(gold):
        if i not in matched:
            where = g.get("department") or "department"
            res.slot("department.reported_total", g.get("reported_total"), None, same_number, where, numeric=True)
            res.slot("department.reported_grade", g.get("reported_grade"), None, same_grade, where)
            _counts(res, where, list(g.get("stated_counts") or []), [])
    for j, p in enumerate(pred):
        if j not in used:
            where = p.get("department") or "department"
            res.slot("department.reported_total", None, p.get("reported_total"), same_number, where)
            res.slot("department.reported_grade", None, p.get("reported_grade"), same_grade, where)
            _counts(res, where, [], list(p.get("stated_counts") or []))


# --- the report ---------------------------------------------------------------------------------------------

def _doc_summary(res: DocResult) -> dict:
    total = Counts()
    for c in res.fields.values():
        total.add(c)
    return {
        "unit_recall": round(res.matched_projects / res.gold_projects, 4) if res.gold_projects else 1.0,
        "projects": {"gold": res.gold_projects, "matched": res.matched_projects},
        "indicator": res.rows.prf(),
        "indicator_f1": res.rows.prf()["f1"],
        "numeric_exact": round(res.numeric_hit / res.numeric_total, 4) if res.numeric_total else 1.0,
        "numeric": {"gold": res.numeric_total, "exact": res.numeric_hit},
        "fields_micro": total.prf(),
    }


def summarize(results: list[DocResult], *, max_misses: int = 40) -> dict:
    fields: dict[str, Counts] = defaultdict(Counts)
    rows = Counts()
    gold_p = matched_p = num_t = num_h = 0
    for r in results:
        for k, c in r.fields.items():
            fields[k].add(c)
        rows.add(r.rows)
        gold_p += r.gold_projects
        matched_p += r.matched_projects
        num_t += r.numeric_total
        num_h += r.numeric_hit
    total = Counts()
    for c in fields.values():
        total.add(c)
    return {
        "unit_recall": round(matched_p / gold_p, 4) if gold_p else 1.0,
        "indicator_f1": rows.prf()["f1"],
        "indicator_precision": rows.prf()["precision"],
        "indicator_recall": rows.prf()["recall"],
        "numeric_exact": round(num_h / num_t, 4) if num_t else 1.0,
        "numeric": {"gold": num_t, "exact": num_h},
        "fields_micro": total.prf(),
        "fields": {k: fields[k].prf() for k in sorted(fields)},
        "documents": {r.stem: {**_doc_summary(r), "misses": r.misses[:max_misses],
                               "misses_total": len(r.misses)} for r in results},
    }


def format_table(report: dict) -> str:
    """Plain-text table: the headline figures, per-field P/R/F1, per-document figures."""
    out = []
    head = report.get("run", {})
    if head:
        out.append("  ".join(f"{k}={v}" for k, v in head.items()))
    out.append(f"unit_recall={report['unit_recall']:.4f}  indicator_f1={report['indicator_f1']:.4f} "
               f"(P={report['indicator_precision']:.4f} R={report['indicator_recall']:.4f})  "
               f"numeric_exact={report['numeric_exact']:.4f} ({report['numeric']['exact']}/{report['numeric']['gold']})  "
               f"fields_micro_f1={report['fields_micro']['f1']:.4f}")
    out.append("")
    out.append(f"{'field':34} {'tp':>5} {'fp':>4} {'fn':>4} {'P':>7} {'R':>7} {'F1':>7}")
    for k, c in report["fields"].items():
        out.append(f"{k:34} {c['tp']:5d} {c['fp']:4d} {c['fn']:4d} {c['precision']:7.4f} {c['recall']:7.4f} {c['f1']:7.4f}")
    out.append("")
    out.append(f"{'document':34} {'units':>7} {'ind_f1':>7} {'numeric':>8} {'fields':>7}")
    for stem, d in report["documents"].items():
        out.append(f"{stem:34} {d['projects']['matched']:3d}/{d['projects']['gold']:<3d} {d['indicator_f1']:7.4f} "
                   f"{d['numeric_exact']:8.4f} {d['fields_micro']['f1']:7.4f}")
    return "\n".join(out)


def format_md(report: dict) -> str:
    lines = []
    head = report.get("run", {})
    if head:
        lines.append(" · ".join(f"**{k}** `{v}`" for k, v in head.items()))
        lines.append("")
    lines.append("| unit recall | indicator F1 | numeric exact | fields micro F1 |")
    lines.append("| --- | --- | --- | --- |")
    lines.append(f"| {report['unit_recall']:.4f} | {report['indicator_f1']:.4f} | {report['numeric_exact']:.4f} | "
                 f"{report['fields_micro']['f1']:.4f} |")
    lines.append("")
    lines.append("| field | tp | fp | fn | P | R | F1 |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for k, c in report["fields"].items():
        lines.append(f"| {k} | {c['tp']} | {c['fp']} | {c['fn']} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} |")
    lines.append("")
    lines.append("| document | units | indicator F1 | numeric exact | fields F1 |")
    lines.append("| --- | --- | ---: | ---: | ---: |")
    for stem, d in report["documents"].items():
        lines.append(f"| {stem} | {d['projects']['matched']}/{d['projects']['gold']} | {d['indicator_f1']:.4f} | "
                     f"{d['numeric_exact']:.4f} | {d['fields_micro']['f1']:.4f} |")
    return "\n".join(lines)
