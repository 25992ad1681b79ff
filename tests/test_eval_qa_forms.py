"""Q&A on generated forms (eval/qa_forms.py): the questions' gold is the generator's, asked in three
wordings about names the Q&A never saw; names nobody holds are refused."""
from __future__ import annotations

from pathlib import Path

from eval.qa_forms import build, run, shorten


def test_shortened_names_drop_generic_tails_and_qualifiers():
    assert shorten("妇幼健康服务项目经费") == "妇幼健康服务"
    assert shorten("基层党建工作经费（专项）") == "基层党建"
    assert shorten("就业专项资金") == "就业专项资金"  # too short once shortened: kept whole


def test_items_come_in_three_wordings_with_gold_from_the_generator(tmp_path: Path):
    files, items = build(tmp_path / "forms", count=12, seed=3)
    assert files and all(f.exists() for f in files)
    groups: dict[str, list[dict]] = {}
    for it in items:
        groups.setdefault(it["group"], []).append(it)
    assert all(len(g) == 3 for g in groups.values())
    assert {it["lang"] for it in items} == {"zh", "en"}
    assert any(it["kind"] == "refuse" for it in items) and any(it["op"] == "lookup" for it in items)
    # a lookup's figure is printed in the form it asks about (the generator's record of what the form says)
    texts = {f.stem: f.read_text("utf-8") for f in files if f.suffix == ".txt"}
    checked = 0
    for it in items:
        if it["op"] == "lookup" and it["kind"] == "value":
            stem = Path(it["why"].split(":")[0]).stem
            if stem in texts and it["expected_value"] not in ("优", "良", "中", "差"):
                body = texts[stem].replace(",", "")
                assert it["expected_value"].rstrip("0").rstrip(".") in body, (it["why"], it["expected_value"])
                checked += 1
    assert checked


def test_the_benchmark_answers_generated_forms_and_beats_retrieval_alone():
    report = run(count=10, seed=5)
    every = report["everyday"]
    asked = sum(v["system"]["questions"] for v in every.values())
    right = sum(v["system"]["correct"] * v["system"]["questions"] for v in every.values())
    base = sum(v["baseline"]["correct"] * v["baseline"]["questions"] for v in every.values())
    assert asked >= 20 and right / asked >= 0.9 and right > base, (right, base, asked)
