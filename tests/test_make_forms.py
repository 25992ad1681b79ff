"""The form generator keeps its promises: deterministic bytes, every format loads, clean gold is arithmetically
consistent, injected errors change what the gold says, placeholders stay out of the gold, the split holds.
(The reader's scores on generated forms are `jixiao eval forms`, a benchmark, not a test.)"""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from eval.forms import FAMILIES, HELDOUT_FAMILIES, SPLIT_OF, TUNING_FAMILIES, generate, make_form
from eval.forms.content import band, make_content, q2
from eval.forms.render import FORMATS, render
from retrieval.loaders import load_bytes

ROOT = Path(__file__).resolve().parent.parent


def test_the_split_is_written_down_and_disjoint():
    text = (ROOT / "eval" / "forms" / "SPLIT.md").read_text(encoding="utf-8")
    assert len(TUNING_FAMILIES) >= 8 and len(HELDOUT_FAMILIES) >= 2
    assert not set(TUNING_FAMILIES) & set(HELDOUT_FAMILIES)
    for name in FAMILIES:
        assert f"| {name} |" in text
    for name in HELDOUT_FAMILIES:
        assert f"| {name} | **held out** |" in text


def test_same_seed_same_bytes(tmp_path):
    a = generate(tmp_path / "a", count=3, seed=5, split="tuning")
    b = generate(tmp_path / "b", count=3, seed=5, split="tuning")
    assert a == b
    for form in a["forms"]:
        for f in form["files"]:
            assert (tmp_path / "a" / f["path"]).read_bytes() == (tmp_path / "b" / f["path"]).read_bytes(), f["path"]
    c = generate(tmp_path / "c", count=3, seed=6, split="tuning")
    assert (tmp_path / "c" / c["forms"][0]["files"][0]["path"]).read_bytes() != \
        (tmp_path / "a" / a["forms"][0]["files"][0]["path"]).read_bytes()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_format_of_every_family_loads(family):
    _, _, made, flatten = make_form(0, 3, family)
    for fmt in FORMATS:
        doc = load_bytes(render(made["sheets"], fmt, flatten), f"form.{'pdf' if 'pdf' in fmt else fmt}",
                         max_bytes=50_000_000)
        text = "".join(ln.text for ln in doc.iter_lines())
        rec = (made["gold"]["extraction"]["projects"] or made["gold"]["extraction"]["departments"])[0]
        assert rec["project"] in text or rec.get("department", "") in text, (family, fmt)


def test_clean_content_follows_the_rulebook():
    import random

    rng = random.Random(1)
    for _ in range(40):
        c = make_content(rng, source_names=("本年财政拨款", "上年结转", "其他资金"))
        assert c.executed <= c.adjusted
        assert c.rate == q2(c.executed / c.adjusted * 100)
        assert sum((s.adjusted for s in c.sources), Decimal(0)) == c.adjusted
        assert sum((s.executed for s in c.sources), Decimal(0)) == c.executed
        assert c.exec_weight + sum((i.weight for i in c.indicators), Decimal(0)) == 100
        assert c.total == q2(c.exec_score + sum((i.score for i in c.indicators), Decimal(0)))
        assert c.grade == band(c.total)
        for ind in c.indicators:
            if ind.met:
                assert ind.score == ind.weight
            else:
                assert ind.score < ind.weight and ind.note  # a shortfall is scored down and explained


def test_injected_errors_are_in_the_gold_findings(tmp_path):
    m = generate(tmp_path, count=40, seed=9, split="tuning")
    injected = [f for f in m["forms"] if f["injected"]]
    clean = [f for f in m["forms"] if not f["injected"]]
    assert injected and clean
    for f in injected:
        gold = json.loads((tmp_path / f["gold"]).read_text(encoding="utf-8"))
        units = gold["findings"]["units"]
        assert units[0]["expected"] and not units[0]["consistent"]
    for f in clean:
        gold = json.loads((tmp_path / f["gold"]).read_text(encoding="utf-8"))
        assert all(u["consistent"] and not u["expected"] for u in gold["findings"]["units"])
    # a wrong total is a total that does not add up
    for f in injected:
        if "total_wrong" in f["injected"]:
            gold = json.loads((tmp_path / f["gold"]).read_text(encoding="utf-8"))
            p = gold["extraction"]["projects"][0]
            parts = sum(Decimal(i["score"]) for i in p["indicators"]) + Decimal(p["funds"]["exec_score"] or 0)
            assert abs(Decimal(p["reported_total"]) - parts) >= 2


def test_placeholder_rows_are_in_the_form_not_in_the_gold(tmp_path):
    m = generate(tmp_path, count=12, seed=4, families=["direction"], formats=["txt"])
    texts = [(tmp_path / f["files"][0]["path"]).read_text(encoding="utf-8") for f in m["forms"]]
    assert any("指标1" in t or "……" in t or "主要填写" in t for t in texts)
    for f in m["forms"]:
        gold = json.loads((tmp_path / f["gold"]).read_text(encoding="utf-8"))
        names = [i["level3"] for p in gold["extraction"]["projects"] for i in p["indicators"]]
        assert not any(n.startswith("指标1") or n in ("……", "（主要填写…）") for n in names)


def test_split_filters_families(tmp_path):
    m = generate(tmp_path, count=4, seed=2, split="heldout", formats=["txt"])
    assert {f["family"] for f in m["forms"]} <= set(HELDOUT_FAMILIES)
    assert all(f["split"] == "heldout" == SPLIT_OF[f["family"]] for f in m["forms"])


def test_the_command_line_writes_a_manifest(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_forms.py"), "--out", str(tmp_path),
                          "--count", "2", "--seed", "3", "--formats", "txt,xlsx"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "2 forms, 4 files" in res.stdout
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["forms"]) == 2


def test_an_empty_actual_scored_in_full_is_read_and_flagged_in_every_format():
    """The generator's empty_actual_full injection (an own random stream, so earlier forms are unchanged) leaves
    one full-scored indicator's 实际完成值 blank; reading the rendered form and checking it raises R-EMPTY-VALUE,
    and the same form without the injection raises nothing under that rule."""
    import random

    from eval.forms import FAMILIES
    from eval.forms.content import inject_extra
    from eval.forms.layout import layout
    from service.checks.engine import run_checks
    from service.extraction import extract_document
    from service.settings import Settings

    family = next(k for k, (spec, _) in FAMILIES.items()
                  if {"actual", "score", "weight"} <= {f for f, _ in spec.indicators} and k in TUNING_FAMILIES)
    spec, kwargs = FAMILIES[family]
    for fmt in ("txt", "xlsx", "docx"):
        rng = random.Random(f"empty-{fmt}")
        c = make_content(rng, problems=spec.problems, level1_names=spec.level1_names,
                         categories=spec.categories or kwargs.get("categories"),
                         **{k: v for k, v in kwargs.items() if k != "categories"})
        clean = render(layout([c], spec, random.Random(1)), fmt)
        inj = inject_extra(c, "empty_actual_full", rng)
        assert inj is not None and inj.rules[0][0] == "R-EMPTY-VALUE"
        blanked = render(layout([c], spec, random.Random(1)), fmt)
        rules = []
        for data in (clean, blanked):
            doc = load_bytes(data, f"form.{fmt}", Settings(_env_file=None))
            ex = extract_document(doc, Settings(_env_file=None), backend="rules")
            assert ex.projects, fmt
            rules.append([f.rule_id for f in run_checks(ex, doc)])
        assert "R-EMPTY-VALUE" not in rules[0], fmt
        assert rules[1].count("R-EMPTY-VALUE") == 1, (fmt, rules[1])


@pytest.mark.parametrize("name,rule", [("zero_spend", "R-ZERO-SPEND"), ("exec_score_over_weight", "R-EXEC-SCORE"),
                                       ("total_row_zero", "R-EXEC-ROWS"), ("template_left", "R-TEMPLATE-TEXT"),
                                       ("project_dup", "R-PROJECT-DUP"), ("threshold_below", "R-EXEC-EXPLAIN"),
                                       ("threshold_between", None), ("category_weight", "R-CATEGORY-WEIGHT")])
def test_the_reviewer_checks_injections_are_read_and_flagged(name, rule):
    """Each injection for the reviewer's checks (a third random stream), rendered as XLSX and as text, read back
    and checked: its rule fires once at the gold's severity and no other warning appears; the same content
    without the injection raises nothing at warning level. threshold_between (a rate under 90% but above the
    threshold the form states) must raise nothing: a checker that always assumed 90% would flag it."""
    import random

    from eval.forms.content import inject_extra2
    from eval.forms.layout import layout
    from service.checks.engine import run_checks
    from service.extraction import extract_document
    from service.settings import Settings

    settings = Settings(_env_file=None)
    found = False
    for family in TUNING_FAMILIES:
        spec, kwargs = FAMILIES[family]
        if spec.kind != "project" and name in ("zero_spend", "project_dup"):
            continue
        for attempt in range(6):
            rng = random.Random(f"{name}-{family}-{attempt}")
            n = 2 if name == "project_dup" else 1
            contents = [make_content(rng, problems=spec.problems, level1_names=spec.level1_names,
                                     categories=spec.categories or kwargs.get("categories"),
                                     **{k: v for k, v in kwargs.items() if k != "categories"}) for _ in range(n)]
            if n == 2 and contents[1].project == contents[0].project:
                continue
            clean = layout(contents, spec, random.Random(1))
            inj = inject_extra2(contents, name, rng, funds_fields={f for f, _ in spec.funds or ()},
                                has_problems_field=spec.problems, has_goals=spec.goals,
                                n_source_rows=min(len(spec.sources), len(contents[0].sources)),
                                category_headers=spec.level1_points)
            if inj is None:
                continue
            assert [r[0] for r in inj.rules] == ([rule] if rule else [])
            injected = layout(contents, spec, random.Random(1))
            for fmt in ("xlsx", "txt"):
                got = []
                for sheets in (clean, injected):
                    doc = load_bytes(render(sheets, fmt), f"form.{fmt}", settings)
                    ex = extract_document(doc, settings, backend="rules")
                    got.append([(f.rule_id, f.severity) for f in run_checks(ex, doc) if f.severity != "info"])
                assert got[0] == [], (family, fmt, got[0])
                assert got[1] == ([(rule, inj.rules[0][1])] if rule else []), (family, fmt, got[1])
            found = True
            break
        if found:
            break
    assert found, f"no tuning family could carry {name}"


@pytest.mark.parametrize("name,rule,severity,sheet", [("summary_dup", "R-SUMMARY-DUP", "warning", "汇总表"),
                                                      ("summary_wrong", "R-SUMMARY", "error", "汇总表"),
                                                      ("accounts_project", "R-ACCOUNTS-PROJECT", "warning", "部门决算"),
                                                      ("accounts_dept", "R-ACCOUNTS-DEPT", "warning", "部门决算")])
def test_a_summary_or_accounts_table_is_read_in_every_flattening_and_its_injected_error_flagged(name, rule, severity,
                                                                                               sheet):
    """A file opening with a 项目自评汇总表 or a 部门决算 支出决算表 before its forms (generated, a tuning family):
    read from XLSX, DOCX and text in all four flattenings (one cell per line included), its injected error raises
    exactly its rule at the gold's severity, and the clean table of another file raises nothing at warning level."""
    from service.checks.engine import run_checks
    from service.extraction import extract_document
    from service.settings import Settings
    from eval.forms.render import FLATTEN

    settings = Settings(_env_file=None)
    hit = clean = None
    for i in range(400):
        family = TUNING_FAMILIES[i % len(TUNING_FAMILIES)]
        _, inj, made, _ = make_form(i, 7, family)
        if made["sheets"][0].name != sheet:
            continue
        names = [x.name for x in inj]
        if hit is None and names == [name]:
            hit = made
        elif clean is None and not names:
            clean = made
        if hit and clean:
            break
    assert hit is not None and clean is not None
    for made, want in ((hit, [(rule, severity)]), (clean, [])):
        for fmt, flat in [("xlsx", "tab"), ("docx", "tab")] + [("txt", f) for f in FLATTEN]:
            data = render(made["sheets"], fmt, flat)
            doc = load_bytes(data, f"form.{fmt}", settings)
            ex = extract_document(doc, settings, backend="rules")
            if sheet == "汇总表":
                assert ex.summaries and len(ex.summaries[0].rows) >= 2, (fmt, flat)
            else:
                from service.accounts import extract_accounts

                acc = extract_accounts(doc)
                assert acc is not None and acc.tables[0].table_id == "03", (fmt, flat)
            got = [(f.rule_id, f.severity) for f in run_checks(ex, doc) if f.severity != "info"]
            assert got == want, (fmt, flat, got)
