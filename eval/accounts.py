"""部门决算 benchmark: parsed tables, checks and statements against hand-made gold (eval/gold/accounts/*.json).

For each gold file the seed and each of its renderings (txt/pdf/docx, when present) are loaded, parsed with
service.accounts.extract_accounts and checked with check_accounts. Metrics, per document:
  table_recall   gold tables (公开01–09) found
  row_recall     Σ_t min(parsed rows, gold rows) / Σ_t gold rows; plus selected gold rows found by code/name
  value_exact    selected gold cell values equal (as Decimal) to the parsed ones
  check_agree    gold table/department checks whose status (pass / within_rounding / fail) matches
  narrative      gold 第三部分 statements matched to a check with the same status (and quote, when given)

    python -m eval.accounts [--format table|json]      (also: jixiao eval accounts)
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLD_DIR = Path(__file__).resolve().parent / "gold" / "accounts"


@dataclass
class DocScore:
    stem: str
    path: str
    kind: str
    recognized: bool = False
    tables_found: int = 0
    tables_gold: int = 0
    rows_matched: int = 0
    rows_gold: int = 0
    sel_rows_found: int = 0
    sel_rows_gold: int = 0
    values_equal: int = 0
    values_gold: int = 0
    checks_agree: int = 0
    checks_gold: int = 0
    narrative_agree: int = 0
    narrative_gold: int = 0
    misses: list[str] = field(default_factory=list)
    split: str = ""  # own-documents gold only ("heldout" / "tuning"); the bundled gold has none

    @staticmethod
    def _r(a: int, b: int) -> float:
        return round(a / b, 4) if b else 1.0

    def metrics(self) -> dict:
        return {
            "table_recall": self._r(self.tables_found, self.tables_gold),
            "row_recall": self._r(self.rows_matched, self.rows_gold),
            "selected_rows_found": self._r(self.sel_rows_found, self.sel_rows_gold),
            "value_exact": self._r(self.values_equal, self.values_gold),
            "check_agree": self._r(self.checks_agree, self.checks_gold),
            "narrative_agree": self._r(self.narrative_agree, self.narrative_gold),
        }


def _dec(s: str | None) -> Decimal | None:
    try:
        return Decimal(str(s).replace(",", "")) if s is not None else None
    except InvalidOperation:
        return None


def _find_row(table, g: dict):
    for r in table.rows:
        if "code" in g and r.code != g["code"]:
            continue
        if "name" in g and r.name != g["name"]:
            continue
        if "side" in g and r.side != g["side"]:
            continue
        if "code" not in g and "name" not in g and table.kind != "sangong":
            continue
        return r
    return None


def score_document(gold: dict, path: Path) -> DocScore:
    from retrieval.loaders import load_path
    from service.accounts import check_accounts, extract_accounts

    doc = load_path(path, max_bytes=10**8)
    s = DocScore(stem=gold["stem"], path=str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
                 kind=doc.kind)
    acc = extract_accounts(doc)
    gt = gold["tables"]
    s.tables_gold = len(gt)
    s.rows_gold = sum(v["rows"] for v in gt.values())
    s.sel_rows_gold = len(gold.get("rows", []))
    s.values_gold = sum(len(g["values"]) for g in gold.get("rows", []))
    s.checks_gold = len(gold.get("checks", [])) + len(gold.get("dept", []))
    s.narrative_gold = len(gold.get("narrative", []))
    if acc is None:
        s.misses.append("not recognized as 部门决算")
        return s
    s.recognized = True
    for tid, g in gt.items():
        t = acc.table(tid)
        if t is None:
            s.misses.append(f"table {tid} missing")
            continue
        s.tables_found += 1
        s.rows_matched += min(len(t.rows), g["rows"])
        if len(t.rows) != g["rows"]:
            s.misses.append(f"table {tid}: {len(t.rows)} rows, gold {g['rows']}")
    for g in gold.get("rows", []):
        t = acc.table(g["table"])
        row = _find_row(t, g) if t is not None else None
        if row is None:
            s.misses.append(f"row missing: {g}")
            continue
        s.sel_rows_found += 1
        for key, want in g["values"].items():
            got = row.get(key)
            if got is not None and got == _dec(want):
                s.values_equal += 1
            else:
                s.misses.append(f"value {g['table']} {g.get('code') or g.get('name')} [{key}]: {got} != {want}")
    results, _ = check_accounts(acc, doc)
    by_id = {r.check_id: r for r in results}
    for g in [*gold.get("checks", []), *gold.get("dept", [])]:
        r = by_id.get(g["check_id"])
        if r is not None and r.status == g["expected"]:
            s.checks_agree += 1
        else:
            s.misses.append(f"check {g['check_id']}: {r.status if r else 'absent'} != {g['expected']}")
    used: set[str] = set()
    for g in gold.get("narrative", []):
        prefix = f"R-NARRATIVE:{g['section']}:{g['kind']}:"
        cands = [r for r in results if r.check_id.startswith(prefix) and r.check_id not in used
                 and _dec(r.reported) == _dec(g["stated"])]
        quote = g.get("quote")
        if quote:
            quoted = [r for r in cands if r.refs and (quote in r.refs[0].quote or r.refs[0].quote in quote)]
            cands = quoted or []
        if not cands:
            s.misses.append(f"narrative {g['section']} {g['kind']} {g['stated']}: not found")
            continue
        r = cands[0]
        used.add(r.check_id)
        if r.status == g["expected"]:
            s.narrative_agree += 1
        else:
            s.misses.append(f"narrative {r.check_id}: {r.status} != {g['expected']}")
    return s


def run(gold_dir: Path = GOLD_DIR) -> list[DocScore]:
    out: list[DocScore] = []
    for gp in sorted(gold_dir.glob("*.json")):
        gold = json.loads(gp.read_text(encoding="utf-8"))
        for rel in [gold["source"], *gold.get("renderings", [])]:
            p = ROOT / rel
            if p.exists():
                out.append(score_document(gold, p))
    return out


def run_docs(docs: Path, gold_dir: Path) -> list[DocScore]:
    """An evaluator's own folder: every gold file of `gold_dir` (validated; GoldError names file and field) names
    its document (and other renderings) by file name or stem in `docs`; each is parsed, checked and scored."""
    from eval.gold_format import GoldError, document_in, validate_accounts_gold

    paths = sorted(Path(gold_dir).glob("*.json")) if Path(gold_dir).is_dir() else [Path(gold_dir)]
    if not paths or not paths[0].is_file():
        raise FileNotFoundError(f"--gold {gold_dir}: no *.json gold files")
    todo = []
    for gp in paths:
        try:
            gold = json.loads(gp.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise GoldError(str(gp), [f"not JSON: {exc}"]) from exc
        validate_accounts_gold(gold, str(gp))
        files, problems = [], []
        for where, name in [("document", gold["document"]),
                            *((f"renderings[{i}]", r) for i, r in enumerate(gold.get("renderings", [])))]:
            try:
                files.append(document_in(name, Path(docs)))
            except FileNotFoundError as exc:
                problems.append(f"{where}: {exc}")
        if problems:
            raise GoldError(str(gp), problems)
        # score_document names a document by the gold's stem: the file's, when the gold gives none
        todo.append(({**gold, "stem": gold.get("stem") or files[0].stem}, files))
    out: list[DocScore] = []
    for gold, files in todo:  # all gold validated before the (slow) parsing starts
        for f in files:
            s = score_document(gold, f)
            s.split = gold.get("split", "tuning")
            out.append(s)
    return out


def report(scores: list[DocScore], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps([{"stem": s.stem, "path": s.path, "kind": s.kind, "recognized": s.recognized,
                            **s.metrics(), "counts": {
                                "tables": [s.tables_found, s.tables_gold], "rows": [s.rows_matched, s.rows_gold],
                                "selected_rows": [s.sel_rows_found, s.sel_rows_gold],
                                "values": [s.values_equal, s.values_gold], "checks": [s.checks_agree, s.checks_gold],
                                "narrative": [s.narrative_agree, s.narrative_gold]},
                            "misses": s.misses, **({"split": s.split} if s.split else {})} for s in scores],
                          ensure_ascii=False, indent=2)
    cols = ["table_recall", "row_recall", "selected_rows_found", "value_exact", "check_agree", "narrative_agree"]
    head = ["document", "kind", *cols]
    rows = [["/".join(Path(s.path).parts[-2:]), s.kind, *[f"{s.metrics()[c]:.4f}" for c in cols]] for s in scores]
    if any(s.split for s in scores):  # own-documents gold: which documents were held out, and per-split means
        head.append("split")
        rows = [[*r, s.split] for r, s in zip(rows, scores)]
        for sp in sorted({s.split for s in scores}):
            group = [s for s in scores if s.split == sp]
            rows.append([f"mean ({len(group)} files)", "", *[f"{sum(s.metrics()[c] for s in group) / len(group):.4f}"
                                                            for c in cols], sp])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(r, widths)) for r in [head, *rows]]
    for s in scores:
        for m in s.misses[:20]:
            lines.append(f"  miss [{'/'.join(Path(s.path).parts[-2:])}] {m}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=["table", "json"], default="table")
    ap.add_argument("--gold-dir", type=Path, default=GOLD_DIR)
    args = ap.parse_args(argv)
    scores = run(args.gold_dir)
    print(report(scores, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
