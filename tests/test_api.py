"""The HTTP API, end to end: real reports from corpus/rendered ingested through the pipeline into a
temporary data dir, then every route through FastAPI's TestClient."""
from __future__ import annotations

import io
import threading
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from badfiles import make_corrupt_pdf
from service.api import create_app
from service.api.upload import read_upload, safe_filename
from service.errors import ConfigError, InputError
from service.pipeline import Pipeline
from service.settings import Settings
from service.store import Store

ROOT = Path(__file__).resolve().parent.parent
TXT = ROOT / "corpus" / "rendered" / "txt"
PDF = ROOT / "corpus" / "rendered" / "pdf"
STEMS = ("001_shangjie_pension_subsidy", "003_gaoxin_hrss_selfeval", "004_zhongyuan_medsec_accounts")
KEY = "k" * 8 + "-test-key-0123456789"
SQLISH = ["' OR '1'='1", "1; DROP TABLE documents; --", "%", "_", "\" OR \"\"=\"", "优' --"]


def error_of(res) -> str:
    body = res.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return body["error"]["code"]


# fixtures -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Three real reports (one project, 22 projects, 16 projects + 部门决算 tables), ingested once."""
    d = tmp_path_factory.mktemp("api-data")
    with Pipeline(Settings(data_dir=d)) as p:
        for stem in STEMS:
            r = p.ingest_path(TXT / f"{stem}.txt")
            assert r.status == "ingested", r.message
    return d


@pytest.fixture(scope="module")
def client(data_dir):
    with TestClient(create_app(Settings(data_dir=data_dir)), base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="module")
def docs(client) -> dict[str, dict]:
    return {d["filename"].rsplit(".", 1)[0]: d for d in client.get("/documents").json()}


@pytest.fixture
def fresh(tmp_path):
    """An empty data dir and a client on it, for the tests that write."""
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as c:
        c.settings = settings
        yield c


def upload(client, name: str, data: bytes, **kw):
    return client.post("/documents", files={"file": (name, data, "application/octet-stream")}, **kw)


def store_counts(settings: Settings) -> dict[str, int]:
    with Store(settings) as s:
        return s.counts()


# app and health ------------------------------------------------------------------------------------------

def test_building_the_app_touches_no_disk(tmp_path):
    create_app(Settings(data_dir=tmp_path / "later"))
    assert not (tmp_path / "later").exists()


def test_health(client):
    res = client.get("/health")
    assert res.status_code == 200
    body = res.json()
    assert body["status"] == "ok" and body["database"] == "sqlite" and body["documents"] == len(STEMS)
    assert body["llm_configured"] is False and body["auth_required"] is False and body["max_upload_mb"] == 100


def test_openapi_docs_list_every_route(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/documents", "/documents/{ref}", "/documents/{ref}/lines", "/projects", "/projects/{project_id}",
            "/findings", "/ask", "/reviews/{doc}", "/health"} <= set(paths)
    assert set(paths["/documents"]) == {"get", "post"} and "delete" in paths["/documents/{ref}"]
    upload_body = paths["/documents"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload_body


# documents -----------------------------------------------------------------------------------------------

def test_documents_list_and_get(client, docs):
    assert set(docs) == set(STEMS)
    d = docs["003_gaoxin_hrss_selfeval"]
    assert d["projects"] == 22 and d["pages"] == 28 and d["kind"] == "txt" and d["year"] == 2020
    assert sum(d["findings"].values()) > 0
    for ref in (d["doc_id"], d["doc_id"][:8], d["filename"]):
        assert client.get(f"/documents/{ref}").json() == d


def test_lines_of_a_page_hold_what_findings_cite(client, docs):
    finding = next(f for f in client.get("/findings").json() if f["refs"])
    ref = finding["refs"][0]
    res = client.get(f"/documents/{ref['doc_id']}/lines", params={"page": ref["page"]})
    assert res.status_code == 200
    body = res.json()
    assert body["page"] == ref["page"] and body["pages"] >= ref["page"]
    assert [ln["line_no"] for ln in body["lines"]] == list(range(1, len(body["lines"]) + 1))
    cited = [ln for ln in body["lines"] if ref["line_start"] <= ln["line_no"] <= ref["line_end"]]
    assert cited
    rows = [ln for ln in body["lines"] if ln["kind"] == "row"]
    assert all(ln["cells"] for ln in rows)


@pytest.mark.parametrize(("page", "status", "code"), [(999, 404, "not_found"), (0, 422, "invalid_request"),
                                                      ("x", 422, "invalid_request")])
def test_lines_of_a_missing_page(client, docs, page, status, code):
    res = client.get(f"/documents/{docs['001_shangjie_pension_subsidy']['doc_id']}/lines", params={"page": page})
    assert res.status_code == status and error_of(res) == code


# projects ------------------------------------------------------------------------------------------------

def test_projects_list_has_the_table_columns(client, docs):
    items = client.get("/projects").json()
    assert len(items) == 1 + 22 + 16
    p = next(x for x in items if x["filename"].startswith("001_"))
    assert p["name"] == "城乡居民基本养老保险费财政补助资金" and p["year"] == 2020
    assert (p["budget"], p["executed"], p["execution_rate"]) == (970.0, 909.5, 93.76)
    assert p["reported_total"] == p["recomputed_total"] == 99.31 and p["reported_grade"] == p["recomputed_grade"] == "优"
    assert p["variant"] == "henan-exec10"
    assert p["findings"] == {"error": 1, "warning": 1, "info": 0} and p["findings_total"] == 2


def test_projects_filters(client, docs):
    total = len(client.get("/projects").json())
    doc = docs["004_zhongyuan_medsec_accounts"]
    by_doc = client.get("/projects", params={"document": doc["doc_id"][:10]}).json()
    assert len(by_doc) == doc["projects"] and {p["doc_id"] for p in by_doc} == {doc["doc_id"]}
    assert {p["year"] for p in client.get("/projects", params={"year": 2022}).json()} == {2022}
    good = client.get("/projects", params={"grade": "优"}).json()
    assert good and all(p["reported_grade"].startswith("优") for p in good)
    low = client.get("/projects", params={"execution_below": 90}).json()
    assert low and all(p["execution_rate"] < 90 for p in low)
    with_f = client.get("/projects", params={"has_findings": True}).json()
    without = client.get("/projects", params={"has_findings": False}).json()
    assert all(p["findings_total"] for p in with_f) and not any(p["findings_total"] for p in without)
    assert len(with_f) + len(without) == total


@pytest.mark.parametrize("key", ["execution_rate", "budget", "name", "reported_total", "errors", "document",
                                 "recomputed_total"])
def test_projects_sort(client, key):
    field = {"errors": lambda p: p["findings"]["error"], "document": lambda p: p["filename"]}.get(
        key, lambda p: p[key])
    for desc in (False, True):
        items = client.get("/projects", params={"sort": f"{'-' if desc else ''}{key}"}).json()
        values = [field(p) for p in items]
        known = [v for v in values if v is not None]
        assert known == sorted(known, reverse=desc)
        assert values[len(known):] == [None] * (len(values) - len(known))  # unknown values last


def test_a_projects_page_recomputes_only_its_own_projects(client, data_dir, monkeypatch):
    """The recomputation (a document's extraction read back, every project's figures worked out) is made for
    the page's documents only (sorted by it, the stored reviewed scores order the list); a page is the same
    slice of the same order as the whole list, recomputed figures included."""
    import service.api.routers.projects as routes

    real, seen = routes._calc_document, []
    monkeypatch.setattr(routes, "_calc_document", lambda store, doc_id: (seen.append(doc_id), real(store, doc_id))[1])
    for sort in ("-execution_rate", "name", "-recomputed_total"):
        whole = client.get("/projects", params={"sort": sort}).json()
        seen.clear()
        with TestClient(create_app(Settings(data_dir=data_dir)), base_url="http://127.0.0.1:8000") as fresh_client:
            page = fresh_client.get("/projects", params={"sort": sort, "limit": 2, "offset": 5}).json()
        assert page == whole[5:7] and all(p["recomputed_total"] is not None for p in page)
        if sort == "-recomputed_total":  # ordered by the stored reviewed scores; projects without one recomputed
            assert {p["doc_id"] for p in page} <= set(seen)
        else:
            assert set(seen) == {p["doc_id"] for p in page} and len(set(seen)) < len({p["doc_id"] for p in whole})


@pytest.mark.parametrize("params", [{"sort": "name; DROP TABLE projects"}, {"year": "abc"}, {"execution_below": "-1"},
                                    {"limit": 0}])
def test_projects_bad_parameters(client, params):
    res = client.get("/projects", params=params)
    assert res.status_code == 422 and error_of(res) == "invalid_request"


def test_project_detail(client, docs):
    pid = next(p["id"] for p in client.get("/projects").json() if p["name"] == "劳动监察专项资金")
    res = client.get(f"/projects/{pid}")
    assert res.status_code == 200
    p = res.json()
    assert p["name"] == "劳动监察专项资金" and p["filename"].startswith("003_")
    assert p["funds"]["unit"] == "万元" and p["funds"]["executed"]["raw"] and p["funds"]["executed"]["ref"]
    assert len(p["indicators"]) >= 5 and sum(bool(i["level3"] and i["target"]) for i in p["indicators"]) >= 5
    labels = [f["label_zh"] for f in p["figures"]]
    assert "预算执行率" in labels and "总分" in labels
    assert any(f["differs"] for f in p["figures"])  # 99% reported vs 99.49% recomputed
    listed = client.get("/findings", params={"document": p["doc_id"]}).json()
    assert sorted(f["id"] for f in p["finding_list"]) == sorted(f["id"] for f in listed if f["project_id"] == pid)
    assert sum(p["findings"].values()) == len(p["finding_list"]) > 0
    for f in p["finding_list"]:
        assert f["rule_title_zh"] and f["message_zh"] and f["refs"]
    assert client.get(f"/projects/{p['unit_id']}").json()["id"] == pid


@pytest.mark.parametrize("ref", ["999999", "9" * 40, "nope", "1 OR 1=1", "1; DROP TABLE projects"])
def test_unknown_project(client, ref):
    res = client.get(f"/projects/{ref}")
    assert res.status_code == 404 and error_of(res) == "not_found"


# findings ------------------------------------------------------------------------------------------------

def test_findings_filters(client, docs):
    everything = client.get("/findings").json()
    assert len(everything) == sum(sum(d["findings"].values()) for d in docs.values())
    order = {"error": 0, "warning": 1, "info": 2}
    assert [order[f["severity"]] for f in everything] == sorted(order[f["severity"]] for f in everything)
    errors = client.get("/findings", params={"severity": "error"}).json()
    assert errors and {f["severity"] for f in errors} == {"error"}
    two = client.get("/findings", params=[("severity", "warning"), ("severity", "info")]).json()
    assert {f["severity"] for f in two} == {"warning", "info"}
    rule = errors[0]["rule_id"]
    assert {f["rule_id"] for f in client.get("/findings", params={"rule_id": rule}).json()} == {rule}
    doc = docs["001_shangjie_pension_subsidy"]
    mine = client.get("/findings", params={"document": doc["filename"]}).json()
    assert len(mine) == sum(doc["findings"].values()) and {f["doc_id"] for f in mine} == {doc["doc_id"]}
    assert all(f["project_id"] for f in mine)
    by_project = client.get("/findings", params={"project": "劳动监察"}).json()
    assert by_project and all("劳动监察" in f["project"] for f in by_project)


def test_findings_bad_severity(client):
    res = client.get("/findings", params={"severity": "fatal"})
    assert res.status_code == 422 and error_of(res) == "invalid_request"


@pytest.mark.parametrize("value", SQLISH)
def test_sql_looking_filters_are_just_text(client, data_dir, value):
    before = store_counts(Settings(data_dir=data_dir))
    for path, params in [("/findings", {"project": value}), ("/findings", {"rule_id": value}),
                         ("/projects", {"grade": value})]:
        res = client.get(path, params=params)
        assert res.status_code == 200, (path, params, res.text)
        if value not in ("%", "_"):
            assert res.json() == []
    for path, params in [("/projects", {"document": value}), ("/findings", {"document": value})]:
        res = client.get(path, params=params)
        assert res.status_code == 404 and error_of(res) == "not_found"
    # LIKE wildcards are escaped: "%" matches only names containing a literal "%"
    assert all("%" in (f["project"] or "") for f in client.get("/findings", params={"project": "%"}).json())
    assert store_counts(Settings(data_dir=data_dir)) == before


# ask -----------------------------------------------------------------------------------------------------

def test_ask_structured_with_verified_citations(client):
    res = client.post("/ask", json={"question": "哪些项目未完成绩效目标？"})
    assert res.status_code == 200, res.text
    a = res.json()
    assert a["route"].startswith("structured:") and a["answer"] and a["rows"]
    assert a["citations"] and [c["n"] for c in a["citations"]] == list(range(1, len(a["citations"]) + 1))
    for c in a["citations"][:5]:
        assert c["verified"] and c["filename"]
        lines = client.get(f"/documents/{c['doc_id']}/lines", params={"page": c["page"]}).json()["lines"]
        cited = [ln for ln in lines if c["line_start"] <= ln["line_no"] <= c["line_end"]]
        assert cited


def test_ask_open_question(client):
    res = client.post("/ask", json={"question": "劳动监察专项资金存在哪些问题？原因是什么？"})
    assert res.status_code == 200, res.text
    a = res.json()
    assert a["answer"] and a["route"]
    assert all(c["verified"] for c in a["citations"])


def test_ask_english(client):
    a = client.post("/ask", json={"question": "Which projects have an execution rate below 90%?"}).json()
    assert a["route"].startswith("structured:") and a["rows"]


def test_ask_filters(client, docs):
    doc = docs["003_gaoxin_hrss_selfeval"]
    a = client.post("/ask", json={"question": "预算执行率低于90%的项目有哪些？",
                                  "filters": {"document": doc["filename"]}}).json()
    assert a["rows"] and {r["doc_id"] for r in a["rows"]} == {doc["doc_id"]}
    res = client.post("/ask", json={"question": "预算执行率是多少？", "filters": {"document": "nope.pdf"}})
    assert res.status_code == 404 and error_of(res) == "not_found"
    res = client.post("/ask", json={"question": "预算执行率是多少？", "filters": {"sql": "1=1"}})
    assert res.status_code == 422 and error_of(res) == "invalid_request"


@pytest.mark.parametrize("question", ["", "   ", "？？？", "问" * 10_000])
def test_ask_invalid_question(client, question):
    res = client.post("/ask", json={"question": question})
    assert res.status_code == 400 and error_of(res) == "invalid_question"


@pytest.mark.parametrize("body", [{}, {"question": 42}, {"question": None}, {"q": "hi"}])
def test_ask_malformed_body(client, body):
    res = client.post("/ask", json=body)
    assert res.status_code == 422 and error_of(res) == "invalid_request"


def test_ask_not_json(client):
    res = client.post("/ask", content=b"question=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert res.status_code == 422 and error_of(res) == "invalid_request"


@pytest.mark.parametrize("question", [f"{s} 执行率是多少" for s in SQLISH] + ["'; DELETE FROM findings; --"])
def test_sql_looking_questions_are_just_text(client, data_dir, question):
    before = store_counts(Settings(data_dir=data_dir))
    res = client.post("/ask", json={"question": question})
    assert res.status_code == 200, res.text
    assert store_counts(Settings(data_dir=data_dir)) == before


def test_json_bodies_are_size_limited(client):
    res = client.post("/ask", content=b'{"question": "' + b"a" * 1_200_000 + b'"}',
                      headers={"Content-Type": "application/json"})
    assert res.status_code == 413 and error_of(res) == "too_large"


# reviews -------------------------------------------------------------------------------------------------

def _disposition_name(res) -> str:
    cd = res.headers["content-disposition"]
    assert cd.startswith("attachment;") and 'filename="' in cd
    return unquote(cd.split("filename*=UTF-8''", 1)[1])


def test_review_downloads_open(client, docs):
    import docx
    import openpyxl

    doc = docs["003_gaoxin_hrss_selfeval"]
    md = client.get(f"/reviews/{doc['doc_id']}", params={"format": "md"})
    assert md.status_code == 200 and md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert _disposition_name(md) == "003_gaoxin_hrss_selfeval_审核意见.md"
    assert "劳动监察专项资金" in md.text

    dx = client.get(f"/reviews/{doc['filename']}", params={"format": "docx"})
    assert dx.status_code == 200
    assert dx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert _disposition_name(dx).endswith("_审核意见.docx")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(dx.content)).paragraphs)
    assert "劳动监察专项资金" in text

    xl = client.get(f"/reviews/{doc['doc_id'][:8]}", params={"format": "xlsx"})
    assert xl.status_code == 200
    assert xl.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(xl.content))
    cells = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert any("劳动监察专项资金" in v for v in cells)

    # the 发文版 leaves the reviewer's appendix out; the PDF is the same document
    issued = client.get(f"/reviews/{doc['doc_id']}", params={"format": "md", "edition": "issue"})
    assert "R-EXEC-SCORE" in md.text and "R-EXEC-SCORE" not in issued.text and "## 四、整改要求与时限" in issued.text
    pdf = client.get(f"/reviews/{doc['doc_id']}", params={"format": "pdf", "edition": "issue"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and _disposition_name(pdf).endswith("_审核意见.pdf")


def test_review_of_one_project(client, docs):
    doc = docs["003_gaoxin_hrss_selfeval"]
    res = client.get(f"/reviews/{doc['doc_id']}", params={"format": "md", "project": "劳动监察专项资金"})
    assert res.status_code == 200
    assert _disposition_name(res) == "003_gaoxin_hrss_selfeval_审核意见_劳动监察专项资金.md"
    assert "劳动监察专项资金" in res.text and "就业专项资金" not in res.text
    unit = next(p["unit_id"] for p in client.get("/projects", params={"document": doc["doc_id"]}).json()
                if p["name"] == "劳动监察专项资金")
    assert client.get(f"/reviews/{doc['doc_id']}", params={"project": unit}).text == res.text


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    ("/reviews/feedface", {}, 404, "not_found"),
    ("/reviews/003_gaoxin_hrss_selfeval.txt", {"format": "odt"}, 422, "invalid_request"),
    ("/reviews/003_gaoxin_hrss_selfeval.txt", {"project": "没有这个项目"}, 404, "not_found"),
])
def test_review_errors(client, path, params, status, code):
    res = client.get(path, params=params)
    assert res.status_code == status and error_of(res) == code


# errors and keys -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("get", "/documents/feedface", 404, "not_found"),
    ("get", "/documents/../../etc/passwd", 404, "not_found"),
    ("delete", "/documents/feedface", 404, "not_found"),
    ("get", "/no/such/route", 404, "not_found"),
    ("post", "/health", 405, "method_not_allowed"),
])
def test_errors_are_json_with_stable_codes(client, method, path, status, code):
    res = getattr(client, method)(path)
    assert res.status_code == status and error_of(res) == code


def test_api_keys_guard_everything_but_health_and_the_page(tmp_path):
    settings = Settings(data_dir=tmp_path, api_keys=[KEY])
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/health").json()["auth_required"] is True
        assert c.get("/").status_code == 200 and c.get("/static/app.js").status_code == 200
        routes = [("get", "/documents"), ("get", "/documents/x"), ("get", "/documents/x/lines"),
                  ("delete", "/documents/x"), ("get", "/projects"), ("get", "/projects/1"), ("get", "/findings"),
                  ("get", "/reviews/x")]
        for method, path in routes:
            res = getattr(c, method)(path)
            assert res.status_code == 401 and error_of(res) == "unauthorized", path
            assert res.headers["www-authenticate"]
            res = getattr(c, method)(path, headers={"X-API-Key": "wrong"})
            assert res.status_code == 403 and error_of(res) == "forbidden", path
        res = c.post("/ask", json={"question": "执行率"})
        assert res.status_code == 401
        assert c.post("/ask", json={"question": "执行率"}, headers={"X-API-Key": KEY[:-1]}).status_code == 403
        res = upload(c, "a.txt", b"x" * 10)
        assert res.status_code == 401 and error_of(res) == "unauthorized"
        assert c.get("/documents", headers={"X-API-Key": KEY}).json() == []
        assert c.post("/ask", json={"question": "执行率低于90%的项目"}, headers={"X-API-Key": KEY}).status_code == 200


@pytest.mark.parametrize("key", ["changeme", "secret", "short", "", "   "])
def test_placeholder_or_short_keys_are_refused_at_start(tmp_path, key):
    with pytest.raises(ConfigError):
        create_app(Settings(data_dir=tmp_path, api_keys=[key]))


def test_web_page_and_static_files(client):
    res = client.get("/")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in res.text and "/static/app.css" in res.text and "Content-Security-Policy" in res.text
    assert "http://" not in res.text and "https://" not in res.text  # nothing from a CDN
    js = client.get("/static/app.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js  # document text only ever as text
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404
    # GET / set the page's CSRF cookie; from now on this client is a "browser" whose writes need the header
    token = client.cookies.get("jixiao_csrf")
    assert token and "X-Jixiao-CSRF" in js
    assert client.post("/ask", json={"question": "哪些项目未完成绩效目标？"}).status_code == 403
    assert client.post("/ask", json={"question": "哪些项目未完成绩效目标？"}, headers={"X-Jixiao-CSRF": token}).status_code == 200
    client.cookies.clear()  # the module's other tests use this client as a plain API client


# uploads (each on an empty data dir) ---------------------------------------------------------------------

def test_upload_pdf_then_the_same_bytes_again(fresh):
    data = (PDF / "001_shangjie_pension_subsidy.pdf").read_bytes()
    res = upload(fresh, "001_shangjie_pension_subsidy.pdf", data)
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["status"] == "ingested" and body["kind"] == "pdf" and body["projects"] == 1 and body["pages"] == 7
    assert body["findings"] == sum(body["by_severity"].values()) and body["warnings"] == []
    again = upload(fresh, "renamed.pdf", data)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["doc_id"] == body["doc_id"]
    (doc,) = fresh.get("/documents").json()
    assert doc["filename"] == "001_shangjie_pension_subsidy.pdf"
    # the new document is at once in the project list and answerable
    assert [p["name"] for p in fresh.get("/projects").json()] == ["城乡居民基本养老保险费财政补助资金"]
    a = fresh.post("/ask", json={"question": "城乡居民基本养老保险费财政补助资金的预算执行率是多少？"}).json()
    assert "93.76" in a["answer"] and a["citations"]


def test_upload_over_the_limit(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=0.01)  # 10 KiB
    big = (TXT / "003_gaoxin_hrss_selfeval.txt").read_bytes()  # ~62 KiB: within the multipart slack
    huge = big * 4  # ~250 KiB: refused from Content-Length alone
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as c:
        for data in (big, huge):
            res = upload(c, "big.txt", data)
            assert res.status_code == 413 and error_of(res) == "too_large"
        assert c.get("/documents").json() == []


async def _stream(body: bytes, chunk: int, headers: dict[str, str], seen: list[int]):
    from starlette.requests import Request

    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]

    async def receive():
        k = len(seen)
        seen.append(k)
        if k >= len(chunks):
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunks[k], "more_body": k + 1 < len(chunks)}

    scope = {"type": "http", "method": "POST", "path": "/documents",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    return Request(scope, receive)


def _multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----jixiaoTestBoundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.anyio
@pytest.mark.parametrize("declare_length", [True, False])
async def test_size_limit_is_enforced_while_streaming(declare_length):
    body, ctype = _multipart("big.pdf", b"%PDF" + b"0" * 5_000_000)
    headers = {"content-type": ctype}
    if declare_length:
        headers["content-length"] = str(len(body))
    seen: list[int] = []
    request = await _stream(body, 64 * 1024, headers, seen)
    with pytest.raises(InputError) as exc:
        await read_upload(request, max_bytes=100 * 1024)
    assert exc.value.code == "too_large"
    # refused after at most the limit plus the slack, never after reading all 5 MB
    assert len(seen) <= (0 if declare_length else 4)


@pytest.mark.anyio
async def test_streaming_reader_returns_the_file():
    data = (TXT / "001_shangjie_pension_subsidy.txt").read_bytes()
    body, ctype = _multipart("../../报告.txt", data)
    request = await _stream(body, 1000, {"content-type": ctype}, [])
    got = await read_upload(request, max_bytes=len(data))
    assert got.filename == "报告.txt" and got.data == data


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.parametrize(("name", "status", "code"), [
    ("report.doc", 415, "unsupported_type"), ("report.exe", 415, "unsupported_type"),
    ("report", 415, "unsupported_type"), (".pdf", 415, "unsupported_type"),
])
def test_upload_wrong_type(fresh, name, status, code):
    res = upload(fresh, name, b"some bytes")
    assert res.status_code == status and error_of(res) == code
    assert fresh.get("/documents").json() == []


def test_upload_empty_and_corrupt_files(fresh, tmp_path):
    res = upload(fresh, "empty.pdf", b"")
    assert res.status_code == 400 and error_of(res) == "empty_file"
    res = upload(fresh, "truncated.pdf", make_corrupt_pdf(tmp_path).read_bytes())
    assert res.status_code == 400 and error_of(res) in ("corrupt_pdf", "not_a_pdf")
    assert fresh.get("/documents").json() == []


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../../etc/passwd.txt", "passwd.txt"), ("..\\..\\windows\\win.txt", "win.txt"),
    ("/abs/path/报告.txt", "报告.txt"), ("C:\\Users\\x\\a.txt", "a.txt"), ("..hidden.txt", "hidden.txt"),
    ("a\x00b\r\n.txt", "ab.txt"), ("x" * 300 + ".txt", "x" * 196 + ".txt"),
])
def test_safe_filename(raw, safe):
    assert safe_filename(raw) == safe


@pytest.mark.parametrize("raw", ["", "..", "/", "../", "\x00"])
def test_safe_filename_refuses_nothing_left(raw):
    with pytest.raises(InputError):
        safe_filename(raw)


def test_upload_with_a_path_traversal_name(fresh, tmp_path):
    data = (TXT / "001_shangjie_pension_subsidy.txt").read_bytes()
    res = upload(fresh, "../../../../tmp/evil/../passwd.txt", data)
    assert res.status_code == 201, res.text
    assert res.json()["filename"] == "passwd.txt"
    assert fresh.get("/documents").json()[0]["filename"] == "passwd.txt"
    written = {p.name for p in tmp_path.rglob("*")}
    assert "passwd.txt" not in written  # the name is a label, never a path
    assert not Path("/tmp/evil").exists()
    res = upload(fresh, "..", data)
    assert res.status_code == 400 and error_of(res) == "invalid_input"


@pytest.mark.parametrize("kw", [
    {"content": b"just bytes", "headers": {"Content-Type": "application/pdf"}},
    {"data": {"file": "not a file"}},
    {"files": {"other": ("a.txt", b"abc")}},
    {"files": [("file", ("a.txt", b"abc")), ("file", ("b.txt", b"def"))]},
    {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
])
def test_upload_malformed_requests(fresh, kw):
    res = fresh.post("/documents", **kw)
    assert res.status_code == 400 and error_of(res) == "invalid_input"


def test_concurrent_uploads_of_the_same_file_store_it_once(fresh):
    data = (TXT / "001_shangjie_pension_subsidy.txt").read_bytes()
    results: list = []
    barrier = threading.Barrier(6)

    def worker(k: int) -> None:
        barrier.wait()
        results.append(upload(fresh, f"copy{k}.txt", data))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    assert len({r.json()["doc_id"] for r in results}) == 1
    assert len(fresh.get("/documents").json()) == 1
    assert len(fresh.get("/projects").json()) == 1
    counts = store_counts(fresh.settings)
    assert counts["documents"] == 1 and counts["projects"] == 1


def test_delete_removes_the_document_and_its_chunks(fresh):
    keep = upload(fresh, "keep.txt", (TXT / "001_shangjie_pension_subsidy.txt").read_bytes()).json()
    gone = upload(fresh, "gone.txt", (TXT / "003_gaoxin_hrss_selfeval.txt").read_bytes()).json()
    index = fresh.app.state.index
    assert gone["doc_id"] in index.documents()
    res = fresh.delete(f"/documents/{gone['doc_id'][:12]}")
    assert res.status_code == 200
    assert res.json() == {"doc_id": gone["doc_id"], "filename": "gone.txt", "deleted": True, "index_deleted": True}
    assert fresh.get(f"/documents/{gone['doc_id']}").status_code == 404
    assert [d["doc_id"] for d in fresh.get("/documents").json()] == [keep["doc_id"]]
    assert {p["doc_id"] for p in fresh.get("/projects").json()} == {keep["doc_id"]}
    assert {f["doc_id"] for f in fresh.get("/findings").json()} <= {keep["doc_id"]}
    assert gone["doc_id"] not in index.documents()
    a = fresh.post("/ask", json={"question": "劳动监察专项资金存在什么问题？"}).json()
    assert all(c["doc_id"] == keep["doc_id"] for c in a["citations"])
    assert fresh.delete(f"/documents/{gone['doc_id']}").status_code == 404
    counts = store_counts(fresh.settings)
    assert counts["documents"] == 1 and counts["lines"] == keep["lines"]


# answer cache and lanes ----------------------------------------------------------------------------------

def test_answers_are_cached_per_store_state(fresh):
    q = {"question": "预算执行率低于95%的项目有哪些？"}
    upload(fresh, "a.txt", (TXT / "001_shangjie_pension_subsidy.txt").read_bytes())
    first = fresh.post("/ask", json=q)
    assert first.headers["x-jixiao-cache"] == "miss"
    again = fresh.post("/ask", json=q)
    assert again.headers["x-jixiao-cache"] == "hit" and again.json() == first.json()
    forced = fresh.post("/ask", json=q, headers={"Cache-Control": "no-cache"})
    assert forced.headers["x-jixiao-cache"] == "miss" and forced.json() == first.json()
    other = fresh.post("/ask", json={**q, "filters": {"year": 2020}})
    assert other.headers["x-jixiao-cache"] == "miss"
    # a new document changes the answer at once: the upload empties the cache
    doc = upload(fresh, "b.txt", (TXT / "003_gaoxin_hrss_selfeval.txt").read_bytes()).json()
    after = fresh.post("/ask", json=q)
    assert after.headers["x-jixiao-cache"] == "miss"
    assert doc["doc_id"] in {r["doc_id"] for r in after.json()["rows"]}
    fresh.delete(f"/documents/{doc['doc_id']}")
    gone = fresh.post("/ask", json=q)
    assert gone.headers["x-jixiao-cache"] == "miss" and gone.json() == first.json()
    # errors are never cached
    for _ in range(2):
        assert fresh.post("/ask", json={"question": ""}).status_code == 400


def test_a_write_by_another_process_is_seen(fresh):
    q = {"question": "哪些项目未完成绩效目标？"}
    upload(fresh, "a.txt", (TXT / "001_shangjie_pension_subsidy.txt").read_bytes())
    before = fresh.post("/ask", json=q).json()
    with Pipeline(fresh.settings) as p:  # e.g. `jixiao ingest` beside the server
        assert p.ingest_path(TXT / "003_gaoxin_hrss_selfeval.txt").status == "ingested"
    fresh.app.state.store._checked_at = 0.0  # instead of waiting out the one-second freshness window
    after = fresh.post("/ask", json=q)
    assert after.headers["x-jixiao-cache"] == "miss" and after.json() != before
    assert len(fresh.get("/documents").json()) == 2


def test_questions_take_the_lane_of_their_route(client):
    from service.api.routers.ask import lane_of

    client.get("/documents")  # opens the store
    store = client.app.state.store
    for question, lane in [("哪些项目未完成绩效目标？", "exact"), ("2022年度收入合计是多少？", "exact"),
                           ("劳动监察专项资金的预算执行率是多少？", "exact"), ("下一步改进措施有哪些？", "open"),
                           ("预算最多的项目是哪个？", "exact"), ("创业扶持的执行率", "exact"),
                           ("", "exact"), ("问" * 1000, "exact")]:
        assert lane_of(question, store) == lane, question
    for question in ("哪些项目未完成绩效目标？", "下一步改进措施有哪些？"):
        route = client.post("/ask", json={"question": question}, headers={"Cache-Control": "no-cache"}).json()["route"]
        assert (lane_of(question, store) == "open") == route.startswith("open")


def test_without_a_working_index_uploads_store_and_exact_questions_answer(tmp_path):
    from service.pipeline import resolve_steps

    def broken_index(settings):
        raise RuntimeError("chroma is down")

    steps = resolve_steps()
    steps.index = broken_index
    app = create_app(Settings(data_dir=tmp_path / "data"))
    app.state.steps = steps
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        res = upload(c, "a.txt", (TXT / "001_shangjie_pension_subsidy.txt").read_bytes())
        assert res.status_code == 201 and "not indexed" in res.json()["warnings"][0]
        a = c.post("/ask", json={"question": "城乡居民基本养老保险费财政补助资金的预算执行率是多少？"})
        assert a.status_code == 200 and "93.76" in a.json()["answer"]
        assert c.post("/ask", json={"question": "下一步改进措施有哪些？"}).status_code == 200


def test_reviewed_score_of_an_unreadable_score_column(client, docs):
    """003 被征地农民社会保障费 types 优/良 into 得分: no reviewed total, 无法复核 and the reason, as in the drafts."""
    doc = docs["003_gaoxin_hrss_selfeval"]
    row = next(p for p in client.get("/projects", params={"document": doc["doc_id"]}).json()
               if p["name"] == "被征地农民社会保障费")
    assert row["reported_total"] == 90 and row["recomputed_total"] is None
    p = client.get(f"/projects/{row['id']}").json()
    fig = {f["label_zh"]: f for f in p["figures"]}
    assert fig["复核得分"]["recomputed"] == "无法复核" and fig["复核得分"]["differs"]
    assert "该表得分栏填报不规范，无法复核，请重新填报" in fig["复核说明"]["recomputed"]
    ok = next(p for p in client.get("/projects", params={"document": doc["doc_id"]}).json()
              if p["name"] == "创业扶持资金")
    fig = {f["label_zh"]: f for f in client.get(f"/projects/{ok['id']}").json()["figures"]}
    assert float(fig["复核得分"]["recomputed"]) == ok["recomputed_total"] < ok["reported_total"]
    assert "预算执行得分" in fig["复核说明"]["recomputed"]


def test_upload_backend_parameter(fresh):
    data = (TXT / "002_soe_reform_medical.txt").read_bytes()
    res = fresh.post("/documents?backend=llm", files={"file": ("r.txt", data, "text/plain")})
    assert res.status_code == 400 and error_of(res) == "llm_not_configured"  # no model on this server
    assert fresh.get("/documents").json() == []
    res = fresh.post("/documents?backend=rules", files={"file": ("r.txt", data, "text/plain")})
    assert res.status_code == 201 and res.json()["projects"] >= 1
