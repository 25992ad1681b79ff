"""Hostile files: what a file expands to is bounded before it is opened, content that does not match its
extension is refused, control characters never reach the stores or a terminal, and a refused file leaves
what is already stored untouched."""
from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest

from retrieval.loaders import load_bytes
from service.errors import InputError
from service.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "seeds" / "001_shangjie_pension_subsidy.txt"


def _docx_bytes(text: str = "项目名称：测试项目") -> bytes:
    from docx import Document

    d = Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _xlsx_bytes(rows: list[list], **kw) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite(data: bytes, edit) -> bytes:
    """Copy a zip, passing each member through edit(name, bytes) -> bytes | None (None keeps it)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            new = edit(info.filename, body)
            dst.writestr(info.filename, body if new is None else new)
    return out.getvalue()


def _add_member(data: bytes, name: str, size: int, chunk: bytes = b"\0") -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z, z.open(name, "w", force_zip64=True) as f:
        block = chunk * (1 << 20)
        for _ in range(size // len(block)):
            f.write(block)
    return out.getvalue()


def _refused(data: bytes, name: str, code: str) -> InputError:
    with pytest.raises(InputError) as exc:
        load_bytes(data, name, max_bytes=10**8)
    assert exc.value.code == code, exc.value
    return exc.value


# --- zip bombs -------------------------------------------------------------------------------------------

def test_docx_whose_xml_inflates_past_the_bound_is_refused_before_opening():
    pad = b"<!--" + b" " * (60 << 20) + b"-->"
    bomb = _rewrite(_docx_bytes(), lambda n, b: b.replace(b"<w:body>", b"<w:body>" + pad) if n == "word/document.xml"
                    else None)
    assert len(bomb) < 1 << 20  # under a megabyte on disk
    err = _refused(bomb, "bomb.docx", "archive_bomb")
    assert "word/document.xml" in str(err)


def test_docx_with_a_huge_zero_media_part_is_refused():
    bomb = _add_member(_docx_bytes(), "word/media/image1.png", 140 << 20)
    assert len(bomb) < 1 << 20
    err = _refused(bomb, "media.docx", "archive_bomb")
    assert "image1.png" in str(err)


def test_xlsx_highly_compressed_sheet_is_refused():
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>' % (i, i)
                    for i in range(1, 2))
    pad = b" " * (20 << 20)
    bomb = _rewrite(_xlsx_bytes([["a"]]), lambda n, b: b.replace(b"<sheetData>", b"<sheetData>" + pad + rows)
                    if n == "xl/worksheets/sheet1.xml" else None)
    err = _refused(bomb, "rows.xlsx", "archive_bomb")
    assert "expand" in str(err)


def test_xlsx_cell_longer_than_excel_allows_is_refused():
    # written into the XML directly: openpyxl's writer itself cuts cells at Excel's limit
    data = _rewrite(_xlsx_bytes([["项目名称", "AB"]]), lambda n, b: b.replace(b"<t>AB</t>", b"<t>" + b"X" * 100_000
                                                                               + b"</t>") if n.endswith("sheet1.xml") else None)
    _refused(data, "long.xlsx", "cell_too_long")


def _settings(**kw):
    from service.settings import Settings

    return Settings(_env_file=None, **kw)


def test_xlsx_row_limit():
    small = _settings(max_rows=50)
    with pytest.raises(InputError) as exc:
        load_bytes(_xlsx_bytes([[i, "行"] for i in range(60)]), "many.xlsx", small)
    assert exc.value.code == "too_many_rows" and "JIXIAO_MAX_ROWS" in str(exc.value)
    assert len(list(load_bytes(_xlsx_bytes([[i, "行"] for i in range(40)]), "ok.xlsx", small).iter_lines())) == 40
    with pytest.raises(InputError) as exc:
        load_bytes(("项目\n" * 200).encode(), "many.txt", small)
    assert exc.value.code == "too_many_rows"


def test_limits_come_from_settings_and_the_time_budget_holds(monkeypatch):
    buf = io.BytesIO(_docx_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_STORED) as z:  # a genuine photo: 12 MiB that do not compress
        z.writestr("word/media/image1.png", os.urandom(12 << 20))
    data = buf.getvalue()
    assert load_bytes(data, "ok.docx", max_bytes=10**8).line_count >= 1
    with pytest.raises(InputError) as exc:
        load_bytes(data, "big.docx", _settings(max_expanded_mb=10))
    assert exc.value.code == "archive_bomb" and "JIXIAO_MAX_EXPANDED_MB" in str(exc.value)
    import time as _time

    from badfiles import _small_pdf

    clock = iter(range(0, 10_000, 100))  # every look at the clock is 100 s later
    monkeypatch.setattr("retrieval.loaders.limits.time.monotonic", lambda: float(next(clock)))
    with pytest.raises(InputError) as exc:
        load_bytes(_small_pdf(pages=3), "slow.pdf", _settings(max_load_seconds=150))
    assert exc.value.code == "too_slow" and "page" in str(exc.value)
    monkeypatch.setattr("retrieval.loaders.limits.time.monotonic", _time.monotonic)


def test_xlsx_with_a_stale_dimension_keeps_every_row():
    data = _xlsx_bytes([["序号", "项目"]] + [[i, f"项目{i}"] for i in range(1, 10)])
    stale = _rewrite(data, lambda n, b: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:A1"', b)
                     if n == "xl/worksheets/sheet1.xml" else None)
    assert b'ref="A1:A1"' in zipfile.ZipFile(io.BytesIO(stale)).read("xl/worksheets/sheet1.xml")
    lines = list(load_bytes(stale, "stale.xlsx", max_bytes=10**8).iter_lines())
    assert len(lines) == 10 and lines[-1].cells == ["9", "项目9"]


# --- content that does not match the extension ----------------------------------------------------------

def test_pdf_renamed_txt_is_refused():
    pdf = next((ROOT / "corpus" / "rendered" / "pdf").glob("*.pdf")).read_bytes()
    err = _refused(pdf, "report.txt", "not_text")
    assert "PDF" in str(err)
    _refused(_docx_bytes(), "notes.md", "not_text")
    _refused(bytes(range(256)) * 40, "blob.txt", "not_text")


def test_nul_and_escape_sequences_never_reach_stored_text():
    data = "项目名称：测试\x00项目\n\x1b[2J\x1b]0;pwned\x07总分\t95\n".encode()
    doc = load_bytes(data, "ctl.txt", max_bytes=10**6)
    for line in doc.iter_lines():
        for s in (line.text, line.raw, *(line.cells or [])):
            assert not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", s), repr(s)
    assert [ln.text for ln in doc.iter_lines()][0] == "项目名称:测试项目"


# --- CLI: a refused file harms nothing already stored ---------------------------------------------------------

def test_bad_files_are_refused_and_the_store_keeps_working(cli, tmp_path):
    assert cli("ingest", SEED).exit_code == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bomb.docx").write_bytes(_add_member(_docx_bytes(), "word/media/x.bin", 140 << 20))
    (bad / "renamed.txt").write_bytes(next((ROOT / "corpus" / "rendered" / "pdf").glob("*.pdf")).read_bytes())
    (bad / "nul.txt").write_bytes("项目名称：空字节测试\x00项目\n预算执行率 88%\n".encode())
    res = cli("ingest", bad)
    assert res.exit_code == 1  # some files failed
    out = res.stdout + res.stderr
    assert "archive_bomb" in out or "expand" in out
    assert "not_text" in out or "PDF" in out
    docs = cli("docs").stdout
    assert "001_shangjie_pension_subsidy.txt" in docs and "nul.txt" in docs
    assert "bomb.docx" not in docs and "renamed.txt" not in docs
    res = cli("search", "空字节测试")
    assert res.exit_code == 0 and res.stdout.lstrip().startswith("1. nul ")
    res = cli("search", "养老保险")
    assert res.exit_code == 0 and "001_shangjie" in res.stdout
    res = cli("show", "nul.txt")
    assert res.exit_code == 0 and "\x00" not in res.stdout and "\x1b" not in res.stdout


# --- one writer per data directory ------------------------------------------------------------------------------

def test_writer_lock_excludes_a_second_writer_process(tmp_path):
    import subprocess
    import sys

    from service.writer_lock import WriterBusy, writer_lock

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys,time; sys.path.insert(0, %r)\n"
        "from service.writer_lock import writer_lock\n"
        "with writer_lock(%r):\n    print('held', flush=True); time.sleep(30)\n") % (str(ROOT), str(tmp_path))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        seen = []
        with pytest.raises(WriterBusy) as exc:
            with writer_lock(tmp_path, timeout=0.5, waiting=seen.append):
                pass
        assert seen and seen[0].startswith("pid ") and "another jixiao process" in str(exc.value)
    finally:
        holder.kill()
        holder.wait()
    with writer_lock(tmp_path, timeout=5):  # released when the holder died
        pass


def test_api_upload_answers_503_while_another_process_writes(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    import service.api.routers.documents as documents
    from service.api import create_app
    from service.settings import Settings
    from service.writer_lock import writer_lock

    monkeypatch.setattr(documents, "WRITER_WAIT_SECONDS", 0.3)
    data = tmp_path / "data"
    client = TestClient(create_app(Settings(data_dir=data)), base_url="http://127.0.0.1:8000")
    import threading

    held, release = threading.Event(), threading.Event()

    def hold():  # a lock held by another open file description behaves as another process's (flock)
        with writer_lock(data):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        res = client.post("/documents", files={"file": ("a.txt", "项目名称：测试\n".encode(), "text/plain")})
        assert res.status_code == 503 and res.json()["error"]["code"] == "writer_busy"
    finally:
        release.set()
        t.join()
    res = client.post("/documents", files={"file": ("a.txt", "项目名称：测试\n".encode(), "text/plain")})
    assert res.status_code == 201, res.text
    assert [d["filename"] for d in client.get("/documents").json()] == ["a.txt"]


def test_cli_delete_removes_a_document_from_store_and_search(cli, tmp_path):
    bad = tmp_path / "bad\nname.txt"
    bad.write_text("项目名称：误传文件测试\n预算执行率 88%\n", encoding="utf-8")
    res = cli("ingest", bad)
    assert res.exit_code == 0 and "bad\\nname.txt" in res.stdout and len(res.stdout.strip().splitlines()) == 1
    assert cli("ingest", SEED).exit_code == 0
    assert "误传文件测试" in cli("search", "误传文件测试").stdout
    res = cli("delete", "bad\nname.txt", "--yes")
    assert res.exit_code == 0 and res.stdout.startswith("deleted")
    docs = cli("docs").stdout
    assert "bad" not in docs and "001_shangjie" in docs
    assert "误传文件测试" not in cli("search", "误传文件测试").stdout
    assert cli("delete", "no-such-doc", "--yes").exit_code != 0


def test_empty_api_keys_setting_is_no_keys(cli, monkeypatch):
    monkeypatch.setenv("JIXIAO_API_KEYS", "")
    get_settings.cache_clear()
    res = cli("docs")
    assert res.exit_code == 0 and "internal_error" not in res.stdout + res.stderr
    assert get_settings().api_keys == []


# --- keyless mode: loopback Host, same-origin writes ----------------------------------------------------------

def test_keyless_server_refuses_other_hosts_and_cross_origin_writes(tmp_path):
    from fastapi.testclient import TestClient

    from service.api import create_app
    from service.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "data"))
    upload = {"file": ("a.txt", "项目名称：测试\n".encode(), "text/plain")}
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        # DNS rebinding: the browser sends the attacker's host name
        res = c.get("/documents", headers={"Host": "evil.example:8000"})
        assert res.status_code == 403 and res.json()["error"]["code"] == "forbidden"
        # another local origin (a page on localhost:3000) may not upload
        res = c.post("/documents", files=upload, headers={"Origin": "http://localhost:3000"})
        assert res.status_code == 403
        res = c.post("/documents", files=upload, headers={"Origin": "null"})
        assert res.status_code == 403
        assert c.get("/documents").json() == []
        # same origin but no CSRF token (a form posted by an old browser, or a script that never loaded the page)
        res = c.post("/documents", files=upload, headers={"Origin": "http://127.0.0.1:8000"})
        assert res.status_code == 403 and res.json()["error"]["code"] == "csrf"
        # a page on another localhost port can plant a cookie (cookies ignore ports) but a form cannot add the
        # header, and a cross-origin script cannot send it without a preflight this server never grants
        res = c.post("/documents", files=upload, headers={"Cookie": "jixiao_csrf=planted", "Referer": "http://localhost:3000/"})
        assert res.status_code == 403 and res.json()["error"]["code"] == "csrf"
        res = c.post("/documents", files=upload, headers={"Cookie": "jixiao_csrf=planted", "X-Jixiao-CSRF": "other"})
        assert res.status_code == 403 and res.json()["error"]["code"] == "csrf"
        assert c.get("/documents").json() == []
        # the server's own page: GET / sets the cookie, the page's script echoes it in the header
        page = c.get("/")
        token = page.cookies.get("jixiao_csrf")
        assert page.status_code == 200 and token and len(token) >= 32
        assert "samesite=strict" in page.headers["set-cookie"].lower()
        res = c.post("/documents", files=upload, headers={"Origin": "http://127.0.0.1:8000", "X-Jixiao-CSRF": token})
        assert res.status_code == 201, res.text
        assert c.get("/").cookies.get("jixiao_csrf") is None  # kept, not rotated under an open tab
        c.cookies.clear()
        # a client that sends none of a browser's own headers (curl, the CLI) needs no token
        res = c.post("/documents", files={"file": ("b.txt", "项目名称：测试二\n".encode(), "text/plain")})
        assert res.status_code == 201, res.text
        assert c.get("/health").status_code == 200
    keyed = create_app(Settings(data_dir=tmp_path / "k", api_keys=["k-0123456789abcdef0123"]))
    with TestClient(keyed, base_url="http://jixiao.example.gov") as c:  # behind its own host name, with keys
        assert c.get("/documents", headers={"X-API-Key": "k-0123456789abcdef0123"}).status_code == 200


def test_pdf_page_and_density_limits(monkeypatch):
    import retrieval.loaders.pdf as pdfmod
    from badfiles import _small_pdf

    data = _small_pdf(pages=3)
    assert len(load_bytes(data, "ok.pdf", max_bytes=10**8).pages) == 3
    with pytest.raises(InputError) as exc:
        load_bytes(data, "many.pdf", _settings(max_pages=2))
    assert exc.value.code == "too_many_pages"
    monkeypatch.setattr(pdfmod, "MAX_CHARS_PER_PAGE", 20)
    _refused(data, "dense.pdf", "page_too_dense")


def test_line_and_document_text_limits():
    with pytest.raises(InputError) as exc:
        load_bytes(("项目名称：" + "长" * 2000 + "\n").encode(), "long.txt", _settings(max_line_chars=1000))
    assert exc.value.code == "line_too_long"
    with pytest.raises(InputError) as exc:
        load_bytes(("项目名称：测试项目内容\n" * 1000).encode(), "much.txt", _settings(max_text_chars=5000))
    assert exc.value.code == "too_much_text"
    assert load_bytes(("项目名称：测试项目内容\n" * 1000).encode(), "ok.txt", max_bytes=10**6).line_count == 1000


# --- a reading worker that runs out of memory fails its file alone ---------------------------------------------

def test_worker_memory_cap_fails_only_the_file_that_needs_more(cli, tmp_path, monkeypatch):
    """`ingest --workers 2` under a small JIXIAO_WORKER_MEMORY_MB: the text file that needs more than the cap is
    refused (MemoryError in its worker → worker_memory, or a worker killed → worker_crashed, read again alone to
    find the culprit), while the files queued before and after it are stored and searchable."""
    from service.settings import get_settings

    monkeypatch.setenv("JIXIAO_WORKER_MEMORY_MB", "256")
    get_settings.cache_clear()
    folder = tmp_path / "batch"
    folder.mkdir()
    seeds = sorted((ROOT / "corpus" / "seeds").glob("*.txt"))[:2]
    (folder / "a_first.txt").write_bytes(seeds[0].read_bytes())
    line = "项目名称：内存测试项目{0}，预算数{0}万元，执行数{0}万元，预算执行率88%，自评得分90分。\n"
    with (folder / "b_big.txt").open("w", encoding="utf-8") as f:
        for i in range(400_000):  # ~30 MB of text: several times the cap once split into lines and chunks
            f.write(line.format(i))
    (folder / "c_last.txt").write_bytes(seeds[1].read_bytes())
    res = cli("ingest", "--workers", "2", folder, "--json")
    assert res.exit_code == 1, res.stdout
    import json

    results = {r["filename"]: r for r in map(json.loads, res.stdout.splitlines()) if "filename" in r}
    assert results["b_big.txt"]["status"] == "error"
    assert results["b_big.txt"]["error_code"] in {"worker_memory", "worker_crashed"}
    assert results["a_first.txt"]["status"] == "ingested" and results["c_last.txt"]["status"] == "ingested"
    docs = cli("docs").stdout
    assert "a_first.txt" in docs and "c_last.txt" in docs and "b_big.txt" not in docs
    assert "内存测试项目" not in cli("search", "内存测试项目").stdout
    hit = cli("search", "养老保险")
    assert hit.exit_code == 0 and ("a_first" in hit.stdout or "c_last" in hit.stdout)


def _read_or_die(path: str, settings) -> tuple[str, str]:
    """A worker's read that kills its own process for one file, as the kernel or an aborting parser would."""
    if "crash" in Path(path).name:
        os.kill(os.getpid(), 9)
    return ("read", Path(path).name)


def test_a_worker_killed_mid_batch_fails_only_its_own_file(tmp_path):
    """A dead worker breaks the whole process pool; the file that killed it is found by reading it again
    alone, and every other file, before or after it in the queue, is still read."""
    from service.pipeline import _WorkerPool
    from service.settings import Settings

    names = ["a.txt", "b.txt", "crash.txt", "d.txt", "e.txt", "f.txt"]
    pool = _WorkerPool(2, Settings(data_dir=tmp_path / "data", worker_memory_mb=0), read=_read_or_die)
    try:
        pool.submit([(k, tmp_path / n) for k, n in enumerate(names)])
        outcomes = [pool.outcome(k, tmp_path / n) for k, n in enumerate(names)]
    finally:
        pool.close()
    assert [o[0] for o in outcomes] == ["read", "read", "worker_crashed", "read", "read", "read"]
    assert [o[1] for o in outcomes if o[0] == "read"] == ["a.txt", "b.txt", "d.txt", "e.txt", "f.txt"]
