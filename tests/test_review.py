"""Review drafts (审核意见): seed 003 in Markdown, DOCX and XLSX, read back and checked for the findings
and their citations; the optional model summary kept only when its numbers check out; the CLI commands."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from retrieval.loaders import load_path
from service.checks import run_checks
from service.cli import app
from service.extraction import extract_document
from service.review import attach_summary, build_review, render
from service.review.llm_summary import check_numbers, numbers_in

ROOT = Path(__file__).resolve().parents[1]
SEED_003 = ROOT / "corpus" / "seeds" / "003_gaoxin_hrss_selfeval.txt"
NAME = "003_gaoxin_hrss_selfeval.txt"


@pytest.fixture(scope="module")
def seed003():
    doc = load_path(SEED_003, max_bytes=10**8)
    ex = extract_document(doc, None)
    return doc, ex, run_checks(ex, doc)


@pytest.fixture(scope="module")
def review003(seed003):
    doc, ex, fs = seed003
    return build_review(ex, fs, document=NAME)


def _startup(fs):
    return next(f for f in fs if f.project == "创业扶持资金" and f.rule_id == "R-EXEC-SCORE")


def test_markdown_draft_of_003(seed003, review003):
    md = render(review003, "md").decode("utf-8")
    assert md.startswith("# 审核意见（草稿）")
    assert "## 项目：创业扶持资金" in md and "## 项目：被征地农民社会保障费" in md
    assert "`hebei-headers-50/30/10/10`" in md
    # funds and scores as reported vs recomputed
    assert "| 预算执行率 Execution rate | 52.73% | 52.73% |" in md
    assert "| 预算执行得分（分值10） Execution score (weight 10) | 10 | 5.27 ⚠ |" in md
    # findings grouped by severity, with citations (document, page, lines, quote)
    section = md.split("## 项目：创业扶持资金", 1)[1].split("\n## ", 1)[0]
    assert section.index("#### 错误 Errors") < section.index("#### 警告 Warnings")
    f = _startup(seed003[2])
    ref = f.refs[0]
    assert f"《{NAME}》第{ref.page}页第{ref.line_start}" in section and ref.quote.split("\t")[0] in section
    # the report's own stated problems and measures
    assert "### 报告自述的问题与措施" in section
    land = md.split("## 项目：被征地农民社会保障费", 1)[1].split("\n## ", 1)[0]
    for rule in ("R-GRADE", "R-NARR-TOTAL", "R-NARR-GRADE"):
        assert rule in land


def test_docx_draft_of_003_reads_back(seed003, review003):
    data = render(review003, "docx")
    doc = Document(io.BytesIO(data))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert "审核意见（草稿） Review draft" in headings
    assert "项目：创业扶持资金" in headings and "审核发现 Findings" in headings
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    f = _startup(seed003[2])
    hit = [r for r in cells if r[0].startswith("错误") and r[1].startswith("R-EXEC-SCORE") and "52.73%" in r[2]]
    assert hit, "the R-EXEC-SCORE finding for 创业扶持资金 is in a findings table"
    row = hit[0]
    assert row[3] == f.reported and row[4] == f.recomputed
    assert f"第{f.refs[0].page}页第{f.refs[0].line_start}" in row[5] and NAME in row[5]
    assert any(r[0].startswith("警告") and r[1].startswith("R-EXEC-EXPLAIN") for r in cells)


def test_xlsx_draft_of_003_reads_back(seed003, review003):
    wb = load_workbook(io.BytesIO(render(review003, "xlsx")))
    ws = wb["审核发现 findings"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["文档 Document", "项目 Project", "严重性 Severity", "规则 Rule", "规则名称 Rule name",
                          "说明 Finding (zh)"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.column_dimensions["F"].width == 60
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert len(rows) == len(seed003[2])  # one row per finding
    f = _startup(seed003[2])
    col = {h: k for k, h in enumerate(header)}
    hit = [r for r in rows if r[col["项目 Project"]] == "创业扶持资金" and r[col["规则 Rule"]] == "R-EXEC-SCORE"]
    assert hit
    r = hit[0]
    assert r[col["严重性 Severity"]] == "错误 error" and r[col["复算值 Recomputed"]] == f.recomputed
    assert r[col["页 Page"]] == f.refs[0].page and str(f.refs[0].line_start) in r[col["行 Lines"]]
    assert f.refs[0].quote in r[col["引文 Quote"]]
    assert r[col["评分方案 Variant"]].startswith("hebei-headers-50/30/10/10")
    figs = wb["资金与得分 figures"]
    assert ["创业扶持资金", "预算执行率 Execution rate", "52.73%", "52.73%"] in [
        [c.value for c in row][:4] for row in figs.iter_rows(min_row=2)]


def test_draft_for_one_project(seed003):
    doc, ex, fs = seed003
    rv = build_review(ex, fs, document=NAME, project="创业扶持资金")
    assert [p.project for p in rv.projects] == ["创业扶持资金"]
    assert {f.rule_id for f in rv.projects[0].findings} >= {"R-EXEC-SCORE", "R-EXEC-EXPLAIN", "R-EXEC-RATE"}
    assert all(f.project == "创业扶持资金" for f in rv.all_findings())


class FakeChat:
    """Stands in for a chat model: returns a fixed reply, records what it was sent."""

    model_name = "fake-model"

    def __init__(self, reply: str):
        self.reply = reply
        self.sent = None

    def invoke(self, messages):
        self.sent = messages
        return type("Msg", (), {"content": self.reply})()


def test_summary_kept_when_every_number_is_in_the_findings(seed003):
    doc, ex, fs = seed003
    rv = build_review(ex, fs, document=NAME, project="创业扶持资金")
    chat = FakeChat("创业扶持资金预算执行率仅52.73%，预算执行得分却为10分，按执行率最多5.27分；存在问题未说明原因。")
    result = attach_summary(rv, chat)
    assert result.text and rv.summary == result.text and rv.summary_model == "fake-model"
    assert "<document>" in chat.sent[1][1] and "52.73%" in chat.sent[1][1]
    assert "审核意见摘要" in render(rv, "md").decode("utf-8")


def test_summary_dropped_when_a_number_is_invented(seed003):
    doc, ex, fs = seed003
    rv = build_review(ex, fs, document=NAME, project="创业扶持资金")
    result = attach_summary(rv, FakeChat("创业扶持资金执行率仅52.73%，应扣7.3分。"))
    assert result.text is None and "7.3" in result.dropped_reason and rv.summary is None
    assert "审核意见摘要" not in render(rv, "md").decode("utf-8")
    assert attach_summary(rv, None) is None


def test_number_check_helpers():
    assert numbers_in("共6,453.42万元, 70.51%") == {numbers_in("6453.42").pop(), numbers_in("70.51").pop()}
    assert check_numbers("得分10.00", numbers_in("10")) == []
    assert check_numbers("2020年", numbers_in("10")) == ["2020"]


runner = CliRunner()


def test_cli_review_writes_each_format(tmp_path):
    for fmt in ("md", "docx", "xlsx"):
        out = tmp_path / f"draft.{fmt}"
        r = runner.invoke(app, ["review", str(SEED_003), "--format", fmt, "-o", str(out)])
        assert r.exit_code == 0, r.output
        assert out.stat().st_size > 1000 and "wrote" in r.output
    r = runner.invoke(app, ["review", str(SEED_003), "--project", "创业扶持资金"])
    assert r.exit_code == 0 and "## 项目：创业扶持资金" in r.output and "## 项目：被征地" not in r.output
    r = runner.invoke(app, ["review", str(SEED_003), "--format", "docx"])
    assert r.exit_code != 0 and "needs -o" in r.output


def test_cli_check_a_path():
    r = runner.invoke(app, ["check", str(SEED_003), "--severity", "error"])
    assert r.exit_code == 0, r.output
    assert "R-EXEC-SCORE" in r.output and "创业扶持资金" in r.output and "variant: hebei-headers" in r.output
    r = runner.invoke(app, ["check", str(SEED_003), "--format", "json", "--fail-on", "error"])
    assert r.exit_code == 1
    first = json.loads(r.output.splitlines()[0])
    assert first["document"] == NAME and first["severity"] == "error" and first["refs"]


def test_cli_eval_checks_json():
    r = runner.invoke(app, ["eval", "checks", "--format", "json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert {"precision", "recall", "per_rule"} <= set(result)
    assert result["precision"] >= 0.90 and result["recall"] >= 0.95
    assert result["errors_on_consistent_units"] == 0
