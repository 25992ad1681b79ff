"""The gold formats an evaluator writes for their own documents, validated with errors that name the file and
the field (pure: the caller reads the JSON). eval/README.md documents both formats with an example.

extraction gold   {"document": "<file name in --docs>", "stem": "...", "split": "heldout"|"tuning",
                   "method": "...", "projects": [record...], "departments": [...], "summaries": [...]}
findings gold     {"document": "...", "stem": "...", "split": ..., "method": "...",
                   "units": [{"project": "...", "expected": [{"rule_id", "severity", "why"}], "consistent": bool}],
                   "departments": [{"department": "...", "expected": [...], "consistent": bool}]}

`split` says when the gold was written: "heldout" for gold written before the rules were tuned on those
documents, "tuning" (the default) otherwise; the benchmarks report the two apart.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from eval.extraction import FUNDS_FIELDS, SOURCE_FIELDS

RULE_IDS = {
    "R-EXEC-RATE", "R-EXEC-OVER", "R-EXEC-ROWS", "R-EXEC-SCORE", "R-EXEC-EXPLAIN", "R-QUANT-POS", "R-QUANT-NEG",
    "R-QUANT-EQ", "R-QUAL", "R-FULL-BUT-DEDUCTED", "R-WEIGHT-L1", "R-CATEGORY-SUM", "R-TOTAL", "R-GRADE",
    "R-NARR-AMOUNT", "R-NARR-TOTAL", "R-NARR-GRADE", "R-NARR-RATE", "R-SUMMARY", "R-SUMMARY-DUP", "R-DEVIATION",
    "R-UNIT-MAGNITUDE", "R-ZERO-SPEND", "R-ACCOUNTS-PROJECT", "R-ACCOUNTS-DEPT", "R-PROJECT-DUP",
    "R-DEPT-TOTAL", "R-DEPT-COUNTS", "R-ROUND",
}
SEVERITIES = {"error", "warning", "info"}
SPLITS = {"heldout", "tuning"}
GRADE_WORDS = {"优", "良", "中", "差", "优秀", "良好", "合格", "不合格"}
TOP_EXTRACTION = {"document", "stem", "split", "method", "projects", "departments", "summaries", "notes"}
TOP_FINDINGS = {"document", "stem", "split", "method", "units", "departments", "notes"}
RECORD = {"project", "aliases", "layout", "department", "year", "funds", "indicators", "category_weights",
          "reported_total", "reported_grade", "goals", "goal_completion", "stated_problems", "stated_measures",
          "narrative_claims", "anchor_quote", "notes", "implementer", "goal_completion_rate"}
# explanation / level3_raw: annotators' notes, not scored
INDICATOR = {"level1", "level2", "level3", "target", "actual", "weight", "score", "deviation_note", "notes",
             "explanation", "level3_raw"}
FUNDS = {"unit", *FUNDS_FIELDS, "sources"}
SOURCE = {"name", *SOURCE_FIELDS}


class GoldError(ValueError):
    """Every problem of one gold file, one per line: `<file>: <field>: <problem>`."""

    def __init__(self, path: str, problems: list[str]):
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def _is_decimal(v: Any) -> bool:
    if v is None:
        return True
    if not isinstance(v, str | int | float) or isinstance(v, bool):
        return False
    try:
        Decimal(str(v).rstrip("%"))
    except InvalidOperation:
        return False
    return True


def _unknown(obj: dict, allowed: set[str], where: str, out: list[str]) -> None:
    for k in obj:
        if k not in allowed:
            out.append(f"{where}.{k}: unknown field (known: {', '.join(sorted(allowed))})")


def _common(data: Any, top: set[str], out: list[str]) -> bool:
    if not isinstance(data, dict):
        out.append("top level: must be a JSON object")
        return False
    _unknown(data, top, "", out)
    if not (data.get("document") or data.get("stem")):
        out.append("document: missing (the file name of the document in --docs; or give stem)")
    for k in ("document", "stem", "method"):
        if k in data and not isinstance(data[k], str):
            out.append(f"{k}: must be a string")
    if data.get("split", "tuning") not in SPLITS:
        out.append(f"split: {data.get('split')!r} is not one of heldout, tuning")
    return True


def _record(rec: Any, where: str, out: list[str]) -> None:
    if not isinstance(rec, dict):
        out.append(f"{where}: must be an object")
        return
    _unknown(rec, RECORD, where, out)
    if not isinstance(rec.get("project"), str) or not rec.get("project", "").strip():
        out.append(f"{where}.project: missing or empty (the project's name as the form prints it)")
    for k in ("reported_total",):
        if not _is_decimal(rec.get(k)):
            out.append(f"{where}.{k}: {rec.get(k)!r} is not a number (write it as a string, e.g. \"92.50\")")
    funds = rec.get("funds")
    if funds is not None:
        if not isinstance(funds, dict):
            out.append(f"{where}.funds: must be an object")
        else:
            _unknown(funds, FUNDS, f"{where}.funds", out)
            for k in FUNDS_FIELDS:
                if not _is_decimal(funds.get(k)):
                    out.append(f"{where}.funds.{k}: {funds.get(k)!r} is not a number")
            for j, s in enumerate(funds.get("sources") or []):
                if not isinstance(s, dict):
                    out.append(f"{where}.funds.sources[{j}]: must be an object")
                    continue
                _unknown(s, SOURCE, f"{where}.funds.sources[{j}]", out)
                for k in SOURCE_FIELDS:
                    if not _is_decimal(s.get(k)):
                        out.append(f"{where}.funds.sources[{j}].{k}: {s.get(k)!r} is not a number")
    inds = rec.get("indicators", [])
    if not isinstance(inds, list):
        out.append(f"{where}.indicators: must be a list")
        return
    for j, ind in enumerate(inds):
        w = f"{where}.indicators[{j}]"
        if not isinstance(ind, dict):
            out.append(f"{w}: must be an object")
            continue
        _unknown(ind, INDICATOR, w, out)
        for k in ("weight", "score"):
            if k == "score" and ind.get(k) in GRADE_WORDS:
                continue  # a grade typed into the score column, transcribed as printed
            if not _is_decimal(ind.get(k)):
                out.append(f"{w}.{k}: {ind.get(k)!r} is not a number")
        if not any(ind.get(k) for k in ("level1", "level2", "level3")):
            out.append(f"{w}: no level1/level2/level3 name")


def validate_extraction_gold(data: Any, path: str = "<gold>") -> dict:
    """The gold as given, or GoldError listing every problem."""
    out: list[str] = []
    if _common(data, TOP_EXTRACTION, out):
        projects = data.get("projects")
        if not isinstance(projects, list):
            out.append("projects: missing or not a list")
        else:
            for i, rec in enumerate(projects):
                _record(rec, f"projects[{i}]", out)
        for i, d in enumerate(data.get("departments") or []):
            if not isinstance(d, dict) or not isinstance(d.get("department", ""), str):
                out.append(f"departments[{i}]: must be an object with a department name")
    if out:
        raise GoldError(path, out)
    return data


def validate_findings_gold(data: Any, path: str = "<gold>") -> dict:
    out: list[str] = []
    if _common(data, TOP_FINDINGS, out):
        units = data.get("units")
        if not isinstance(units, list):
            out.append("units: missing or not a list")
            units = []
        for key, group in (("units", units), ("departments", data.get("departments") or [])):
            for i, u in enumerate(group):
                w = f"{key}[{i}]"
                if not isinstance(u, dict):
                    out.append(f"{w}: must be an object")
                    continue
                name = "project" if key == "units" else "department"
                if not isinstance(u.get(name), str) or not u.get(name):
                    out.append(f"{w}.{name}: missing")
                _unknown(u, {name, "expected", "consistent", "notes", "project"}, w, out)
                if not isinstance(u.get("consistent", False), bool):
                    out.append(f"{w}.consistent: must be true or false")
                for j, e in enumerate(u.get("expected") or []):
                    we = f"{w}.expected[{j}]"
                    if not isinstance(e, dict):
                        out.append(f"{we}: must be an object")
                        continue
                    _unknown(e, {"rule_id", "severity", "why"}, we, out)
                    if e.get("rule_id") not in RULE_IDS:
                        out.append(f"{we}.rule_id: {e.get('rule_id')!r} is not a rule id (see docs/RULEBOOK.md)")
                    if e.get("severity") not in SEVERITIES:
                        out.append(f"{we}.severity: {e.get('severity')!r} is not one of error, warning, info")
    if out:
        raise GoldError(path, out)
    return data


def find_document(gold: dict, docs: Path) -> Path:
    """The document a gold file names, inside `docs`: `document` (a file name or a relative path), else the
    one file whose name without extension is `stem`. Raises FileNotFoundError naming what was looked for."""
    if gold.get("document"):
        p = (docs / gold["document"]).resolve()
        if docs.resolve() not in p.parents:
            raise FileNotFoundError(f"document {gold['document']!r} is outside {docs}")
        if not p.is_file():
            raise FileNotFoundError(f"document {gold['document']!r} not found in {docs}")
        return p
    stem = gold.get("stem", "")
    hits = sorted(p for p in docs.iterdir() if p.is_file() and p.stem == stem)
    if len(hits) != 1:
        raise FileNotFoundError(f"{'no' if not hits else len(hits)} file(s) named {stem}.* in {docs}; "
                                f"give the gold a \"document\" field")
    return hits[0]


__all__ = ["GoldError", "find_document", "validate_extraction_gold", "validate_findings_gold"]
