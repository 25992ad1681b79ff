"""Baselines printed beside every extraction and checks benchmark, so a figure never stands alone.

naive_read(doc)      a header-less positional table reader: what a person scripting one template would write.
                     Cells come from the loader's rows (or a text line split on tabs, `|` or runs of
                     spaces); the project name is the cell after 项目名称; the first row after it with three or
                     more figures is the funds row read in the national template's column order (年初预算数,
                     全年预算数, 全年执行数, 分值, 执行率, 得分); an indicator row is any row of at least six cells
                     whose last figures are 分值 and 得分, read as 一级/二级/三级/指标值/完成值/分值/得分 by position
                     (levels carried down from the row above when a merged cell left them out); the total is
                     the last figure of a row that says 总分. No header is read, so any column order other
                     than the national template's reads wrong, which is exactly what the baseline is for.
flag_nothing(x)      the check baseline that raises nothing (recall 0).
flag_low_rates(x)    the check baseline a hurried reviewer applies: every project whose execution rate is below
                     100% gets R-EXEC-EXPLAIN, nothing else.

Pure: a LoadedDocument in, the gold shape (eval.extraction.to_gold_shape's) or Findings out.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from service.models import DocumentExtraction, Finding

NUM = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?%?$")
SPLIT = re.compile(r"\t|\s*\|\s*|\s{2,}")


def _cells(line) -> list[str]:
    if line.cells:
        return [c.strip() for c in line.cells]
    return [c.strip() for c in SPLIT.split(line.text.strip()) if c.strip()]


def _num(cell: str) -> str | None:
    c = cell.replace(",", "").strip()
    if not NUM.match(c):
        return None
    try:
        v = Decimal(c.rstrip("%"))
    except InvalidOperation:
        return None
    return format(v, "f") + ("%" if c.endswith("%") else "")


def _plain(v: str | None) -> str | None:
    return v.rstrip("%") if v else v


def _empty_record(name: str) -> dict:
    return {"project": name, "aliases": [], "layout": "naive", "department": None, "year": None,
            "funds": {"unit": None, "initial_budget": None, "adjusted_budget": None, "executed": None,
                      "reported_rate": None, "exec_weight": None, "exec_score": None, "sources": []},
            "indicators": [], "category_weights": {}, "reported_total": None, "reported_grade": None,
            "goals": None, "goal_completion": None, "stated_problems": None, "stated_measures": None,
            "narrative_claims": []}


FUNDS_ORDER = ("initial_budget", "adjusted_budget", "executed", "exec_weight", "reported_rate", "exec_score")


def naive_read(doc) -> dict:
    records: list[dict] = []
    cur: dict | None = None
    funds_done = False
    level1 = level2 = None
    for line in doc.iter_lines():
        cells = _cells(line)
        if not cells:
            continue
        for k, c in enumerate(cells):
            if c.replace(" ", "").startswith("项目名称") and k + 1 < len(cells):
                cur = _empty_record(cells[k + 1])
                records.append(cur)
                funds_done = False
                level1 = level2 = None
                break
            if c.replace(" ", "").startswith("项目名称") and len(c) > 5:
                cur = _empty_record(c.split("：")[-1].split(":")[-1].replace("项目名称", "").strip())
                records.append(cur)
                funds_done = False
                break
        if cur is None:
            continue
        nums = [n for n in (_num(c) for c in cells) if n is not None]
        joined = "".join(cells)
        if "总分" in joined and nums:
            cur["reported_total"] = _plain(nums[-1])
            continue
        if not funds_done and len(nums) >= 3 and len(cells) - len(nums) <= 2:
            for key, v in zip(FUNDS_ORDER, nums):
                cur["funds"][key] = v if key == "reported_rate" else _plain(v)
            funds_done = True
            continue
        if len(cells) >= 6 and len(nums) >= 2 and _num(cells[-1]) is not None:
            padded = cells[-7:] if len(cells) >= 7 else [level1, level2] + cells[-5:] if len(cells) == 5 else \
                [level1] + cells[-6:]
            l1, l2, l3, target, actual, weight, score = (padded + [None] * 7)[:7]
            level1, level2 = l1 or level1, l2 or level2
            cur["indicators"].append({"level1": l1, "level2": l2, "level3": l3, "target": target, "actual": actual,
                                      "weight": _plain(_num(weight or "")), "score": _plain(_num(score or "")),
                                      "deviation_note": None})
    return {"projects": records, "summaries": [], "departments": []}


def flag_nothing(extraction: DocumentExtraction) -> list[Finding]:
    return []


def flag_low_rates(extraction: DocumentExtraction) -> list[Finding]:
    out = []
    for p in extraction.projects:
        f = p.funds
        budget = f.adjusted_budget or f.initial_budget
        if budget is None or f.executed is None or budget.value is None or f.executed.value is None:
            continue
        if budget.value > 0 and f.executed.value < budget.value:
            out.append(Finding(rule_id="R-EXEC-EXPLAIN", severity="warning", unit_id=p.unit_id, doc_id="",
                               project=p.project, message_zh="执行率低于100%（基线）",
                               message_en="execution rate below 100% (baseline)",
                               refs=[f.executed.ref] if f.executed.ref else []))
    return out


__all__ = ["flag_low_rates", "flag_nothing", "naive_read"]
