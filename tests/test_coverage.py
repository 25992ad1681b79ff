"""The coverage verdict: a document the reader could not read is reported as unread in the CLI and the API —
never as clean. (The web page is covered in test_web.py, review drafts in test_review.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from retrieval.loaders import load_bytes
from service.api import create_app
from service.extraction import extract_document
from service.extraction.coverage import announced_forms, assess_coverage
from service.models import DocumentExtraction
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "corpus" / "seeds").glob("*.txt"))

# A cover page that talks about the form in the form's own words but carries none of its cells: whatever the
# reader learns, there is nothing here to read, so the verdict must stay "unrecognised".
UNREADABLE = """项目支出绩效自评表
（2023年度）
说明：本表一级指标、二级指标、三级指标、年度指标值、实际完成值、分值、得分由项目单位填写，
全年预算数、全年执行数和执行率以财务决算为准，自评得分与评价等级另行报送。
""".encode()
LETTER = "关于召开全区安全生产工作会议的通知\n各单位：定于下周一上午九时召开会议，请准时参加。\n".encode()


def _coverage(data: bytes, name: str):
    doc = load_bytes(data, name, max_bytes=10_000_000)
    return extract_document(doc).coverage


def test_vocabulary_without_a_readable_form_is_unrecognised():
    cov = _coverage(UNREADABLE, "cover.txt")
    assert cov.status == "unrecognised" and cov.unread
    assert cov.projects == 0 and cov.indicator_rows == 0
    assert "一级指标" in cov.vocabulary and "须人工核对" in cov.reason_zh and "not clean" in cov.reason_en


def test_text_without_form_vocabulary_is_not_applicable():
    cov = _coverage(LETTER, "letter.txt")
    assert cov.status == "not_applicable" and not cov.unread


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_every_bundled_report_is_read(seed):
    cov = _coverage(seed.read_bytes(), seed.name)
    assert cov.status == "read", cov.reason_zh
    assert cov.projects >= 1 and cov.indicator_rows >= 7


def test_fewer_forms_read_than_announced_is_partial():
    """Three 项目名称 labels announce three forms; an extraction holding one of them is partial."""
    seed = next(p for p in SEEDS if p.name.startswith("000"))
    doc = load_bytes(seed.read_bytes(), seed.name, max_bytes=10_000_000)
    full = extract_document(doc)
    assert announced_forms(list(doc.iter_lines())) == 1
    text = seed.read_text(encoding="utf-8") + "\n项目名称：另一个项目\n\n项目名称：第三个项目\n"
    doc3 = load_bytes(text.encode(), "three.txt", max_bytes=10_000_000)
    assert announced_forms(list(doc3.iter_lines())) == 3
    one = DocumentExtraction(doc_id=doc3.doc_id, units=full.units, projects=full.projects)
    cov = assess_coverage(doc3, one)
    assert cov.status == "partial" and "3" in cov.reason_zh and "1" in cov.reason_zh


def test_a_summary_list_header_does_not_announce_a_form():
    data = "序号\t项目名称\t全年预算数\t全年执行数\t自评得分\n1\t甲项目\t10\t9\t95\n".encode()
    doc = load_bytes(data, "list.txt", max_bytes=10_000)
    assert announced_forms(list(doc.iter_lines())) == 0


# --- CLI ------------------------------------------------------------------------------------------------------

def test_cli_says_unrecognised_in_ingest_docs_and_check(cli, tmp_path):
    form = tmp_path / "自评表.txt"
    form.write_bytes(UNREADABLE)
    res = cli("ingest", form)
    assert res.exit_code == 0
    assert "UNRECOGNISED" in res.stdout and "0 findings" in res.stdout
    assert "warning: 自评表.txt: UNRECOGNISED" in res.stderr

    strict = tmp_path / "again"
    strict.mkdir()
    (strict / "cover2.txt").write_bytes(UNREADABLE + b"\n")
    res = cli("ingest", "--strict", strict)
    assert res.exit_code == 3 and "--strict" in res.stderr

    res = cli("docs")
    row = next(line for line in res.stdout.splitlines() if line.endswith("自评表.txt"))
    assert "UNRECOGNISED" in row
    assert "not (fully) read" in res.stderr

    res = cli("check", "自评表.txt")
    assert "UNRECOGNISED:" in res.stdout and "NOT A CLEAN RESULT" in res.stdout
    assert cli("check", "自评表.txt", "--fail-on", "error").exit_code == 1

    res = cli("check", "自评表.txt", "--format", "json")
    first = json.loads(res.stdout.splitlines()[0])
    assert first["type"] == "coverage" and first["status"] == "unrecognised"


def test_cli_reads_a_bundled_report_as_read(cli):
    seed = next(p for p in SEEDS if p.name.startswith("001"))
    res = cli("ingest", seed)
    assert res.exit_code == 0 and "UNRECOGNISED" not in res.stdout and "PARTIAL" not in res.stdout
    res = cli("check", seed.name)
    assert "coverage: read" in res.stdout


# --- API ------------------------------------------------------------------------------------------------------

def test_api_reports_unrecognised_on_upload_list_and_coverage(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data")), base_url="http://127.0.0.1:8000")
    res = client.post("/documents", files={"file": ("自评表.txt", UNREADABLE, "text/plain")})
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["coverage_status"] == "unrecognised" and body["unread"] is True
    assert "UNRECOGNISED" in body["message"]
    doc_id = body["doc_id"]

    listed = next(d for d in client.get("/documents").json() if d["doc_id"] == doc_id)
    assert listed["unread"] is True and listed["coverage_status"] == "unrecognised"
    assert "须人工核对" in listed["coverage_reason"]

    cov = client.get(f"/documents/{doc_id[:12]}/coverage").json()
    assert cov["status"] == "unrecognised" and cov["projects"] == 0 and "三级指标" in cov["vocabulary"]


# --- review drafts ------------------------------------------------------------------------------------------

def test_review_of_an_unread_form_says_unread_in_every_format(cli, tmp_path):
    import io

    from docx import Document
    from openpyxl import load_workbook

    form = tmp_path / "自评表.txt"
    form.write_bytes(UNREADABLE)
    res = cli("review", form)
    assert res.exit_code == 0
    assert "未能读取该文件的绩效自评表" in res.stdout and "须人工核对" in res.stdout
    assert "未发现问题" not in res.stdout and "未能复核" in res.stdout
    assert "not fully read" in res.stderr

    cli("ingest", form)
    out = tmp_path / "r.docx"
    assert cli("review", "自评表.txt", "--format", "docx", "-o", out).exit_code == 0
    text = "\n".join(p.text for p in Document(io.BytesIO(out.read_bytes())).paragraphs)
    assert "未能读取该文件的绩效自评表" in text and "未发现问题" not in text
    out = tmp_path / "r.xlsx"
    assert cli("review", "自评表.txt", "--format", "xlsx", "-o", out).exit_code == 0
    ws = load_workbook(out).active
    assert ws.title.startswith("读取情况") and ws["A2"].value == "unrecognised" and "须人工核对" in ws["C2"].value


def test_review_of_a_read_report_has_no_unread_statement(cli):
    seed = next(p for p in SEEDS if p.name.startswith("001"))
    res = cli("review", seed)
    assert res.exit_code == 0 and "读取情况" not in res.stdout and "须人工核对" not in res.stdout


def test_api_review_of_an_unread_form_says_unread(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data")), base_url="http://127.0.0.1:8000")
    doc_id = client.post("/documents", files={"file": ("自评表.txt", UNREADABLE, "text/plain")}).json()["doc_id"]
    res = client.get(f"/reviews/{doc_id[:12]}")
    assert res.status_code == 200, res.text
    assert "未能读取该文件的绩效自评表" in res.text and "未发现问题" not in res.text
