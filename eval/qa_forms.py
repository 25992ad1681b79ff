"""Q&A on documents it never saw: generated forms (eval/forms) of every template family, in four formats, with
questions made from templates and answers from the generator's own record of what each form says.

The bundled paraphrase sets (eval/gold/qa_bench*.json) ask about five reports whose names and figures the Q&A
was tuned on. Here the projects, amounts, scores and grades are drawn anew for each seed, so a rule that only
knows the bundled reports' names cannot pass. Every question comes in three wordings: the full name, the name
shortened the way people shorten it (generic tail and bracketed qualifier dropped), and English around the
Chinese name. Questions about forms of a held-out family (eval/forms/SPLIT.md) are reported apart; questions
over the whole corpus (lists, counts, rankings) as split "corpus".

    jixiao eval qa --forms [--count 60] [--seed 7]

The question templates were written before this benchmark was first run; the gold is the generator's.
"""
from __future__ import annotations

import json
import random
import re
import tempfile
from decimal import Decimal
from pathlib import Path

from eval.forms import SPLIT_OF, generate

FORMATS = ("txt", "xlsx", "docx", "pdf_ruled", "pdf_plain")
_TAIL = re.compile(r"(?:专项资金|专项经费|项目经费|补助资金|补贴资金|工作经费|资金|经费|项目)$")
_BRACKET = re.compile(r"[（(][^）)]*[）)]")
# names no generator pool holds (checked against the corpus before use)
_FAKE = ["智慧停车场建设专项资金", "古树名木保护经费", "城市内涝监测预警项目", "非遗传承人补贴资金", "海绵城市试点补助资金"]


def shorten(name: str) -> str:
    """What a person keeps of a project's name: no bracketed qualifier, no generic tail."""
    s = _BRACKET.sub("", name)
    t = _TAIL.sub("", s)
    return t if len(t) >= 4 else s


def _num(x: str | None) -> Decimal | None:
    try:
        return Decimal(x) if x not in (None, "") else None
    except Exception:  # noqa: BLE001 - a malformed gold figure is no question
        return None


def _fmt(x: Decimal) -> str:
    s = format(x, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _projects(out: Path, manifest: dict) -> list[dict]:
    """Every project record of the chosen forms, with the file it is in and its family's split."""
    recs = []
    for i, form in enumerate(manifest["forms"]):
        gold = json.loads((out / form["gold"]).read_text("utf-8"))
        f = form["files"][i % len(form["files"])]
        for r in gold["extraction"]["projects"]:
            funds = r.get("funds") or {}
            recs.append({"name": r["project"], "year": r.get("year"), "file": f["path"], "format": f["format"],
                         "family": form["family"], "split": SPLIT_OF[form["family"]],
                         "budget": _num(funds.get("adjusted_budget")), "executed": _num(funds.get("executed")),
                         # in 万元 whatever the form printed: amounts of forms in 元 and in 万元 are ranked together
                         "budget_wan": _num(funds.get("adjusted_budget")) / (10000 if funds.get("unit") == "元" else 1)
                         if _num(funds.get("adjusted_budget")) is not None else None,
                         "total": _num(r.get("reported_total")), "grade": r.get("reported_grade")})
    return recs


def build(out_dir: Path, *, count: int = 40, seed: int = 7) -> tuple[list[Path], list[dict]]:
    """Generate the forms (one format each, rotating) and the questions; returns the files and the items."""
    out = Path(out_dir)
    manifest = generate(out, count=count, seed=seed, formats=list(FORMATS))
    recs = _projects(out, manifest)
    files = sorted({out / r["file"] for r in recs} | {out / f["files"][i % len(f["files"])]["path"]
                                                       for i, f in enumerate(manifest["forms"])})
    names = [r["name"] for r in recs]
    # a name asked about must be one project's: the generator's pools repeat names across forms
    unique = [r for r in recs if names.count(r["name"]) == 1
              and sum(shorten(r["name"]) in n for n in names) == 1]
    rng = random.Random(seed)
    items: list[dict] = []

    def add(group: str, op: str, split: str, questions: list[str], **gold) -> None:
        for k, q in enumerate(questions):
            items.append({"id": f"{group}{'abc'[k]}", "group": group, "kind": gold.pop("kind", "value") if k == 0 else
                          items[-1]["kind"], "op": op, "lang": "en" if q[:1].isascii() else "zh", "question": q,
                          "split": split, **gold})

    templates = {
        "budget": ["{n}的全年预算数是多少？", "{s}安排了多少预算", "What was the budget of {n}?"],
        "executed": ["{n}实际执行了多少？", "{s}花了多少钱", "How much of {n} was spent?"],
        "total": ["{n}的自评得分是多少？", "{s}得了几分", "What self-evaluation score did {n} get?"],
        "grade": ["{n}的评价等级是什么？", "{s}评了什么等级", "What grade did {n} receive?"],
        "two_part": ["{n}的预算和执行数分别是多少？", "{s}预算多少，实际花了多少", "What were the budget and the spending of {n}?"],
    }
    g = 0
    for r in unique:
        asks = [m for m in ("budget", "executed", "total", "grade", "two_part")
                if (m == "two_part" and r["budget"] is not None and r["executed"] is not None)
                or (m == "grade" and r["grade"]) or (m not in ("two_part", "grade") and r[m] is not None)]
        if not asks:
            continue
        for m in rng.sample(asks, min(2, len(asks))):
            g += 1
            value = (f"{_fmt(r['budget'])}; {_fmt(r['executed'])}" if m == "two_part" else
                     r["grade"] if m == "grade" else _fmt(r[m]))
            add(f"f{g:03d}", "two_part" if m == "two_part" else "lookup", r["split"],
                [t.format(n=r["name"], s=shorten(r["name"])) for t in templates[m]],
                expected_value=value, expected_projects=None,
                why=f"{r['file']}: {r['name']} {m} = {value} (generator gold)")
    # over the whole corpus: a threshold list, a grade count, a ranking, and names nobody holds
    with_rate = [r for r in recs if r["budget"] and r["executed"] is not None]
    if with_rate:
        t = 90
        low = sorted({r["name"] for r in with_rate if r["executed"] / r["budget"] * 100 < t})
        if low and len(low) == len([r for r in with_rate if r["executed"] / r["budget"] * 100 < t]):
            g += 1
            add(f"f{g:03d}", "filter", "corpus", [f"执行率低于{t}%的项目有哪些？", f"哪些项目预算执行率不到{t}%",
                                                f"Which projects have an execution rate below {t}%?"],
                expected_value="", expected_projects=low, why=f"executed ÷ adjusted budget < {t}% (generator gold)")
    graded = [r for r in recs if r["grade"]]
    for grade in ("良", "中"):
        n = sum(1 for r in graded if r["grade"] == grade)
        if n:
            g += 1
            add(f"f{g:03d}", "count", "corpus", [f"评价等级为{grade}的项目有几个？", f"自评等级是{grade}的项目有多少个",
                                               f"How many projects were graded {grade}?"],
                expected_value=str(n), expected_projects=None, why=f"{n} forms graded {grade} (generator gold)")
    budgets = sorted((r for r in recs if r["budget"] is not None), key=lambda r: -r["budget_wan"])
    if len(budgets) >= 4 and budgets[2]["budget_wan"] != budgets[3]["budget_wan"] and all(
            names.count(r["name"]) == 1 for r in budgets[:3]):
        g += 1
        add(f"f{g:03d}", "rank", "corpus", ["全年预算数最高的3个项目", "预算最多的三个项目是哪些",
                                          "Which three projects had the largest budgets?"],
            expected_value="; ".join(_fmt(r["budget"]) for r in budgets[:3]),
            expected_projects=[r["name"] for r in budgets[:3]], why="top three adjusted budgets (generator gold)")
    for fake in _FAKE:
        if any(shorten(fake) in n for n in names):
            continue
        g += 1
        add(f"f{g:03d}", "out_of_scope", "corpus", [f"{fake}的预算是多少？", f"{shorten(fake)}的自评得分",
                                                  f"What was the budget of {fake}?"], kind="refuse",
            must_mention=None, why="no generated form holds this name")
    return files, items


def run(settings=None, *, count: int = 40, seed: int = 7, llm=None) -> dict:
    from eval import qa as bench

    with tempfile.TemporaryDirectory(prefix="jixiao-qa-forms-") as tmp:
        files, items = build(Path(tmp) / "forms", count=count, seed=seed)
        report = bench.run(settings, rendering="generated forms", llm=llm, items=[], everyday=items, files=files)
    report["seed"], report["count"] = seed, count
    return report
