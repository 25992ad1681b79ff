"""The gold formats an evaluator writes for their own documents, validated with errors that name the file and
the field (pure: the caller reads the JSON). eval/README.md documents both formats with an example.

extraction gold   {"document": "<file name in --docs>", "stem": "...", "split": "heldout"|"tuning",
                   "method": "...", "projects": [record...], "departments": [...], "summaries": [...]}
findings gold     {"document": "...", "stem": "...", "split": ..., "method": "...",
                   "units": [{"project": "...", "expected": [{"rule_id", "severity", "why"}], "consistent": bool}],
                   "departments": [{"department": "...", "expected": [...], "consistent": bool}]}

qa gold           {"split": "heldout"|"tuning", "questions": [{"id", "question", "kind": "value"|"refuse",
                   "expected_value" (kind value), "expected_projects"?, "document"?, "must_mention"?, "op"?,
                   "lang"?, "split"?}]}   (the everyday format of eval/gold/qa_everyday.json, plus `document`)
accounts gold     {"document": "<部门决算 file in --docs>", "renderings"?: [other files of it], "split"?,
                   "tables": {"01": {"rows": n}, ...}, "rows"?: [{"table", "code"|"name", "side"?, "values": {col: "n"}}],
                   "checks"?/"dept"?: [{"check_id", "expected": "pass"|"within_rounding"|"fail"}],
                   "narrative"?: [{"section", "kind", "stated", "expected", "quote"?}]}
retrieval gold    {"questions": [{"id", "question", "split": "dev"|"test", "lang"?, "tags"?,
                   "gold": [{"document": "<file name or stem in --docs>", "quote": "<exact text>"}]}]}

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


def read_golds(files, validate) -> tuple[list[tuple[Path, dict]], list[str]]:
    """Every gold file read and validated: (the good ones, one line per problem of every bad one), so that
    an evaluator sees all the mistakes at once."""
    import json

    good, problems = [], []
    for p in files:
        try:
            good.append((p, validate(json.loads(Path(p).read_text(encoding="utf-8")), str(p))))
        except json.JSONDecodeError as exc:
            problems.append(f"{p}: not valid JSON ({exc})")
        except GoldError as exc:
            problems.append(str(exc))
    return good, problems


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


QA_TOP = {"version", "split", "written", "description", "questions", "notes"}
QA_ITEM = {"id", "question", "kind", "expected_value", "expected_projects", "document", "must_mention", "op", "lang",
           "split", "why", "notes", "group"}
RETRIEVAL_TOP = {"version", "description", "questions", "notes"}
RETRIEVAL_ITEM = {"id", "question", "split", "lang", "tags", "gold", "notes"}
RETRIEVAL_SPLITS = {"dev", "test"}


def document_in(name: str, docs: Path) -> Path:
    """The file a gold entry names inside `docs`: an exact file name (or relative path), else the one file whose
    name without extension is `name`. FileNotFoundError says what was looked for and where."""
    p = (docs / name).resolve()
    if docs.resolve() not in p.parents:
        raise FileNotFoundError(f"document {name!r} is outside {docs}")
    if p.is_file():
        return p
    # documents may sit in sub-folders (eval make-forms writes <family>/<stem>-<fmt>.*): match by name anywhere
    hits = sorted(f for f in docs.rglob("*") if f.is_file() and name in (f.name, f.stem))
    if len(hits) != 1:
        raise FileNotFoundError(f"document {name!r} not found in {docs}" if not hits
                                else f"document {name!r} is ambiguous in {docs}: {', '.join(h.name for h in hits)}")
    return hits[0]


def _ids(items: list, where: str, out: list[str]) -> None:
    seen: set = set()
    for i, q in enumerate(items):
        if isinstance(q, dict) and q.get("id") in seen:
            out.append(f"{where}[{i}].id: {q.get('id')!r} used twice")
        if isinstance(q, dict):
            seen.add(q.get("id"))


def _question_items(data: Any, path: str, top: set[str], item_keys: set[str], out: list[str]):
    """What every question-list gold shares: a top-level object with a non-empty "questions" list, known keys,
    unique ids, each question an object with an id and a question. Yields (where, question) to check further."""
    if not isinstance(data, dict):
        raise GoldError(path, ["top level: must be a JSON object with a \"questions\" list"])
    _unknown(data, top, "", out)
    qs = data.get("questions")
    if not isinstance(qs, list) or not qs:
        out.append("questions: missing, empty or not a list")
        qs = []
    _ids(qs, "questions", out)
    for i, q in enumerate(qs):
        w = f"questions[{i}]"
        if not isinstance(q, dict):
            out.append(f"{w}: must be an object")
            continue
        _unknown(q, item_keys, w, out)
        for k in ("id", "question"):
            if not isinstance(q.get(k), str) or not q.get(k, "").strip():
                out.append(f"{w}.{k}: missing or empty")
        yield w, q


def validate_qa_gold(data: Any, path: str = "<gold>") -> dict:
    """Q&A gold for one's own documents (the everyday format), or GoldError listing every problem."""
    out: list[str] = []
    if isinstance(data, dict) and data.get("split", "tuning") not in SPLITS:
        out.append(f"split: {data.get('split')!r} is not one of heldout, tuning")
    for w, q in _question_items(data, path, QA_TOP, QA_ITEM, out):
        if q.get("kind") not in ("value", "refuse"):
            out.append(f"{w}.kind: {q.get('kind')!r} is not one of value, refuse")
        if q.get("kind") == "value" and (not isinstance(q.get("expected_value"), str) or not q["expected_value"].strip()):
            out.append(f"{w}.expected_value: missing (the figure(s) the answer must state, e.g. \"92.5\" or \"500;良\")")
        ep = q.get("expected_projects")
        if ep is not None and (not isinstance(ep, list) or not all(isinstance(x, str) for x in ep)):
            out.append(f"{w}.expected_projects: must be a list of project names")
        for k in ("document", "must_mention", "op", "lang", "group"):  # group: paraphrases of one question
            if k in q and q[k] is not None and not isinstance(q[k], str):
                out.append(f"{w}.{k}: must be a string")
        if q.get("split", "tuning") not in SPLITS:
            out.append(f"{w}.split: {q.get('split')!r} is not one of heldout, tuning")
    if out:
        raise GoldError(path, out)
    return data


def validate_retrieval_gold(data: Any, path: str = "<gold>") -> dict:
    """Retrieval gold for one's own documents, or GoldError listing every problem."""
    out: list[str] = []
    for w, q in _question_items(data, path, RETRIEVAL_TOP, RETRIEVAL_ITEM, out):
        if q.get("split", "dev") not in RETRIEVAL_SPLITS:
            out.append(f"{w}.split: {q.get('split')!r} is not one of dev, test")
        gold = q.get("gold")
        if not isinstance(gold, list) or not gold:
            out.append(f"{w}.gold: missing or empty (a list of {{\"document\", \"quote\"}})")
            continue
        for j, g in enumerate(gold):
            wg = f"{w}.gold[{j}]"
            if not isinstance(g, dict):
                out.append(f"{wg}: must be an object")
                continue
            _unknown(g, {"document", "quote"}, wg, out)
            for k in ("document", "quote"):
                if not isinstance(g.get(k), str) or not g.get(k, "").strip():
                    out.append(f"{wg}.{k}: missing or empty")
    if out:
        raise GoldError(path, out)
    return data


ACCOUNTS_TOP = {"document", "stem", "source", "renderings", "split", "note", "notes", "department", "year", "tables",
                "rows", "checks", "dept", "narrative"}
CHECK_STATUSES = {"pass", "within_rounding", "fail"}


def validate_accounts_gold(data: Any, path: str = "<gold>") -> dict:
    """部门决算 gold for one's own documents (the eval/gold/accounts format, `document` instead of `source`)."""
    out: list[str] = []
    if not isinstance(data, dict):
        raise GoldError(path, ["top level: must be a JSON object"])
    _unknown(data, ACCOUNTS_TOP, "", out)
    if not isinstance(data.get("document"), str) or not data.get("document"):
        out.append("document: missing (the file name of the 部门决算 in --docs)")
    if not isinstance(data.get("renderings", []), list) or not all(isinstance(r, str) for r in data.get("renderings", [])):
        out.append("renderings: must be a list of file names in --docs")
    if data.get("split", "tuning") not in SPLITS:
        out.append(f"split: {data.get('split')!r} is not one of heldout, tuning")
    tables = data.get("tables")
    if not isinstance(tables, dict) or not tables:
        out.append("tables: missing or empty (e.g. {\"01\": {\"rows\": 42}})")
        tables = {}
    for tid, t in tables.items():
        if not isinstance(t, dict) or not isinstance(t.get("rows"), int) or isinstance(t.get("rows"), bool):
            out.append(f"tables.{tid}.rows: must be a whole number of rows")
    for i, r in enumerate(data.get("rows") or []):
        w = f"rows[{i}]"
        if not isinstance(r, dict):
            out.append(f"{w}: must be an object")
            continue
        if r.get("table") not in tables:
            out.append(f"{w}.table: {r.get('table')!r} is not one of the gold's tables")
        if not isinstance(r.get("values"), dict) or not r["values"]:
            out.append(f"{w}.values: missing (column name -> number as a string)")
        else:
            for k, v in r["values"].items():
                if v is None or not _is_decimal(str(v).replace(",", "")):
                    out.append(f"{w}.values.{k}: {v!r} is not a number")
    for key in ("checks", "dept"):
        for i, c in enumerate(data.get(key) or []):
            w = f"{key}[{i}]"
            if not isinstance(c, dict) or not isinstance(c.get("check_id"), str):
                out.append(f"{w}.check_id: missing")
                continue
            if c.get("expected") not in CHECK_STATUSES:
                out.append(f"{w}.expected: {c.get('expected')!r} is not one of fail, pass, within_rounding")
    for i, n in enumerate(data.get("narrative") or []):
        w = f"narrative[{i}]"
        if not isinstance(n, dict):
            out.append(f"{w}: must be an object")
            continue
        for k in ("section", "kind", "stated"):
            if not isinstance(n.get(k), str) or not n.get(k):
                out.append(f"{w}.{k}: missing")
        if n.get("stated") and not _is_decimal(str(n["stated"]).replace(",", "")):
            out.append(f"{w}.stated: {n['stated']!r} is not a number")
        if n.get("expected") not in CHECK_STATUSES:
            out.append(f"{w}.expected: {n.get('expected')!r} is not one of fail, pass, within_rounding")
    if out:
        raise GoldError(path, out)
    return data


__all__ = ["GoldError", "document_in", "find_document", "read_golds", "validate_accounts_gold",
           "validate_extraction_gold", "validate_findings_gold", "validate_qa_gold", "validate_retrieval_gold"]
