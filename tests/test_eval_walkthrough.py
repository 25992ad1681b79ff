"""eval/README.md's walkthrough, run step by step exactly as written (the shell blocks are read from the
README, so the document and the test cannot drift apart): make a form, init-gold, correct one field, eval."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "eval" / "README.md"


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def run(block: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "JIXIAO_DATA_DIR": str(cwd / "data")}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_walkthrough_as_written(tmp_path: Path) -> None:
    setup, score = shell_blocks()
    r = run(setup, tmp_path)
    assert r.returncode == 0, r.stderr
    (doc,) = sorted((tmp_path / "mydocs").iterdir())
    gold_path = tmp_path / "mygold" / "extraction" / f"{doc.stem}.json"
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    assert gold["document"] == doc.name and gold["split"] == "heldout" and gold["projects"]
    assert (tmp_path / "mygold" / "findings" / f"{doc.stem}.json").exists()
    read_total = gold["projects"][0]["reported_total"]
    assert read_total not in (None, "88.50")

    # the uncorrected skeleton scores 100% (the README says so): nothing to learn from it yet
    r = run(score, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "numeric_exact=1.0000" in r.stdout and "held-out gold (written before tuning)" in r.stdout
    assert "baseline (naive positional reader" in r.stdout and "baseline, flag nothing" in r.stdout

    # step 2: the person's correction of one field
    gold["projects"][0]["reported_total"] = "88.50"
    gold["method"] = "Checked the total against the printed 总分 by hand."
    gold_path.write_text(json.dumps(gold, ensure_ascii=False, indent=1), encoding="utf-8")
    r = run(score, tmp_path)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("reported_total"))
    tp, fp, fn = (int(v) for v in line.split()[1:4])
    assert (tp, fn) == (0, 1), line
    assert "numeric_exact=1.0000" not in r.stdout.split("\n\n")[0]

    js = subprocess.run([sys.executable, "-m", "service.cli", "eval", "extraction", "--docs", "mydocs", "--gold",
                         "mygold/extraction", "--format", "json"], cwd=tmp_path, capture_output=True, text=True,
                        timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert js.returncode == 0, js.stderr
    misses = json.loads(js.stdout)["documents"][doc.stem]["misses"]
    assert any("reported_total" in json.dumps(m, ensure_ascii=False) and "88.50" in json.dumps(m, ensure_ascii=False)
               for m in misses), misses


def test_bad_gold_names_file_and_field(tmp_path: Path) -> None:
    docs, gold = tmp_path / "docs", tmp_path / "gold"
    docs.mkdir()
    gold.mkdir()
    (docs / "a.txt").write_text("项目名称：测试项目\n", encoding="utf-8")
    (gold / "a.json").write_text(json.dumps({
        "document": "a.txt", "split": "later",
        "projects": [{"project": "测试项目", "reported_totl": "90", "funds": {"executed": "92,5"},
                      "indicators": [{"level3": "x", "score": "满分"}]}]}), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "service.cli", "eval", "extraction", "--docs", str(docs), "--gold",
                        str(gold)], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode != 0
    err = r.stderr + r.stdout
    for needle in ("a.json: split: 'later'", "a.json: projects[0].reported_totl: unknown field",
                   "a.json: projects[0].funds.executed: '92,5' is not a number",
                   "a.json: projects[0].indicators[0].score: '满分' is not a number"):
        assert needle in err, err
    (gold / "a.json").write_text(json.dumps({"document": "missing.txt", "projects": []}), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "service.cli", "eval", "extraction", "--docs", str(docs), "--gold",
                        str(gold)], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode != 0 and "missing.txt" in r.stderr + r.stdout
