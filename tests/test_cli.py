from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.settings import Settings, get_settings
from service.store import Store
from storeutil import (
    BAD_CODES,
    RENDERED,
    SEEDS,
    dump,
    make_bad_input,
    sample_extraction,
    sample_findings,
    seed_doc,
)

JIXIAO = Path(sys.executable).with_name("jixiao")


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """The CLI reads settings from the environment through the cached get_settings(): point it at a fresh
    data dir and drop the cache on both sides of the test."""
    for key in list(os.environ):
        if key.startswith("JIXIAO_"):
            monkeypatch.delenv(key)
    data = tmp_path / "data"
    monkeypatch.setenv("JIXIAO_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield Settings(data_dir=data)
    get_settings.cache_clear()


@pytest.fixture
def run(settings):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def no_network(monkeypatch):
    """Any socket connect to a non-loopback address raises (and is recorded, in case someone swallows it)."""
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(sock: socket.socket, address) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # unix sockets stay on the machine
        host = address[0]
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return host == "localhost"

    def connect(sock, address):
        if not allowed(sock, address):
            attempts.append(address)
            raise OSError(f"network disabled in tests: connect to {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not allowed(sock, address):
            attempts.append(address)
            raise OSError(f"network disabled in tests: connect to {address!r}")
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


def test_no_network_fixture_blocks_remote_and_allows_loopback(no_network):
    with socket.socket() as s, pytest.raises(OSError, match="network disabled"):
        s.connect(("192.0.2.1", 80))
    assert no_network == [("192.0.2.1", 80)]
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())


def lines(text: str) -> list[str]:
    return text.splitlines()


# ingest ------------------------------------------------------------------------------------------------------

def test_ingest_one_line_per_file_then_unchanged(run, settings):
    pdf = RENDERED / "pdf" / "000_shangjie_retiree_medical.pdf"
    txt = SEEDS / "002_soe_reform_medical.txt"
    first = run("ingest", pdf, txt)
    assert first.exit_code == 0, first.stderr
    out = lines(first.stdout)
    assert [ln.split()[0] for ln in out] == ["ingested", "ingested"]
    assert pdf.name in out[0] and "pages" in out[0] and txt.name in out[1]
    again = run("ingest", pdf, txt)
    assert again.exit_code == 0
    assert [ln.split()[0] for ln in lines(again.stdout)] == ["unchanged", "unchanged"]
    assert [ln.split()[1] for ln in lines(again.stdout)] == [ln.split()[1] for ln in out]  # same ids
    with Store(settings) as store:
        assert store.counts()["documents"] == 2


def test_ingest_json_is_one_object_per_file(run):
    res = run("ingest", "--json", SEEDS / "000_shangjie_retiree_medical.txt")
    assert res.exit_code == 0
    (obj,) = [json.loads(ln) for ln in lines(res.stdout)]
    assert obj["status"] == "ingested" and len(obj["doc_id"]) == 64 and obj["lines"] > 100


@pytest.mark.parametrize("code", BAD_CODES)
def test_bad_input_one_line_exit_1_store_unchanged(run, settings, tmp_path, code):
    assert run("ingest", SEEDS / "001_shangjie_pension_subsidy.txt").exit_code == 0
    with Store(settings) as store:
        before = dump(store)
    bad = make_bad_input(code, tmp_path, settings.max_upload_bytes)
    res = run("ingest", bad)
    assert res.exit_code == 1
    assert res.stdout == ""
    (err,) = lines(res.stderr)
    assert err.startswith("error: ") and err.endswith(f"[{code}]") and bad.name in err
    with Store(settings) as store:
        assert dump(store) == before


def test_batch_with_one_bad_file_ingests_the_rest_and_exits_1(run, settings, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    for i, seed in enumerate(sorted(SEEDS.glob("*.txt"))):
        shutil.copy(seed, folder / f"{i}a_{seed.name}")
        if i < 4:  # different bytes, so a different document
            (folder / f"{i}b_{seed.name}").write_bytes(seed.read_bytes() + f"\n附注{i}\n".encode())
    (folder / "9_broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    res = run("ingest", folder)
    assert res.exit_code == 1
    assert len(lines(res.stdout)) == 9 and all(ln.startswith("ingested") for ln in lines(res.stdout))
    (err,) = lines(res.stderr)
    assert "9_broken.docx" in err and err.endswith("[corrupt_docx]")
    with Store(settings) as store:
        assert store.counts()["documents"] == 9


def test_folder_without_reports_is_an_error(run, tmp_path):
    (tmp_path / "empty").mkdir()
    res = run("ingest", tmp_path / "empty")
    assert res.exit_code == 1 and lines(res.stderr)[0].startswith("error: nothing to ingest")


@pytest.mark.parametrize("args", [["ingest"], ["show"], ["projects", "--year", "soon"], ["show", "x", "--page", "0"],
                                  ["no-such-command"]])
def test_usage_errors_exit_2(run, args):
    assert run(*args).exit_code == 2


# show / docs / projects ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", sorted(p.stem for p in (RENDERED / "txt").glob("*.txt")))
def test_show_pdf_prints_the_same_lines_as_the_rendered_txt(run, stem):
    shown = {}
    for kind in ("pdf", "txt"):
        path = RENDERED / kind / f"{stem}.{kind}"
        assert run("ingest", path).exit_code == 0
        res = run("show", path.name)
        assert res.exit_code == 0, res.stderr
        shown[kind] = lines(res.stdout)
    assert shown["pdf"] == shown["txt"]
    assert shown["pdf"][0].startswith("1:1  ")
    # 000–002 carry their tables as wrapped text; the others as rows, shown cell by cell
    has_rows = "\t" in (RENDERED / "txt" / f"{stem}.txt").read_text(encoding="utf-8")
    assert any(" │ " in ln for ln in shown["pdf"]) == has_rows


def test_show_one_page_and_errors(run, settings):
    res = run("ingest", SEEDS / "004_zhongyuan_medsec_accounts.txt")
    doc_id = res.stdout.split()[1]
    page = lines(run("show", doc_id, "--page", "2").stdout)
    loaded = seed_doc("004_zhongyuan_medsec_accounts")
    expected = [f"2:{ln.line_no}  " + (" │ ".join(ln.cells) if ln.kind == "row" else ln.text)
                for ln in loaded.pages[1].lines]
    assert page == expected
    for args, needle in ((["show", "nope.pdf"], "nope.pdf"), (["show", doc_id, "--page", "99"], "no page 99")):
        bad = run(*args)
        assert bad.exit_code == 1 and bad.stdout == ""
        (err,) = lines(bad.stderr)
        assert err.startswith("error: ") and needle in err


def test_docs_lists_documents(run, settings):
    assert lines(run("docs").stdout) == []
    run("ingest", SEEDS / "000_shangjie_retiree_medical.txt")
    res = run("docs")
    header, row = lines(res.stdout)
    assert header.split()[:3] == ["id", "kind", "pages"] and "000_shangjie_retiree_medical.txt" in row
    (doc,) = json.loads(run("docs", "--json").stdout)
    assert doc["filename"] == "000_shangjie_retiree_medical.txt" and doc["kind"] == "txt"


def test_projects_lists_and_filters(run, settings):
    doc = seed_doc()
    extraction = sample_extraction(doc)
    with Store(settings) as store:
        store.save_document(doc, extraction, sample_findings(extraction))
    res = run("projects")
    header, *rows = lines(res.stdout)
    assert "budget" in header and len(rows) == 2
    assert "93.76" in rows[0] and "600万元" in rows[0] and "优秀" in rows[0] and rows[0].split()[-2] == "3"
    below = lines(run("projects", "--below", "90").stdout)[1:]
    assert len(below) == 1 and "城乡居民养老保险补助" in below[0] and "50.00" in below[0]
    as_json = json.loads(run("projects", "--json", "--doc", doc.doc_id[:10]).stdout)
    assert [p["name"] for p in as_json] == ["集体破产企业退休人员医疗费", "城乡居民养老保险补助"]
    assert as_json[0]["evaluation"]["funds"]["executed"]["value"] == "562.56"
    missing = run("projects", "--doc", "nope")
    assert missing.exit_code == 1 and lines(missing.stderr)[0].startswith("error: ")


# serve ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "host", "note"), [
    ({"JIXIAO_HOST": "0.0.0.0"}, "127.0.0.1", "binding to 127.0.0.1 only"),
    ({}, "127.0.0.1", "loopback only"),
    ({"JIXIAO_HOST": "0.0.0.0", "JIXIAO_API_KEYS": '["k1-0123456789abcdef"]'}, "0.0.0.0", None),
])
def test_serve_binds_loopback_without_api_keys(run, monkeypatch, env, host, note):
    import uvicorn

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    res = run("serve", "--port", "8765")
    assert res.exit_code == 0
    ((app_obj, kw),) = calls
    assert kw["host"] == host and kw["port"] == 8765
    assert app_obj.state.settings.api_keys == (["k1-0123456789abcdef"] if "JIXIAO_API_KEYS" in env else [])
    if note:
        assert note in res.stderr
    else:
        assert res.stderr == ""


# demo -----------------------------------------------------------------------------------------------------------

def test_demo_runs_offline_and_rerun_says_unchanged(run, settings, no_network):
    first = run("demo")
    assert first.exit_code == 0, first.stderr
    pdfs = sorted(p.name for p in (RENDERED / "pdf").glob("*.pdf"))
    heads = [ln for ln in lines(first.stdout) if ".pdf  " in ln and not ln.startswith(" ")]
    assert [h.split()[0] for h in heads] == pdfs and all(h.split()[1] == "ingested" for h in heads)
    with Store(settings) as store:
        docs = {d.filename: d for d in store.list_documents()}
    assert sorted(docs) == pdfs
    for d in docs.values():
        assert f"pages {d.page_count}, lines {d.line_count}, projects {d.projects}," in first.stdout
    again = run("demo")
    assert again.exit_code == 0
    assert [ln.split()[1] for ln in lines(again.stdout)
            if ".pdf  " in ln and not ln.startswith(" ")] == ["unchanged"] * len(pdfs)
    assert no_network == []


# the real entry point ---------------------------------------------------------------------------------------------

def test_console_script_exit_codes_and_one_line_errors(settings, tmp_path):
    env = {**os.environ, "JIXIAO_DATA_DIR": str(settings.data_dir)}
    bad = subprocess.run([str(JIXIAO), "ingest", str(tmp_path / "missing.pdf")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and bad.stdout == ""
    assert lines(bad.stderr) == [f"error: {tmp_path / 'missing.pdf'}: no such file [missing_path]"]
    usage = subprocess.run([str(JIXIAO), "ingest"], env=env, capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
