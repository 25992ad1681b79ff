"""Generated self-evaluation forms for the reader's generalisation benchmark (`jixiao eval forms`).

    generate(out_dir, count=300, seed=2026, split="all", families=None, formats=None) -> manifest dict

Deterministic from the seed: the same call writes the same bytes. Each form is one template family's layout
of freshly drawn content (eval/forms/content.py), rendered in every format, with one gold file (the
extraction the form was made from, and the findings its injected errors must raise). The families and their
split are in families.py / families_heldout.py and SPLIT.md.
"""
from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

from eval.forms.content import (EXTRA2_INJECTIONS, EXTRA_INJECTIONS, INJECTIONS, Content, inject, inject_extra,
                                inject_extra2, make_content)
from eval.forms.families import TUNING
from eval.forms.families_heldout import HELDOUT
from eval.forms.layout import (FamilySpec, accounts_rows, accounts_sheet, gold_record, layout, summary_row,
                               summary_sheet)
from eval.forms.render import FLATTEN, FORMATS, SUFFIX, render

FAMILIES: dict[str, tuple[FamilySpec, dict]] = {**TUNING, **HELDOUT}
SPLIT_OF = {**{k: "tuning" for k in TUNING}, **{k: "heldout" for k in HELDOUT}}
INJECT_SHARE = 0.4
EXTRA_SHARE = 0.15  # of the forms left clean by INJECT_SHARE
SUMMARY_SHARE = 0.5
ACCOUNTS_SHARE = 0.3
EXTRA2_SHARE = 0.6  # of the forms left clean by both: enough of each new check to measure its recall


def families_for(split: str, names: list[str] | None = None) -> list[str]:
    chosen = [k for k in FAMILIES if split == "all" or SPLIT_OF[k] == split]
    if names:
        unknown = set(names) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown families: {', '.join(sorted(unknown))}; known: {', '.join(FAMILIES)}")
        chosen = [k for k in chosen if k in names]
    return chosen


def make_form(index: int, seed: int, family: str, *, tables: bool = True) -> tuple[list[Content], list, dict, str]:
    """(contents, injections, gold, flatten style) of form number `index`: a function of (seed, index, family).
    tables=False leaves out what the reviewer's checks added (the third injection stream, the summary table and
    the 部门决算 before the forms): the forms exactly as they were before them (the prompt's few-shot examples)."""
    spec, kwargs = FAMILIES[family]
    rng = random.Random(f"{seed}:{index}:{family}")
    multi = spec.kind == "project" and rng.random() < 0.25
    has_note = any(f == "note" for f, _ in spec.indicators + spec.extra_cols)
    n = rng.choice([2, 3]) if multi else 1
    contents = []
    names: set[str] = set()
    for _ in range(n):
        low = spec.problems and rng.random() < 0.15
        for _attempt in range(10):
            c = make_content(rng, low_rate=low, problems=spec.problems, level1_names=spec.level1_names,
                             allow_miss=has_note,
                             categories=spec.categories or kwargs.get("categories"),
                             **{k: v for k, v in kwargs.items() if k != "categories"})
            if (c.project if spec.kind == "project" else c.department) not in names:
                break
        names.add(c.project if spec.kind == "project" else c.department)
        contents.append(c)
    injections = []
    if rng.random() < INJECT_SHARE:
        target = contents[0]
        wanted = rng.choice([1, 1, 2])
        for name in rng.sample(INJECTIONS, len(INJECTIONS)):
            if len(injections) >= wanted:
                break
            if injections and _conflicts(injections[0].name, name):
                continue
            inj = inject(target, name, rng, has_narrative=spec.narrative, has_problems_field=spec.problems,
                         category_headers=spec.level1_points, has_note_column=has_note,
                         has_funds=spec.funds is not None)
            if inj is not None:
                injections.append(inj)
    fields = {f for f, _ in spec.indicators}
    extra = random.Random(f"{seed}:{index}:{family}:extra")  # its own stream: earlier forms stay as they were
    if not injections and {"actual", "score", "weight"} <= fields and extra.random() < EXTRA_SHARE:
        for name in extra.sample(EXTRA_INJECTIONS, len(EXTRA_INJECTIONS)):
            inj = inject_extra(contents[0], name, extra)
            if inj is not None:
                injections.append(inj)
                break
    extra2 = random.Random(f"{seed}:{index}:{family}:extra2")  # a third stream, for the same reason
    # a file of several project forms opens with their summary table half the time (its own stream: the
    # forms' contents and layout draws are unchanged)
    summary_rng = random.Random(f"{seed}:{index}:{family}:summary")
    has_summary = (tables and spec.kind == "project" and len(contents) > 1 and spec.total != "none"
                   and all(c.total is not None for c in contents) and summary_rng.random() < SUMMARY_SHARE)
    # and a 部门决算 支出决算表 before the forms some of the time (its own stream too)
    accounts_rng = random.Random(f"{seed}:{index}:{family}:accounts")
    has_accounts = (tables and "executed" in {f for f, _ in spec.funds or ()}
                    and accounts_rng.random() < ACCOUNTS_SHARE)
    if tables and not injections and extra2.random() < EXTRA2_SHARE:
        funds_fields = {f for f, _ in spec.funds or ()}
        for name in extra2.sample(EXTRA2_INJECTIONS, len(EXTRA2_INJECTIONS)):
            inj = inject_extra2(contents, name, extra2, funds_fields=funds_fields, has_problems_field=spec.problems,
                                has_goals=spec.goals, n_source_rows=min(len(spec.sources), len(contents[0].sources)),
                                has_summary=has_summary, has_accounts=has_accounts,
                                category_headers=spec.level1_points)
            if inj is not None:
                injections.append(inj)
                break
    sheets = layout(contents, spec, rng)
    if has_summary:
        rows = [summary_row(c) for c in contents]
        for inj in injections:
            apply_summary_injection(rows, inj.name, summary_rng,
                                    has_executed="executed" in {f for f, _ in spec.funds or ()})
        sheets.insert(0, summary_sheet(rows, contents[0].year, summary_rng))
    if has_accounts and len({c.project for c in contents}) == len(contents):
        arows = accounts_rows(contents, accounts_rng)
        if any(i.name in ("accounts_project", "accounts_dept") for i in injections):
            item = next(r for r in arows if r[1] == contents[0].project)
            # a department's accounts only below its form (above it would be a narrower scope: info)
            choices = [0.5, 0.7, 0.85, 1.1] if contents[0].kind == "project" else [0.5, 0.7, 0.85]
            factor = Decimal(str(accounts_rng.choice(choices)))
            item[3] = (item[3] * factor).quantize(Decimal("0.01"))
        sheets.insert(0, accounts_sheet(contents, arows))
    flatten = rng.choice(FLATTEN)
    stem = f"{family}-{seed}-{index:04d}"
    gold = _gold(stem, family, spec, contents, injections)
    return contents, injections, {"sheets": sheets, "gold": gold}, flatten


def apply_summary_injection(rows: list, name: str, rng: random.Random, *, has_executed: bool = True) -> None:
    """summary_dup: the first project listed a second time (at the end) with another score; summary_wrong: its
    row prints a score or an executed amount its own form does not."""
    from copy import copy

    from eval.forms.content import band
    first = rows[0]
    delta = Decimal(rng.choice([2, 3, 4, 5])) * (1 if first.score <= 90 else -1)
    if name == "summary_dup":
        again = copy(first)
        again.score = first.score + delta
        again.grade = band(again.score)
        rows.append(again)
    elif name == "summary_wrong":
        if rng.random() < 0.5 or not has_executed:  # a form without a funds block has no amount to contradict
            first.score = first.score + delta
        else:
            step = Decimal(1) if first.unit == "元" else Decimal("0.01")
            first.executed = first.executed - (first.budget * Decimal("0.03")).quantize(step)
            first.rate = (first.executed / first.budget * 100).quantize(Decimal("0.01"))


def _conflicts(a: str, b: str) -> bool:
    """Two injections that change the same figures would blur which rule each must raise."""
    groups = [{"rate_wrong", "exec_over", "exec_score_high", "exec_explain", "rows_mismatch", "narr_rate", "narr_amount"},
              {"total_wrong", "grade_wrong", "narr_total", "narr_grade", "category_sum", "weight_l1", "quant_pos_full",
               "quant_neg_full", "quant_eq_full", "deviation_missing", "exec_over", "exec_score_high", "exec_explain"},
              # unit_magnitude replaces a cost row, which may be the one quant_neg_full changed
              {"quant_neg_full", "unit_magnitude"}]
    return any(a in g and b in g for g in groups)


def _gold(stem: str, family: str, spec: FamilySpec, contents: list[Content], injections: list) -> dict:
    records = [gold_record(c, spec) for c in contents]
    units = []
    for k, (c, rec) in enumerate(zip(contents, records)):
        expected = []
        if k == 0:
            for inj in injections:
                for rule_id, severity, why in inj.rules:
                    if not any(e["rule_id"] == rule_id for e in expected):
                        expected.append({"rule_id": rule_id, "severity": severity, "why": why})
        units.append({"project": rec["project"], "expected": expected, "consistent": not expected})
    extraction = {"projects": records, "departments": []} if spec.kind == "project" else \
        {"projects": [], "departments": [{**r, "department": r["project"]} for r in records]}
    return {
        "stem": stem, "family": family, "split": SPLIT_OF[family], "format_independent": True,
        "extraction": extraction,
        "findings": {"stem": stem, "method": "generated: expected findings are the injected errors' consequences, "
                     "decided from docs/RULEBOOK.md formulas by eval/forms/content.py (not by service/checks)",
                     "units": units},
        "injected": [i.name for i in injections],
    }


def generate(out_dir: str | Path, count: int = 300, seed: int = 2026, split: str = "all",
             families: list[str] | None = None, formats: list[str] | None = None) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gold").mkdir(exist_ok=True)
    names = families_for(split, families)
    fmts = list(formats or FORMATS)
    manifest = {"seed": seed, "count": count, "split": split, "families": names, "formats": fmts, "forms": []}
    for i in range(count):
        family = names[i % len(names)]
        _, injections, made, flatten = make_form(i, seed, family)
        gold = made["gold"]
        stem = gold["stem"]
        (out / "gold" / f"{stem}.json").write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")
        files = []
        for fmt in fmts:
            rel = Path(family) / f"{stem}-{fmt}{SUFFIX[fmt]}"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(render(made["sheets"], fmt, flatten))
            files.append({"format": fmt, "path": rel.as_posix(), **({"flatten": flatten} if fmt == "txt" else {})})
        manifest["forms"].append({"stem": stem, "family": family, "split": SPLIT_OF[family],
                                  "gold": f"gold/{stem}.json", "injected": gold["injected"], "files": files})
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


TUNING_FAMILIES = list(TUNING)
HELDOUT_FAMILIES = list(HELDOUT)

__all__ = ["FAMILIES", "FORMATS", "HELDOUT_FAMILIES", "SPLIT_OF", "TUNING_FAMILIES", "families_for", "generate",
           "make_form"]
