"""Scoring the check engine against the gold findings (eval/gold/findings/<stem>.json). Pure: the caller
loads the gold files and produces the findings.

Gold: {"stem", "method", "units": [{"project", "expected": [{"rule_id", "severity", "why"}], "consistent"}]}.

A prediction and a gold entry are the same when they name the same unit and the same rule. Units are matched
by project name — exactly after light normalization, or by a looser key (和/and, 的, punctuation) only when it
identifies exactly one gold unit. Only severities warning and error count for precision and recall (info
findings are differences within rounding or notes). Separately: error-level findings on units the gold marks
consistent, and severity disagreements on matched pairs.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from service.checks.text import match_names
from service.models import Finding

COUNTED = ("error", "warning")


@dataclass
class DocScore:
    stem: str
    tp: list[tuple[str, str]] = field(default_factory=list)  # (project, rule)
    fp: list[tuple[str, str, str]] = field(default_factory=list)  # (project, rule, message)
    fn: list[tuple[str, str, str]] = field(default_factory=list)  # (project, rule, why)
    errors_on_consistent: list[tuple[str, str, str]] = field(default_factory=list)
    severity_disagreements: list[tuple[str, str, str, str]] = field(default_factory=list)  # project, rule, gold, ours
    unmatched_projects: list[str] = field(default_factory=list)


def gold_units(gold: dict) -> list[dict]:
    """Project units, then department sections (the extra key "departments", named by "department")."""
    units = [dict(u) for u in gold.get("units", [])]
    for d in gold.get("departments", []) or []:
        units.append({"project": d.get("department") or d.get("project") or "?", "expected": d.get("expected", []),
                      "consistent": d.get("consistent", False), "level": "department"})
    return units


def _gold_pairs(gold: dict) -> dict[tuple[int, str], dict]:
    pairs: dict[tuple[int, str], dict] = {}
    for k, unit in enumerate(gold_units(gold)):
        for e in unit.get("expected", []):
            if e.get("severity") in COUNTED:
                pairs.setdefault((k, e["rule_id"]), e)
    return pairs


def score_document(gold: dict, findings: list[Finding]) -> DocScore:
    units = gold_units(gold)
    names = [u["project"] for u in units]
    gold_pairs = _gold_pairs(gold)
    all_gold = {(k, e["rule_id"]): e for k, u in enumerate(units) for e in u.get("expected", [])}
    ds = DocScore(stem=gold.get("stem", "?"))
    predicted: dict[tuple[int | str, str], Finding] = {}
    for f in findings:
        if f.severity not in COUNTED:
            continue
        idx, how = match_names(f.project or "", names)
        key: int | str
        if how in ("exact", "loose") and len(idx) == 1:
            key = idx[0]
        elif how in ("exact", "loose") and idx and len({names[i] for i in idx}) == 1:
            key = idx[0]  # one project reported twice (R-PROJECT-DUP): the gold files it under the first
        else:
            key = f.project or f.unit_id
            if key not in ds.unmatched_projects:
                ds.unmatched_projects.append(str(key))
        cur = predicted.get((key, f.rule_id))
        if cur is None or (cur.severity == "warning" and f.severity == "error"):
            predicted[(key, f.rule_id)] = f
    for (key, rule), f in sorted(predicted.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        proj = names[key] if isinstance(key, int) else str(key)
        if (key, rule) in gold_pairs:
            ds.tp.append((proj, rule))
            g = gold_pairs[(key, rule)]
            if g.get("severity") != f.severity:
                ds.severity_disagreements.append((proj, rule, g.get("severity"), f.severity))
        else:
            ds.fp.append((proj, rule, f.message_zh))
            g = all_gold.get((key, rule)) if isinstance(key, int) else None
            if g is not None:  # gold has it at info level
                ds.severity_disagreements.append((proj, rule, g.get("severity"), f.severity))
        if isinstance(key, int) and units[key].get("consistent") and f.severity == "error":
            ds.errors_on_consistent.append((proj, rule, f.message_zh))
    for (k, rule), e in sorted(gold_pairs.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if (k, rule) not in predicted:
            ds.fn.append((names[k], rule, e.get("why", "")))
    return ds


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def summarize(scores: list[DocScore]) -> dict:
    """Overall and per-rule precision/recall (JSON-ready)."""
    per_rule: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    for ds in scores:
        for _, r in ds.tp:
            per_rule[r]["tp"] += 1
        for _, r, _ in ds.fp:
            per_rule[r]["fp"] += 1
        for _, r, _ in ds.fn:
            per_rule[r]["fn"] += 1
    tp = sum(v["tp"] for v in per_rule.values())
    fp = sum(v["fp"] for v in per_rule.values())
    fn = sum(v["fn"] for v in per_rule.values())
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "tp": tp, "fp": fp, "fn": fn,
        "errors_on_consistent_units": sum(len(ds.errors_on_consistent) for ds in scores),
        "per_rule": {r: {**v, "precision": _ratio(v["tp"], v["tp"] + v["fp"]),
                         "recall": _ratio(v["tp"], v["tp"] + v["fn"])} for r, v in sorted(per_rule.items())},
        "documents": [
            {"stem": ds.stem, "tp": len(ds.tp), "fp": [list(x) for x in ds.fp], "fn": [list(x) for x in ds.fn],
             "errors_on_consistent": [list(x) for x in ds.errors_on_consistent],
             "severity_disagreements": [list(x) for x in ds.severity_disagreements],
             "unmatched_projects": ds.unmatched_projects}
            for ds in scores
        ],
    }


def format_table(result: dict) -> str:
    lines = [f"{'rule':<20} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'rec':>6}"]
    for r, v in result["per_rule"].items():
        p = "-" if v["precision"] is None else f"{v['precision']:.2f}"
        q = "-" if v["recall"] is None else f"{v['recall']:.2f}"
        lines.append(f"{r:<20} {v['tp']:>4} {v['fp']:>4} {v['fn']:>4} {p:>6} {q:>6}")
    p = "-" if result["precision"] is None else f"{result['precision']:.3f}"
    q = "-" if result["recall"] is None else f"{result['recall']:.3f}"
    lines.append(f"{'ALL (warning+)':<20} {result['tp']:>4} {result['fp']:>4} {result['fn']:>4} {p:>6} {q:>6}")
    lines.append(f"error-level findings on consistent units: {result['errors_on_consistent_units']}")
    for d in result["documents"]:
        for proj, rule, msg in d["fp"]:
            lines.append(f"  FP {d['stem']}  {proj}  {rule}  {msg[:90]}")
        for proj, rule, why in d["fn"]:
            lines.append(f"  FN {d['stem']}  {proj}  {rule}  {why[:90]}")
        for proj, rule, msg in d["errors_on_consistent"]:
            lines.append(f"  ERROR-ON-CONSISTENT {d['stem']}  {proj}  {rule}")
        for proj, rule, g, o in d["severity_disagreements"]:
            lines.append(f"  SEVERITY {d['stem']}  {proj}  {rule}  gold={g} ours={o}")
        if d["unmatched_projects"]:
            lines.append(f"  unmatched projects in {d['stem']}: {', '.join(d['unmatched_projects'])}")
    return "\n".join(lines)
