"""Sanity checks for the hand-made gold files (eval/gold/extraction, eval/gold/findings).

Pure helper for annotators: it never imports service.extraction or service.checks. It checks that
  * every gold file parses and names its stem;
  * every anchor_quote / narrative quote / stated-count quote occurs in the normalized seed text
    (a quote may span consecutive lines of one page, joined as retrieval.normalize.join_broken joins them);
  * numeric fields are decimal strings;
  * findings use known rule ids and severities and name projects present in the extraction gold;
and prints, per project, the sum of the transcribed indicator scores next to the stated total so that a
transcription slip shows up during the second annotation pass (a mismatch is NOT an error of the gold:
the documents' own arithmetic is sometimes wrong).

    python eval/gold/validate_gold.py [--sums]
"""
from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from retrieval.loaders.text import load_text  # noqa: E402
from retrieval.normalize import join_broken  # noqa: E402
from service.checks.rulebook import RULES as RULEBOOK  # noqa: E402

GOLD = ROOT / "eval" / "gold"
SEEDS = ROOT / "corpus" / "seeds"
# the rulebook's own ids (service/checks/rulebook.py): a copy here went stale as rules were added
RULES = {r.id for r in RULEBOOK}
SEVERITIES = {"error", "warning", "info"}
WINDOW = 8  # max consecutive lines a quote may span


def page_texts(stem: str) -> list[list[str]]:
    pages = load_text((SEEDS / f"{stem}.txt").read_bytes())
    return [[ln.text for ln in p.lines] for p in pages]


def quote_found(quote: str, pages: list[list[str]]) -> bool:
    for lines in pages:
        for i in range(len(lines)):
            if quote in lines[i]:
                return True
            for j in range(i + 2, min(i + WINDOW, len(lines)) + 1):
                if quote in join_broken(lines[i:j]):
                    return True
    # a logical table row broken across a page break
    for a, b in zip(pages, pages[1:]):
        if a and b and quote in join_broken(a[-3:] + b[:3]):
            return True
    return False


def is_decimal(v) -> bool:
    if v is None:
        return True
    if not isinstance(v, str):
        return False
    try:
        Decimal(v)
        return True
    except InvalidOperation:
        return False


def dec(v) -> Decimal | None:
    try:
        return Decimal(v) if v is not None else None
    except InvalidOperation:
        return None


def check_extraction(path: Path, errors: list[str], sums: bool) -> set[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    stem = data.get("stem")
    if stem != path.stem:
        errors.append(f"{path.name}: stem {stem!r} != file name")
    if not data.get("method"):
        errors.append(f"{path.name}: empty method")
    pages = page_texts(path.stem)
    names: set[str] = set()

    def need_quote(q, where):
        if not q:
            errors.append(f"{path.name}: {where}: empty quote")
        elif not quote_found(q, pages):
            errors.append(f"{path.name}: {where}: quote not found: {q!r}")

    for k, p in enumerate(data["projects"]):
        name = p["project"]
        where = f"project[{k}] {name}"
        if name in names:
            errors.append(f"{path.name}: duplicate project {name}")
        names.add(name)
        need_quote(p.get("anchor_quote"), where + " anchor")
        fu = p["funds"]
        for key in ("initial_budget", "adjusted_budget", "available", "executed", "reported_rate", "exec_weight", "exec_score"):
            if not is_decimal(fu.get(key)):
                errors.append(f"{path.name}: {where}: funds.{key} not a decimal string: {fu.get(key)!r}")
        for s in fu.get("sources", []):
            for key in ("initial_budget", "adjusted_budget", "available", "executed", "reported_rate"):
                if not is_decimal(s.get(key)):
                    errors.append(f"{path.name}: {where}: source {s['name']}.{key} not decimal: {s.get(key)!r}")
        for i, ind in enumerate(p["indicators"]):
            if not isinstance(ind.get("level3"), str):
                errors.append(f"{path.name}: {where}: indicator {i} level3 missing")
            if not is_decimal(ind.get("weight")):
                errors.append(f"{path.name}: {where}: indicator {i} weight not decimal: {ind.get('weight')!r}")
        if not is_decimal(p.get("reported_total")):
            errors.append(f"{path.name}: {where}: reported_total not decimal")
        for c in p.get("narrative_claims", []):
            need_quote(c.get("quote"), where + f" claim {c.get('kind')}")
            if not is_decimal(c.get("value")):
                errors.append(f"{path.name}: {where}: claim value not decimal: {c.get('value')!r}")
        if sums:
            scores = [dec(i.get("score")) for i in p["indicators"]]
            weights = [dec(i.get("weight")) for i in p["indicators"]]
            s_sc = sum(x for x in scores if x is not None)
            s_w = sum(x for x in weights if x is not None)
            print(f"  {path.stem[:3]} {name[:30]:<30} n={len(p['indicators']):>2} Σscore={s_sc} Σweight={s_w} "
                  f"exec={fu.get('exec_score')} rate={fu.get('reported_rate')} total={p.get('reported_total')} "
                  f"grade={p.get('reported_grade')} non-numeric-scores={sum(1 for i in p['indicators'] if i.get('score') is not None and dec(i.get('score')) is None)}")
    for t in data.get("summaries", []):
        for r in t.get("rows", []):
            for key in ("budget", "executed", "rate", "score"):
                if not is_decimal(r.get(key)):
                    errors.append(f"{path.name}: summary row {r.get('project')}: {key} not decimal")
    for d in data.get("departments", []):
        for c in d.get("stated_counts", []):
            need_quote(c.get("quote"), f"department {d.get('department')} count {c.get('label')}")
            if not is_decimal(c.get("value")):
                errors.append(f"{path.name}: department count {c.get('label')} not decimal")
        for c in d.get("stated_amounts", []):
            need_quote(c.get("quote"), f"department {d.get('department')} amount")
    return names


def check_findings(path: Path, names: set[str], errors: list[str]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("stem") != path.stem:
        errors.append(f"{path.name}: stem mismatch")
    seen = set()
    for u in data["units"]:
        if u["project"] not in names:
            errors.append(f"{path.name}: unit project not in extraction gold: {u['project']}")
        seen.add(u["project"])
        if not isinstance(u.get("consistent"), bool):
            errors.append(f"{path.name}: {u['project']}: consistent must be bool")
        for e in u["expected"]:
            if e["rule_id"] not in RULES:
                errors.append(f"{path.name}: unknown rule {e['rule_id']}")
            if e["severity"] not in SEVERITIES:
                errors.append(f"{path.name}: bad severity {e['severity']}")
            if not e.get("why"):
                errors.append(f"{path.name}: empty why")
        if u["consistent"] and any(e["severity"] == "error" for e in u["expected"]):
            errors.append(f"{path.name}: {u['project']}: consistent unit carries an error finding")
    missing = names - seen
    if missing:
        errors.append(f"{path.name}: projects without a findings unit: {sorted(missing)}")
    for d in data.get("departments", []):
        for e in d["expected"]:
            if e["rule_id"] not in RULES or e["severity"] not in SEVERITIES:
                errors.append(f"{path.name}: department finding bad rule/severity {e}")


def main() -> int:
    sums = "--sums" in sys.argv
    errors: list[str] = []
    for path in sorted((GOLD / "extraction").glob("*.json")):
        print(path.name)
        names = check_extraction(path, errors, sums)
        fpath = GOLD / "findings" / path.name
        if fpath.exists():
            check_findings(fpath, names, errors)
        else:
            errors.append(f"missing findings file for {path.stem}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
