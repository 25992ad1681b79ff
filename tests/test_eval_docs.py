"""`jixiao eval qa|retrieval --docs DIR --gold …` on a folder the tests generate (eval.forms.generate writes
forms and the extraction gold, from which the Q&A/retrieval gold is written here): the scores are real (a
wrong gold answer lowers them), held-out questions are reported apart, and bad gold fails naming file and field."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval import qa as bench
from eval.forms import generate
from eval.gold_format import GoldError, validate_qa_gold, validate_retrieval_gold

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Three txt forms; per form its file name, first project, score and grade as the generator wrote them."""
    out = tmp_path_factory.mktemp("docs")
    manifest = generate(out, count=3, seed=5, formats=["txt"])
    facts = []
    for form in manifest["forms"]:
        gold = json.loads((out / form["gold"]).read_text("utf-8"))
        rec = gold["extraction"]["projects"][0]
        facts.append({"file": Path(form["files"][0]["path"]).name, "stem": form["stem"], "project": rec["project"],
                      "total": rec["reported_total"], "grade": rec["reported_grade"]})
    return out, facts


def qa_gold(facts: list[dict], wrong_total: bool = False) -> dict:
    qs = []
    for i, f in enumerate(facts):
        total = str(round(float(f["total"]) + 7.13, 2)) if wrong_total and i == 0 else f["total"]
        qs.append({"id": f"s{i}", "kind": "value", "question": f"{f['project']}自评得了多少分？",
                   "expected_value": total, "document": f["file"], "split": "heldout" if i == 0 else "tuning"})
        qs.append({"id": f"g{i}", "kind": "value", "question": f"{f['project']}的评价等级是什么？",
                   "expected_value": f["grade"], "document": f["stem"] + "-txt"})
    qs.append({"id": "r0", "kind": "refuse", "question": "2019年火星基地建设项目的预算是多少？"})
    return {"split": "tuning", "questions": qs}


def cli(*args: str, data: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JIXIAO_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "service.cli", "eval", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_qa_docs_scores_and_a_wrong_gold_lowers_them(folder, tmp_path: Path) -> None:
    docs, facts = folder
    right = bench.run_docs(docs=docs, gold=_write(tmp_path / "right.json", qa_gold(facts)))
    assert right["documents"] == 3
    assert set(right["everyday"]) == {"heldout", "tuning"}  # held-out reported apart
    assert right["everyday"]["heldout"]["system"]["questions"] == 1
    assert right["everyday"]["tuning"]["system"]["questions"] == 6
    assert right["everyday"]["heldout"]["system"]["correct"] == 1.0
    assert right["everyday"]["tuning"]["system"]["correct"] == 1.0
    assert "baseline" in right["everyday"]["tuning"]  # baseline in the same run
    wrong = bench.run_docs(docs=docs, gold=_write(tmp_path / "wrong.json", qa_gold(facts, wrong_total=True)))
    assert wrong["everyday"]["heldout"]["system"]["correct"] == 0.0
    (bad,) = [r for r in wrong["everyday_questions"] if not r["ok"]]
    assert bad["id"] == "s0" and "not in the answer" in bad["reason"]


def test_qa_docs_citation_into_another_document_is_wrong() -> None:
    item = {"id": "x", "kind": "value", "question": "甲项目得分？", "expected_value": "90", "document": "a.txt",
            "document_stem": "a"}
    answer = {"answer": "甲项目得分 90 分[1]", "rows": [],
              "citations": [{"quote": "总分 90", "stem": "a", "doc_id": "1"}]}
    assert bench.score_everyday(item, answer)["ok"]
    answer["citations"][0]["stem"] = "b"
    r = bench.score_everyday(item, answer)
    assert not r["ok"] and "other than 'a.txt'" in r["reason"]


def test_qa_docs_gold_naming_a_missing_file_fails_clearly(folder, tmp_path: Path) -> None:
    docs, facts = folder
    gold = qa_gold(facts)
    gold["questions"][2]["document"] = "no-such-report.pdf"
    path = _write(tmp_path / "missing.json", gold)
    with pytest.raises(GoldError) as exc:
        bench.load_docs_gold(path, docs)
    msg = str(exc.value)
    assert str(path) in msg and "questions[2].document" in msg and "no-such-report.pdf" in msg
    r = cli("qa", "--docs", str(docs), "--gold", str(path), data=tmp_path / "data")
    assert r.returncode != 0 and "questions[2].document" in r.stderr + r.stdout


def test_qa_gold_validation_names_the_field() -> None:
    with pytest.raises(GoldError) as exc:
        validate_qa_gold({"questions": [{"id": "a", "question": "q", "kind": "value"},
                                        {"id": "a", "question": "q", "kind": "maybe", "split": "later"}]}, "f.json")
    msg = str(exc.value)
    assert "f.json: questions[0].expected_value: missing" in msg
    assert "questions[1].id: 'a' used twice" in msg
    assert "questions[1].kind" in msg and "questions[1].split" in msg
    ok = {"questions": [{"id": "a", "question": "q", "kind": "refuse"}]}
    assert validate_qa_gold(ok) is ok


def test_retrieval_gold_validation_names_the_field() -> None:
    with pytest.raises(GoldError) as exc:
        validate_retrieval_gold({"questions": [{"id": "a", "question": "q", "split": "x", "gold": [{"quote": "q"}]}]},
                                "r.json")
    msg = str(exc.value)
    assert "r.json: questions[0].split" in msg and "questions[0].gold[0].document: missing" in msg


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def retrieval_gold(docs: Path, wrong: bool = False) -> dict:
    """One question per unique line of at least 12 characters (up to 3 per document), asked in the line's own
    words; `wrong` points every first question at a unique line of the *next* document instead."""
    from eval import retrieval as rbench

    per_doc = []
    loaded = [(f, rbench.load_document(f)) for f in bench.document_files(docs)]
    # a line printed alike in two documents (a summary table's column header) cannot tell them apart
    seen: dict[str, int] = {}
    for _, d in loaded:
        for text in {ln.text for ln in d.iter_lines()}:
            seen[text] = seen.get(text, 0) + 1
    for f, d in loaded:
        # a unit's title line is carried as the section of the chunks below it, not as a passage of its own
        titles = {u.title for u in rbench.units_for(d)}
        lines = [ln.text for ln in d.iter_lines() if len(ln.text) >= 12 and len(rbench.resolve_quote(d, ln.text)) == 1
                 and seen[ln.text] == 1 and ln.text not in titles]
        per_doc.append((f.name, lines[:3]))
    qs = []
    for n, (name, lines) in enumerate(per_doc):
        for i, text in enumerate(lines):
            target = (per_doc[(n + 1) % len(per_doc)][0], per_doc[(n + 1) % len(per_doc)][1][-1]) if wrong and i == 0 \
                else (name, text)
            qs.append({"id": f"{n}-{i}", "question": text, "split": "test" if i == 0 else "dev",
                       "gold": [{"document": target[0], "quote": target[1]}]})
    return {"questions": qs}


@pytest.mark.slow
def test_retrieval_docs_scores_and_a_wrong_gold_lowers_them(folder, tmp_path: Path) -> None:
    from eval import retrieval as rbench

    docs, _ = folder
    right = {r.system: r for r in rbench.run_docs(docs=docs, gold=_write(tmp_path / "r.json", retrieval_gold(docs)))}
    assert set(right) == {"hybrid", "baseline"}  # the baseline in the same run
    assert set(right["hybrid"].splits) == {"dev", "test"}  # held-out (test) apart
    assert right["hybrid"].recall_at_5 == 1.0 and right["hybrid"].splits["test"]["questions"] == 3
    wrong = {r.system: r for r in rbench.run_docs(docs=docs, gold=_write(tmp_path / "w.json", retrieval_gold(docs, True)))}
    assert wrong["hybrid"].splits["test"]["mrr"] < right["hybrid"].splits["test"]["mrr"]
    assert wrong["hybrid"].splits["dev"] == right["hybrid"].splits["dev"]  # only the corrupted questions moved


def test_retrieval_docs_gold_naming_a_missing_file_or_quote_fails_clearly(folder, tmp_path: Path) -> None:
    from eval import retrieval as rbench

    docs, _ = folder
    gold = retrieval_gold(docs)
    gold["questions"][1]["gold"][0]["document"] = "absent.docx"
    path = _write(tmp_path / "g.json", gold)
    with pytest.raises(GoldError, match=r"g\.json: questions\[1\]\.gold\[0\]\.document: .*absent\.docx.* not found"):
        rbench.load_docs_gold(path, docs)
    gold = retrieval_gold(docs)
    gold["questions"][0]["gold"][0]["quote"] = "这句话不在任何文件里"
    with pytest.raises(GoldError, match="quote not found"):
        rbench.load_docs_gold(_write(tmp_path / "q.json", gold), docs)
    r = cli("retrieval", "--docs", str(docs), "--gold", str(path), data=tmp_path / "data")
    assert r.returncode != 0 and "absent.docx" in r.stderr + r.stdout


def accounts_folder(tmp_path: Path, **change) -> tuple[Path, Path]:
    """A copy of the bundled 部门决算 seed under an evaluator's own file name, and its gold rewritten to name it
    (`document`, no bundled `source`/`stem`), with `change` applied to the gold."""
    docs, gold_dir = tmp_path / "docs", tmp_path / "gold"
    docs.mkdir(parents=True)
    gold_dir.mkdir(parents=True)
    (docs / "我的决算.txt").write_bytes((ROOT / "corpus" / "seeds" / "004_zhongyuan_medsec_accounts.txt").read_bytes())
    gold = json.loads((ROOT / "eval" / "gold" / "accounts" / "004_zhongyuan_medsec_accounts.json").read_text("utf-8"))
    for k in ("stem", "source", "renderings"):
        gold.pop(k)
    gold.update({"document": "我的决算.txt", "split": "heldout", **change})
    _write(gold_dir / "mine.json", gold)
    return docs, gold_dir


@pytest.mark.slow
def test_accounts_docs_scores_and_a_wrong_gold_lowers_them(tmp_path: Path) -> None:
    from eval import accounts as abench

    docs, gold_dir = accounts_folder(tmp_path / "right")
    (right,) = abench.run_docs(docs, gold_dir)
    assert right.split == "heldout" and right.recognized
    assert right.metrics()["value_exact"] == 1.0 and right.metrics()["check_agree"] == 1.0
    gold = json.loads((gold_dir / "mine.json").read_text("utf-8"))
    rows = gold["rows"]
    rows[0] = {**rows[0], "values": {k: "1.23" for k in rows[0]["values"]}}  # a wrong figure
    docs, gold_dir = accounts_folder(tmp_path / "wrong", rows=rows)
    (wrong,) = abench.run_docs(docs, gold_dir)
    assert wrong.metrics()["value_exact"] < 1.0
    assert any("!= 1.23" in m for m in wrong.misses)
    table = abench.report([right], "table")
    assert "heldout" in table.splitlines()[0] + table.splitlines()[1] and "mean (1 files)" in table


def test_accounts_docs_gold_naming_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    from eval import accounts as abench

    docs, gold_dir = accounts_folder(tmp_path, document="其他.pdf")
    with pytest.raises(GoldError, match=r"mine\.json: document: document '其他\.pdf' not found"):
        abench.run_docs(docs, gold_dir)
    docs2, gold_dir2 = accounts_folder(tmp_path / "b", tables={"01": {"rows": "many"}},
                                       checks=[{"check_id": "X", "expected": "ok"}])
    with pytest.raises(GoldError) as exc:
        abench.run_docs(docs2, gold_dir2)
    assert "tables.01.rows" in str(exc.value) and "checks[0].expected" in str(exc.value)
    r = cli("accounts", "--docs", str(docs), "--gold", str(gold_dir), data=tmp_path / "data")
    assert r.returncode != 0 and "其他.pdf" in r.stderr + r.stdout


def test_readme_examples_are_valid_gold_for_the_generated_folder(folder, tmp_path: Path) -> None:
    """eval/README.md's qa, retrieval and accounts examples validate, and the first two resolve against the
    folder the tests generate (same seed as the README's file names)."""
    from eval import retrieval as rbench
    from eval.gold_format import validate_accounts_gold

    docs, facts = folder
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", (ROOT / "eval" / "README.md").read_text("utf-8"), re.S)]
    qa = [b for b in blocks if "questions" in b and "kind" in b["questions"][0]]
    ret = [b for b in blocks if "questions" in b and "gold" in b["questions"][0]]
    acc = [b for b in blocks if "tables" in b]
    assert len(qa) == len(ret) == len(acc) == 1
    assert qa[0]["questions"][0]["expected_value"] == facts[0]["total"]  # the example states the true score
    items = bench.load_docs_gold(_write(tmp_path / "qa.json", qa[0]), docs)
    assert [i["split"] for i in items] == ["heldout", "tuning", "heldout"]
    questions, _ = rbench.load_docs_gold(_write(tmp_path / "r.json", ret[0]), docs)
    assert questions[0].gold[0].span is not None
    validate_accounts_gold(acc[0], "README")


@pytest.mark.slow
def test_init_gold_task_qa_writes_a_valid_uncorrected_skeleton(folder, tmp_path: Path) -> None:
    docs, facts = folder
    doc = next(docs.rglob(facts[0]["file"]))
    r = cli("init-gold", str(doc), "--task", "qa", "--out", str(tmp_path / "g"), data=tmp_path / "data")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "g" / "qa" / f"{doc.stem}.json"
    gold = json.loads(path.read_text("utf-8"))
    validate_qa_gold(gold, str(path))
    assert "NOT YET CORRECTED" in gold["written"] and not (tmp_path / "g" / "extraction").exists()
    first = gold["questions"][0]
    assert first["question"].startswith(facts[0]["project"]) and first["expected_value"] == facts[0]["total"]
    assert first["document"] == doc.name and gold["questions"][-1]["kind"] == "refuse"


def test_the_gold_validator_passes_on_the_committed_gold():
    """eval/gold/validate_gold.py checks quotes, sums and rule ids of the extraction and findings gold; its
    rule ids come from the rulebook (a copied list had gone stale: 12 false errors for rules added later)."""
    r = subprocess.run([sys.executable, str(ROOT / "eval" / "gold" / "validate_gold.py")], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip().endswith("OK"), r.stdout[-2000:]
