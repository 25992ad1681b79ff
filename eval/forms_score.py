"""Scoring the form reader and the checks on generated forms (pure: the caller loads, extracts and checks).

A generated form's gold (eval/forms) holds the extraction the form was made from and the findings its
injected errors must raise. Per document:

  project recall        gold forms (projects and department-wide forms) matched by name;
  header fields         name-independent fields of each gold form — department, year, the funds block
                        (年初/全年预算数, 执行数, 执行率, 执行分值/得分, money unit), the total and the grade — as
                        a share of those the gold fills; a form not found counts all its fields as missed;
  indicator rows        gold rows whose name matched and whose target, actual, 分值 and 得分 all agree;
  exact fields          every gold value (header fields, sources, rows' fields, category weights) found exactly;
  checks                findings at warning or error level against the gold findings: precision and recall.

Baselines run in the same pass (eval.naive_reader): a header-less positional reader for the extraction
figures, and "flag nothing" / "flag every rate below 100%" for the checks.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from eval.checks import score_document as score_findings
from eval.extraction import same_grade, same_number, score_document
from service.extraction.names import light_key, loose_key

HEADER_FIELDS = ("initial_budget", "adjusted_budget", "executed", "reported_rate", "exec_weight", "exec_score")


def as_records(shape: dict) -> list[dict]:
    """Projects and department-wide forms as one list of project-like records (a department form's name is
    its department)."""
    out = [dict(p) for p in shape.get("projects") or []]
    for d in shape.get("departments") or []:
        if d.get("indicators") is None and d.get("funds") is None:
            continue  # a department's prose statements, not a form
        out.append({**d, "project": d.get("department") or d.get("project") or "部门整体",
                    "funds": d.get("funds") or {"sources": []}, "indicators": d.get("indicators") or []})
    return out


@dataclass
class Tally:
    hit: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.hit += bool(ok)

    def merge(self, other: Tally) -> None:
        self.hit += other.hit
        self.total += other.total

    @property
    def rate(self) -> float | None:
        return round(self.hit / self.total, 4) if self.total else None


@dataclass
class FormScore:
    stem: str
    family: str
    fmt: str
    split: str
    projects: Tally = field(default_factory=Tally)
    header: Tally = field(default_factory=Tally)
    rows: Tally = field(default_factory=Tally)
    fields: Tally = field(default_factory=Tally)
    checks_tp: int = 0
    checks_fp: int = 0
    checks_fn: int = 0
    # rule id -> [tp, fp, fn]: the issue asks for recall and precision per check, not only overall
    by_rule: dict = field(default_factory=dict)
    coverage: str | None = None
    misses: list[dict] = field(default_factory=list)


def _match(gold: list[dict], pred: list[dict]) -> list[tuple[int, int]]:
    from eval.extraction import pair_in_order

    pairs: list[tuple[int, int]] = []
    used_g: set[int] = set()
    used_p: set[int] = set()
    for key in (light_key, loose_key):
        pair_in_order(gold, pred, key, pairs, used_g, used_p)
    return pairs


def score_form(stem: str, family: str, fmt: str, split: str, gold: dict, pred_shape: dict, findings: list,
               coverage: str | None = None) -> FormScore:
    res = FormScore(stem=stem, family=family, fmt=fmt, split=split, coverage=coverage)
    g_recs = as_records(gold.get("extraction") or {})
    p_recs = as_records(pred_shape)
    pairs = _match(g_recs, p_recs)
    matched = dict(pairs)
    for i, g in enumerate(g_recs):
        res.projects.add(i in matched)
        p = p_recs[matched[i]] if i in matched else {}
        gf, pf = g.get("funds") or {}, p.get("funds") or {}
        checks = [(f"funds.{k}", gf.get(k), pf.get(k), same_number) for k in HEADER_FIELDS]
        checks += [("funds.unit", gf.get("unit") if any(gf.get(k) for k in HEADER_FIELDS) else None, pf.get("unit"),
                    lambda a, b: a == b),
                   ("reported_total", g.get("reported_total"), p.get("reported_total"), same_number),
                   ("reported_grade", g.get("reported_grade"), p.get("reported_grade"), same_grade),
                   ("year", g.get("year"), p.get("year"), lambda a, b: str(a) == str(b)),
                   ("department", g.get("department"), p.get("department"),
                    lambda a, b: light_key(str(a)) == light_key(str(b or "")))]
        for name, gv, pv, eq in checks:
            if gv in (None, ""):
                continue
            ok = pv not in (None, "") and eq(gv, pv)
            res.header.add(ok)
            if not ok:
                res.misses.append({"field": name, "where": g.get("project"), "gold": gv, "pred": pv})
    # rows and every value: the extraction scorer, on the records in one list
    doc = score_document({"stem": stem, "projects": g_recs}, {"projects": p_recs})
    res.rows = Tally(doc.rows.tp, doc.rows.tp + doc.rows.fn)
    for c in doc.fields.values():
        res.fields.merge(Tally(c.tp, c.tp + c.fn))
    res.misses.extend(m for m in doc.misses if str(m.get("field", "")).startswith(("indicator", "funds.sources")))
    fs = score_findings(gold.get("findings") or {"units": []}, findings)
    res.checks_tp, res.checks_fp, res.checks_fn = len(fs.tp), len(fs.fp), len(fs.fn)
    for k, items in enumerate((fs.tp, fs.fp, fs.fn)):
        for item in items:
            res.by_rule.setdefault(item[1], [0, 0, 0])[k] += 1
    res.misses.extend({"field": "finding_fp", "where": p, "rule": r, "message": m} for p, r, m in fs.fp)
    res.misses.extend({"field": "finding_fn", "where": p, "rule": r, "why": w} for p, r, w in fs.fn)
    return res


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4)}


def aggregate(scores: list[FormScore]) -> dict:
    t = {k: Tally() for k in ("projects", "header", "rows", "fields")}
    tp = fp = fn = 0
    unread = 0
    rules: dict[str, list[int]] = {}
    for s in scores:
        for rule, counts in s.by_rule.items():
            acc = rules.setdefault(rule, [0, 0, 0])
            for k in range(3):
                acc[k] += counts[k]
        for k in t:
            t[k].merge(getattr(s, k))
        tp, fp, fn = tp + s.checks_tp, fp + s.checks_fp, fn + s.checks_fn
        unread += s.coverage in ("partial", "unrecognised")
    return {"documents": len(scores), "project_recall": t["projects"].rate, "header_fields": t["header"].rate,
            "indicator_rows": t["rows"].rate, "exact_fields": t["fields"].rate, "checks": _prf(tp, fp, fn),
            "unread_documents": unread, "rules": {r: _prf(*c) for r, c in sorted(rules.items())},
            "counts": {k: {"hit": v.hit, "total": v.total} for k, v in t.items()}}


def report(scores: list[FormScore]) -> dict:
    """Overall, per split, per split × family and per split × format."""
    out: dict = {"overall": aggregate(scores), "splits": {}}
    by_split: dict[str, list[FormScore]] = defaultdict(list)
    for s in scores:
        by_split[s.split].append(s)
    for split, group in sorted(by_split.items()):
        fam: dict[str, list[FormScore]] = defaultdict(list)
        fmt: dict[str, list[FormScore]] = defaultdict(list)
        for s in group:
            fam[s.family].append(s)
            fmt[s.fmt].append(s)
        out["splits"][split] = {
            "all": aggregate(group),
            "families": {k: aggregate(v) for k, v in sorted(fam.items())},
            "formats": {k: aggregate(v) for k, v in sorted(fmt.items())},
        }
    return out


def _fmt(v) -> str:
    return "   -  " if v is None else f"{v:6.4f}"


def format_table(rep: dict, baseline: dict | None = None) -> str:
    lines = []
    head = f"{'':28} {'docs':>5} {'proj':>6} {'header':>6} {'rows':>6} {'fields':>6} {'chk P':>6} {'chk R':>6} {'unread':>6}"

    def row(name: str, a: dict, checks: bool = True) -> str:
        c = a["checks"]
        p = _fmt(c["precision"] if checks and c["tp"] + c["fp"] else None)
        r = _fmt(c["recall"] if checks and c["tp"] + c["fn"] else None)
        unread = f"{a['unread_documents']:6d}" if checks else "     -"
        return (f"{name:28} {a['documents']:5d} {_fmt(a['project_recall'])} {_fmt(a['header_fields'])} "
                f"{_fmt(a['indicator_rows'])} {_fmt(a['exact_fields'])} {p} {r} {unread}")

    for split, data in rep["splits"].items():
        lines.append(f"== split: {split}")
        lines.append(head)
        lines.append(row("ALL", data["all"]))
        for name, label in (("naive_reader", "  baseline: naive reader"),):
            if baseline and split in baseline.get(name, {}).get("splits", {}):
                lines.append(row(label, baseline[name]["splits"][split]["all"], checks=False))
        for name, label in (("flag_nothing", "flag nothing"), ("flag_low_rates", "flag every rate < 100%")):
            if baseline and split in baseline.get(name, {}).get("splits", {}):
                c = baseline[name]["splits"][split]["all"]["checks"]
                p = _fmt(c["precision"] if c["tp"] + c["fp"] else None)
                r = _fmt(c["recall"] if c["tp"] + c["fn"] else None)
                lines.append(f"  checks baseline, {label}: P {p} R {r}")
        rules = data["all"].get("rules") or {}
        if rules:
            lines.append("-- per check (tp / fp / fn, precision, recall)")
            for rule, c in rules.items():
                lines.append(f"  {rule:26} {c['tp']:5d} {c['fp']:5d} {c['fn']:5d}  P {_fmt(c['precision'])}"
                             f"  R {_fmt(c['recall'])}")
        lines.append("-- per family")
        for k, a in data["families"].items():
            lines.append(row("  " + k, a))
        lines.append("-- per format")
        for k, a in data["formats"].items():
            lines.append(row("  " + k, a))
        lines.append("")
    return "\n".join(lines)


__all__ = ["FormScore", "aggregate", "as_records", "format_table", "report", "score_form"]
