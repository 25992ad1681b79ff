"""The hybrid index on real reports: Chinese questions, filters, idempotence, delete, crash + reconcile,
no network, and the retrieval gold resolving against the rendered corpus."""
from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path

import pytest

from retrieval.index import (
    HybridIndex,
    SearchFilters,
    collection_name,
    expand_query,
    has_figure,
    named_issuers,
    named_labels,
    query_tokens,
    strip_labels,
    tokenize,
    wants_figure,
)
from retrieval.loaders import load_path

ROOT = Path(__file__).resolve().parent.parent
TXT = ROOT / "corpus" / "rendered" / "txt"


def settings(tmp_path: Path, **kw):
    from service.settings import Settings

    return Settings(_env_file=None, data_dir=tmp_path, **kw)


def load(stem: str):
    return load_path(TXT / f"{stem}.txt", max_bytes=50 * 1024 * 1024)


def units(doc):
    from retrieval.index import _segment

    return _segment(doc)


@pytest.fixture(scope="module")
def docs():
    return {s: load(s) for s in ("001_shangjie_pension_subsidy", "003_gaoxin_hrss_selfeval",
                                 "004_zhongyuan_medsec_accounts")}


@pytest.fixture(scope="module")
def index(tmp_path_factory, docs):
    idx = HybridIndex(settings(tmp_path_factory.mktemp("idx")))
    for doc in docs.values():
        idx.upsert_document(doc, units(doc))
    return idx


def texts(hits):
    return [h.chunk.text for h in hits]


# ---------------------------------------------------------------------------------------------------------
# finding things


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param("劳动监察专项资金的执行数和预算执行进度", "执行数:\t4.9745\t99%", id="row-003"),
    pytest.param("城乡居民基本养老保险费财政补助资金全年执行数和执行率", "970.00 970.00 909.50 93.76%", id="form-001"),
    pytest.param("城乡医疗救助人次为什么没有完成", "年初设置目标过低。", id="deviation-004"),
    pytest.param("公务员医疗补助总成本指标的年度目标值", "≤48000000元", id="target-004"),
    pytest.param("城乡医疗救助项目存在的问题", "一是预算执行率较低;二是绩效目标设置过底", id="section-004"),
    pytest.param("What is the government procurement execution rate of the department?", "执行率为24.83%",
                 id="english"),
])
def test_questions_find_their_passage(index, query, expected):
    hits = index.search(query, k=5)
    assert any(expected in t for t in texts(hits)), [t[:50] for t in texts(hits)]


def test_hits_carry_their_source(index, docs):
    hits = index.search("劳动监察专项资金 日常检查企业数", k=5)
    hit = next(h for h in hits if "日常检查企业数" in h.chunk.text)
    c = hit.chunk
    doc = docs["003_gaoxin_hrss_selfeval"]
    assert c.doc_id == doc.doc_id and c.kind == "row"
    assert doc.line(c.page, c.line_start).text == c.text  # the source line says exactly this
    assert hit.source.startswith("003_gaoxin_hrss_selfeval p") and hit.rank <= 5
    assert json.loads(json.dumps(hit.to_dict(), ensure_ascii=False))["chunk"]["project"] == c.project


def test_bm25_drops_non_matching_chunks(index):
    assert index.search("zzzzqqqq", k=5, mode="bm25") == []
    hits = index.search("彩票公益金", k=50, mode="bm25")
    assert hits and all(h.bm25_score and h.bm25_score > 0 for h in hits)


def test_label_prior_helpers():
    labels = {"城乡医疗救助": {"城乡", "乡医", "医疗", "疗救", "救助"},
              "公务员医疗补助": {"公务", "务员", "员医", "医疗", "疗补", "补助"}}
    assert named_labels("城乡医疗救助项目存在的问题", labels) == ["城乡医疗救助"]
    assert named_labels("预算执行率怎么计算", labels) == []
    assert strip_labels("城乡医疗救助项目存在的问题", ["城乡医疗救助"]) == "项目存在的问题"
    assert "=" in expand_query("预算执行率怎么计算")
    assert "满意度" in expand_query("What is the satisfaction rate?")
    assert expand_query("满意度") == "满意度"


def test_nested_project_names_name_the_longer_one():
    labels = {"公务员医疗补助": {"公务", "务员", "员医", "医疗", "疗补", "补助"},
              "公务员医疗补助追加": {"公务", "务员", "员医", "医疗", "疗补", "补助", "助追", "追加"}}
    assert named_labels("公务员医疗补助追加项目的预算执行率", labels) == ["公务员医疗补助追加"]
    assert named_labels("公务员医疗补助的全年执行数", labels) == ["公务员医疗补助"]


def test_issuer_names_are_found_and_taken_out():
    aliases = {"郑州市中原区医疗保障局": {"d4"}, "中原区医疗保障局": {"d4"}, "医疗保障局": {"d4"}, "人社局": {"d0", "d3"}}
    found, rest = named_issuers("中原区医疗保障局2022年度收支总计是多少", aliases)
    assert found == ["中原区医疗保障局"] and rest == "2022年度收支总计是多少"
    assert named_issuers("预算执行率怎么计算", aliases) == ([], "预算执行率怎么计算")


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param("中原区医疗保障局2022年度收支总计是多少", "2022年度收、支总计均为736.87万元", id="totals"),
    pytest.param("医疗保障局三公经费预算和决算", "“三公”经费财政拨款支出预算为0万元", id="sangong"),
])
def test_questions_naming_the_department_find_the_passage_not_its_name(index, query, expected):
    hits = index.search(query, k=5)
    assert any(expected in t for t in texts(hits)), [t[:50] for t in texts(hits)]
    assert not any(t.startswith("项目名称:") for t in texts(hits)[:2])  # the project title pages repeat the name


def test_formula_definitions_and_quantity_questions(tmp_path):
    from retrieval.index import get_tokenizer

    tok = get_tokenizer(tmp_path / "jieba")
    doc_tokens = tokenize("执行情况。预算执行率=(实际支出资金/实际到位资金)×100%。", tok)
    assert "=预算执行率" in doc_tokens and "=执行率" in doc_tokens
    asked = query_tokens(expand_query("预算执行率怎么计算"), tok)
    assert "=预算执行率" in asked and "=怎么计算" not in asked  # its words; its own `=` defines nothing
    assert not any(t.startswith("=") and len(t) > 1 for t in query_tokens("预算执行率是多少", tok))
    assert wants_figure("公务员医疗补助追加项目的预算执行率") and wants_figure("How much was spent?")
    assert not wants_figure("预算执行率为什么偏低") and not wants_figure("城乡医疗救助项目存在的问题")
    assert has_figure("执行数:\t3.36\t33.6%") and not has_figure("2022年度项目资金(中原财绩〔2023〕1号)")


# ---------------------------------------------------------------------------------------------------------
# exact vectors, determinism


def test_exact_vector_search_agrees_with_chroma_and_repeats(index):
    q = "城乡医疗救助项目预算执行率较低"
    qv = index.embedder.embed_query(q)
    state = index._state()
    ours = state.nearest(qv, 5, None)
    res = index.collection.query(query_embeddings=[qv], n_results=5, include=["distances"])
    assert state.chunks[ours[0][0]].chunk_id == res["ids"][0][0]
    assert abs(ours[0][1] - (1.0 - res["distances"][0][0])) < 1e-4
    again = HybridIndex(index.settings)  # another process's view of the same index
    assert [h.chunk.chunk_id for h in again.search(q, k=10)] == [h.chunk.chunk_id for h in index.search(q, k=10)]


def test_vector_fallback_keeps_filters(index, docs, monkeypatch):
    d3 = docs["003_gaoxin_hrss_selfeval"].doc_id
    state = index._state()
    monkeypatch.setattr(state, "vectors", None)  # e.g. a collection whose embeddings cannot be read
    hits = index.search("预算执行率", k=10, filters={"doc_id": d3}, mode="vector")
    assert hits and {h.chunk.doc_id for h in hits} == {d3}


def test_tokens_are_not_stored_in_chroma(index):
    got = index.collection.get(limit=5, include=["metadatas"])
    assert got["metadatas"] and all("bm25" not in m for m in got["metadatas"])


# ---------------------------------------------------------------------------------------------------------
# filters


def test_filters(index, docs):
    d3 = docs["003_gaoxin_hrss_selfeval"].doc_id
    hits = index.search("预算执行率", k=20, filters={"doc_id": d3})
    assert hits and {h.chunk.doc_id for h in hits} == {d3}
    hits = index.search("预算执行率", k=20, filters={"project": "公务员医疗补助"})
    assert hits and all("公务员医疗补助" in h.chunk.project for h in hits)
    hits = index.search("预算执行率", k=20, filters={"year": 2020})
    assert hits and all(h.chunk.year == 2020 for h in hits)
    hits = index.search("支出", k=20, filters={"unit_kind": "accounts"})
    assert hits and all(h.chunk.unit_kind == "accounts" for h in hits)
    hits = index.search("问题", k=20, filters={"section": "存在的问题"})
    assert hits and all("存在的问题" in h.chunk.section for h in hits)
    assert index.search("预算执行率", k=5, filters={"project": "没有这个项目"}) == []
    with pytest.raises(ValueError):
        SearchFilters.of({"colour": "red"})


# ---------------------------------------------------------------------------------------------------------
# writes: idempotence, delete, crash + reconcile


def test_collection_name_follows_settings(tmp_path):
    from retrieval.embedding import HashedNgramEmbedder

    base = collection_name(settings(tmp_path), HashedNgramEmbedder(512))
    assert base.startswith("jixiao-") and 3 <= len(base) <= 512
    assert collection_name(settings(tmp_path, chunk_max_chars=300), HashedNgramEmbedder(512)) != base
    assert collection_name(settings(tmp_path), HashedNgramEmbedder(256)) != base
    idx = HybridIndex(settings(tmp_path, embedding_dim=256))
    assert idx.name == collection_name(settings(tmp_path, embedding_dim=256), HashedNgramEmbedder(256))
    assert (tmp_path / "chroma").is_dir()


def test_reindex_is_idempotent_and_delete_removes(tmp_path, docs):
    idx = HybridIndex(settings(tmp_path))
    doc = docs["001_shangjie_pension_subsidy"]
    first = idx.upsert_document(doc, units(doc))
    n = idx.count()
    assert first.changed and n == first.chunks > 0
    ids = list(idx.documents()[doc.doc_id]["chunk_ids"])
    again = idx.upsert_document(doc, units(doc))
    assert not again.changed and idx.count() == n
    forced = idx.upsert_document(doc, units(doc), force=True)
    assert forced.changed and idx.count() == n and idx.documents()[doc.doc_id]["chunk_ids"] == ids
    assert idx.search("自评总得分99.31分", k=3)
    assert idx.delete_document(doc.doc_id)
    assert idx.count() == 0 and idx.documents() == {}
    assert idx.search("自评总得分99.31分", k=3) == []
    assert idx.search("自评总得分", k=3, mode="bm25") == []  # gone from BM25 too
    assert not idx.delete_document(doc.doc_id)


def test_crash_between_chroma_and_manifest_then_reconcile(tmp_path, docs, monkeypatch):
    s = settings(tmp_path)
    a, b = docs["001_shangjie_pension_subsidy"], docs["003_gaoxin_hrss_selfeval"]
    idx = HybridIndex(s)
    idx.upsert_document(a, units(a))
    n_a = idx.count()

    def crash(self, put, drop=()):
        raise KeyboardInterrupt("power cut after the Chroma write")

    monkeypatch.setattr(HybridIndex, "_update_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        idx.upsert_document(b, units(b))
    monkeypatch.undo()

    # a new process: Chroma holds b's chunks, the manifest does not know b
    idx2 = HybridIndex(s)
    assert b.doc_id not in idx2.documents() and idx2.count() > n_a
    fetched = []

    def fetch(doc_id):
        fetched.append(doc_id)
        doc = {a.doc_id: a, b.doc_id: b}[doc_id]
        return doc, units(doc)

    report = idx2.reconcile([a.doc_id, b.doc_id], fetch)
    assert report.readded == [b.doc_id] and report.ok == 1 and fetched == [b.doc_id]
    n_b = len(idx2.documents()[b.doc_id]["chunk_ids"])
    assert idx2.count() == n_a + n_b  # no duplicates, nothing missing
    assert idx2.reconcile([a.doc_id, b.doc_id], fetch).clean  # nothing left to do

    # the store deleted `a` but the index delete never ran: reconcile drops the orphan
    report = idx2.reconcile([b.doc_id], fetch)
    assert report.removed == [a.doc_id] and idx2.count() == n_b
    assert all(h.chunk.doc_id == b.doc_id for h in idx2.search("城乡居民基本养老保险费", k=10))


def test_crash_inside_the_chroma_write_then_reconcile(tmp_path, docs, monkeypatch):
    s = settings(tmp_path)
    a = docs["001_shangjie_pension_subsidy"]
    idx = HybridIndex(s)
    calls = {"n": 0}
    real_upsert = idx.collection.upsert

    def flaky_upsert(**kw):
        calls["n"] += 1
        real_upsert(**{k: v[:3] for k, v in kw.items()})  # a partial batch lands, then the crash
        raise RuntimeError("disk full")

    monkeypatch.setattr(idx.collection, "upsert", flaky_upsert)
    with pytest.raises(RuntimeError):
        idx.upsert_document(a, units(a))
    idx2 = HybridIndex(s)
    assert idx2.documents() == {} and idx2.count() == 3
    report = idx2.reconcile([a.doc_id])  # without fetch: reported, not repaired
    assert report.missing == [a.doc_id]
    report = idx2.reconcile([a.doc_id], lambda d: (a, units(a)))
    assert report.readded == [a.doc_id]
    assert idx2.count() == len(idx2.documents()[a.doc_id]["chunk_ids"])


def test_pipeline_style_call_without_units(tmp_path, docs):
    """service.pipeline calls upsert_document(doc, None) when extraction found no units."""
    idx = HybridIndex(settings(tmp_path))
    doc = docs["001_shangjie_pension_subsidy"]
    assert idx.upsert_document(doc, None).chunks > 0


def test_jieba_cache_lives_in_the_data_dir(index):
    index.tokenizer  # (its first use; run alone, nothing in the fixture had cut text yet)
    assert any((index.data_dir / "jieba").glob("jieba*.cache"))


# ---------------------------------------------------------------------------------------------------------
# no network


def _loopback(address) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def test_indexing_and_querying_never_touch_the_network(tmp_path, monkeypatch, docs):
    attempts = []
    real_connect, real_connect_ex, real_create = socket.socket.connect, socket.socket.connect_ex, socket.create_connection

    def connect(self, address):
        if not _loopback(address):
            attempts.append(address)
            raise OSError(f"network access attempted: {address}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not _loopback(address):
            attempts.append(address)
            raise OSError(f"network access attempted: {address}")
        return real_connect_ex(self, address)

    def create_connection(address, *args, **kwargs):
        if not _loopback(address):
            attempts.append(address)
            raise OSError(f"network access attempted: {address}")
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    idx = HybridIndex(settings(tmp_path / "fresh"))  # new client, new collection, new jieba cache
    doc = docs["004_zhongyuan_medsec_accounts"]
    idx.upsert_document(doc, units(doc))
    assert idx.search("城乡医疗救助存在的问题", k=5)
    assert idx.search("How much was spent on the housing provident fund?", k=5, filters={"unit_kind": "accounts"})
    idx.delete_document(doc.doc_id)
    assert attempts == []


# ---------------------------------------------------------------------------------------------------------
# the benchmark's gold


def test_retrieval_gold_resolves_against_the_rendered_corpus():
    from eval.retrieval import load_corpus, load_gold, resolve_gold

    questions = load_gold()
    assert len(questions) >= 80
    assert len({q.qid for q in questions}) == len(questions)
    docs = load_corpus()
    assert resolve_gold(questions, docs) == []  # every quote found, exactly once
    stems = {g.stem for q in questions for g in q.gold}
    assert stems == set(docs)  # all five reports
    assert {q.lang for q in questions} == {"zh", "en"}


def test_retrieval_gold_has_a_held_out_split():
    from eval.retrieval import GOLD_PATH, load_gold

    raw = json.loads(GOLD_PATH.read_text("utf-8"))["questions"]
    assert all(q.get("split") in ("dev", "test") for q in raw)  # every item says which split it is in
    dev, test = load_gold(splits=("dev",)), load_gold(splits=("test",))
    assert [q.qid for q in dev] == [f"r{i:03d}" for i in range(1, 108)]  # the questions tuned on
    assert len(test) >= 40 and sum(q.lang == "en" for q in test) >= 8
    assert {g.stem for q in test for g in q.gold} == {g.stem for q in dev for g in q.gold}  # all five reports
    assert not {q.question for q in dev} & {q.question for q in test}


def test_eval_reports_per_split_and_overall():
    from eval.retrieval import SystemResult, format_table, parse_splits, score

    rows = [{"id": "a", "split": "dev", "recall@5": 1.0, "recall@10": 1.0, "first_hit": 1},
            {"id": "b", "split": "dev", "recall@5": 0.0, "recall@10": 1.0, "first_hit": 8},
            {"id": "c", "split": "test", "recall@5": 0.0, "recall@10": 0.0, "first_hit": None}]
    hybrid = SystemResult("hybrid", 1 / 3, 2 / 3, (1 + 1 / 8) / 3, 3, 10, 1.0, rows)
    d = hybrid.to_dict()
    assert {"recall@5", "recall@10", "mrr", "splits"} <= set(d)
    assert d["splits"]["dev"] == {"recall@5": 0.5, "recall@10": 1.0, "mrr": 0.5625, "questions": 2}
    assert d["splits"]["test"]["recall@5"] == 0.0 and d["splits"]["test"]["questions"] == 1
    base = SystemResult("baseline", 0.0, 1 / 3, 1 / 24, 3, 5, 0.1, [dict(r, **{"recall@5": 0.0}) for r in rows])
    table = format_table([hybrid, base])
    assert "hybrid     dev" in table and "hybrid     test" in table and "hybrid     all" in table
    assert "lead over baseline" in table and "dev +50.0" in table
    assert parse_splits("all") is None and parse_splits("dev") == ("dev",)
    with pytest.raises(ValueError):
        parse_splits("train")
    assert callable(score)


def test_baseline_chunks_map_to_lines(docs):
    from eval.retrieval import fixed_chunks

    doc = docs["001_shangjie_pension_subsidy"]
    chunks = fixed_chunks(doc)
    assert all(len(c.text) <= 500 for c in chunks)
    assert chunks[0].page == 1 and chunks[0].line_start == 1
    assert (chunks[-1].page_end, chunks[-1].line_end) == list(doc.iter_lines())[-1].key


# ---------------------------------------------------------------------------------------------------------
# CLI


def test_search_cli_on_paths(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from service.cli import app
    from service.settings import get_settings

    monkeypatch.setenv("JIXIAO_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        path = str(TXT / "001_shangjie_pension_subsidy.txt")
        out = runner.invoke(app, ["search", "城乡居民基本养老保险费财政补助资金自评总得分", "--k", "3", "--json",
                                  "--path", path])
        assert out.exit_code == 0, out.output
        data = json.loads(out.output)
        assert len(data["hits"]) == 3 and data["hits"][0]["source"].startswith("001_shangjie_pension_subsidy")
        out = runner.invoke(app, ["search", "自评总得分", "--path", path])
        assert out.exit_code == 0 and " 1. 001_shangjie_pension_subsidy p" in out.output
    finally:
        get_settings.cache_clear()


def test_bulk_reads_are_paginated_and_agree_with_one_page(tmp_path, docs, monkeypatch):
    """Every bulk Chroma read goes page by page (one get over 32,766 chunks fails inside SQLite): with a
    page of 7 chunks the index holds, reconciles and ranks exactly as with one page."""
    import retrieval.index as ix

    one = HybridIndex(settings(tmp_path / "one"))
    for doc in docs.values():
        one.upsert_document(doc, units(doc))
    expected = [(h.chunk.chunk_id, round(h.score, 6)) for h in one.search("劳动监察专项资金 日常检查企业数", k=8)]
    calls = []
    monkeypatch.setattr(ix, "GET_PAGE", 7)
    paged = HybridIndex(settings(tmp_path / "one"))
    paged._snapshot_path.unlink()  # the first index left a snapshot of its state: build from Chroma here
    real_get = paged.collection.get

    def counting_get(*a, **kw):
        calls.append(kw.get("limit"))
        return real_get(*a, **kw)

    monkeypatch.setattr(paged.collection, "get", counting_get, raising=False)
    got = [(h.chunk.chunk_id, round(h.score, 6)) for h in paged.search("劳动监察专项资金 日常检查企业数", k=8)]
    assert got == expected
    assert calls and all(limit == 7 for limit in calls if limit is not None) and len(calls) > one.count() // 7
    report = paged.reconcile(set(d.doc_id for d in docs.values()))
    assert report.clean and report.ok == len(docs)


def test_two_deployments_on_one_chroma_server_keep_their_data(tmp_path, docs):
    """Two deployments (own stores) on one Chroma server: each reconcile touches only its own collection."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chromadb package ships the `chroma` server command"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "chroma server did not start"
                time.sleep(0.3)
        url = f"http://127.0.0.1:{port}"
        a = HybridIndex(settings(tmp_path / "a", chroma_url=url))
        b = HybridIndex(settings(tmp_path / "b", chroma_url=url))
        assert a.name != b.name
        (da, db, dc) = docs.values()
        for idx, mine in ((a, [da, db]), (b, [dc])):
            for doc in mine:
                idx.upsert_document(doc, units(doc))
        count_a, count_b = a.count(), b.count()
        ra = a.reconcile({da.doc_id, db.doc_id})
        rb = b.reconcile({dc.doc_id})
        assert ra.clean and rb.clean and not ra.removed and not rb.removed
        assert (a.count(), b.count()) == (count_a, count_b)
        assert {h.chunk.doc_id for h in b.search("劳动监察专项资金", k=20)} <= {dc.doc_id}
    finally:
        server.terminate()
        server.wait(10)


def test_repair_goes_on_past_a_document_it_cannot_index(tmp_path, docs):
    idx = HybridIndex(settings(tmp_path))
    (da, db, dc) = docs.values()

    def fetch(doc_id):
        if doc_id == db.doc_id:
            raise ValueError("stored record unreadable")
        doc = next(d for d in docs.values() if d.doc_id == doc_id)
        return doc, units(doc)

    report = idx.reconcile(sorted([da.doc_id, db.doc_id, dc.doc_id]), fetch)
    assert [d for d, _ in report.failed] == [db.doc_id] and "unreadable" in report.failed[0][1]
    assert set(report.readded) == {da.doc_id, dc.doc_id} and not report.clean
    assert set(idx.documents()) == {da.doc_id, dc.doc_id}
    assert idx.search("劳动监察专项资金", k=3)


def test_a_new_process_loads_the_search_snapshot_until_the_index_changes(tmp_path, docs, monkeypatch):
    (da, db, dc) = docs.values()
    first = HybridIndex(settings(tmp_path))
    for doc in (da, db):
        first.upsert_document(doc, units(doc))
    query = "劳动监察专项资金 日常检查企业数"
    expected = [(h.chunk.chunk_id, round(h.score, 6)) for h in first.search(query, k=8)]
    assert first._snapshot_path.exists()

    second = HybridIndex(settings(tmp_path))
    calls = []
    real_get = second.collection.get
    monkeypatch.setattr(second.collection, "get", lambda *a, **kw: calls.append(kw) or real_get(*a, **kw),
                        raising=False)
    assert [(h.chunk.chunk_id, round(h.score, 6)) for h in second.search(query, k=8)] == expected
    assert calls == []  # nothing pulled out of Chroma: the snapshot answered

    first.upsert_document(dc, units(dc))  # a write bumps the generation: the snapshot is stale now
    third = HybridIndex(settings(tmp_path))
    assert third._load_snapshot() is None
    assert dc.doc_id in {h.chunk.doc_id for h in third.search("城乡医疗救助 门诊", k=20)}
    assert third._load_snapshot() is not None  # rebuilt and saved for the next process


def test_an_older_json_manifest_is_imported_once(tmp_path, docs):
    a = docs["001_shangjie_pension_subsidy"]
    idx = HybridIndex(settings(tmp_path))
    idx.upsert_document(a, units(a))
    entry = idx.documents()[a.doc_id]
    idx.close()
    # what an earlier version left: the JSON manifest, no SQLite one
    idx.manifest_db_path.unlink()
    for extra in ("-wal", "-shm"):
        Path(str(idx.manifest_db_path) + extra).unlink(missing_ok=True)
    idx.manifest_path.write_text(json.dumps({"collection": idx.name, "generation": 7, "docs": {a.doc_id: entry}}),
                                 encoding="utf-8")
    again = HybridIndex(settings(tmp_path))
    assert again.documents() == {a.doc_id: entry} and again.generation() > 7
    assert not again.manifest_path.exists()
    assert again.reconcile([a.doc_id]).clean


def test_a_failing_approximate_vector_search_leaves_the_lexical_results(index, monkeypatch):
    """Without exact vectors a search falls back to Chroma's HNSW query, which can fail while another process
    writes the collection ("Error finding id"): the search answers from BM25 instead of failing."""
    state = index._state()
    monkeypatch.setattr(state, "vectors", None)

    class Broken:
        def query(self, **kw):
            raise RuntimeError("Error executing plan: Internal error: Error finding id")

    monkeypatch.setattr(index, "_collection", Broken())
    hits = index.search("劳动监察专项资金 日常检查企业数", k=5)
    assert hits and all(h.vector_rank is None for h in hits) and any("日常检查" in h.chunk.text for h in hits)


def test_the_snapshot_keeps_chunks_as_columns_and_vectors_beside(index, tmp_path):
    """A snapshot written and read back gives the same chunks and vectors (memory-mapped) as the state."""
    state = index._state()
    index._save_snapshot(state, index.generation())
    loaded = index._load_snapshot()
    assert loaded is not None and len(loaded.chunks) == len(state.chunks)
    assert [loaded.chunks[i] for i in (0, len(state.chunks) - 1)] == [state.chunks[0], state.chunks[-1]]
    assert loaded.vectors is not None and loaded.vectors.shape == state.vectors.shape
    assert float(abs(loaded.vectors[3] - state.vectors[3]).max()) == 0.0
    assert index.search("劳动监察专项资金", k=3)[0].chunk.chunk_id in loaded.by_id


def _state_view(state):
    """What a search reads from a state, independent of how the vocabulary happens to be numbered."""
    import numpy as np

    cols = state.chunks.columns
    inv = {i: t for t, i in state.vocab.items()}
    off = state.token_offsets
    tokens = [[inv[int(t)] for t in state.token_ids[off[i]:off[i + 1]]] for i in range(len(state.chunks))]
    return cols, tokens, np.asarray(state.vectors), state.issuers, state.labels, state.docs


def test_a_stale_snapshot_is_updated_with_the_changed_documents_only_and_equals_a_full_build(tmp_path, docs,
                                                                                            monkeypatch):
    """An ingest after the snapshot: the next process reads back only the new document's chunks (by id) and
    drops the removed one's, and its state is the one a rebuild from Chroma gives: the same chunks in the
    same order, tokens, vectors, BM25 scores and search results."""
    import numpy as np

    (da, db, dc) = docs.values()
    first = HybridIndex(settings(tmp_path))
    for doc in (da, db):
        first.upsert_document(doc, units(doc))
    first.refresh_search_state()
    assert first._snapshot_stamp()[2] == first.generation()
    first.upsert_document(dc, units(dc))
    first.delete_document(da.doc_id)

    second = HybridIndex(settings(tmp_path))
    asked = []
    real_get = second.collection.get
    monkeypatch.setattr(second.collection, "get", lambda *a, **kw: asked.append(kw) or real_get(*a, **kw),
                        raising=False)
    monkeypatch.setattr(second, "_build_state", lambda: pytest.fail("rebuilt from Chroma instead of updated"))
    updated = second._state()
    assert asked and all(kw.get("ids") and set(kw["ids"]) <= set(second.documents()[dc.doc_id]["chunk_ids"])
                         for kw in asked)
    assert {d for d in updated.docs} == {db.doc_id, dc.doc_id} and None not in updated.docs.values()
    monkeypatch.undo()

    for path in tmp_path.glob("chroma/*.state.*"):  # a third process with no snapshot rebuilds from Chroma
        if path.is_file():
            path.unlink()
    rebuilt = HybridIndex(settings(tmp_path))._state()
    (c1, t1, v1, i1, l1, d1), (c2, t2, v2, i2, l2, d2) = _state_view(updated), _state_view(rebuilt)
    assert c1 == c2 and t1 == t2 and i1 == i2 and l1 == l2 and d1 == d2
    assert np.array_equal(v1, v2) and v1.shape[0] == len(c1["chunk_id"])
    assert not any(d == da.doc_id for d in c1["doc_id"])
    for query in ("劳动监察专项资金 日常检查企业数", "城乡医疗救助 门诊", "养老保险 补助 执行率"):
        toks = second.query_tokens(query)
        s1 = updated.search(toks, 50, None)
        s2 = rebuilt.search(toks, 50, None)
        assert [(c1["chunk_id"][i], s) for i, s in s1] == [(c2["chunk_id"][i], s) for i, s in s2] and s1
    # the updated snapshot was saved: the next process of this generation loads it
    assert second._load_snapshot() is not None


def test_tokens_cut_by_a_reading_worker_spare_the_writer_jieba_and_give_the_same_state(tmp_path, docs,
                                                                                        monkeypatch):
    """`ingest --workers N`: the workers cut the chunks for BM25 (IndexInput.tokens), so the writer's search
    state after the ingest cuts nothing itself, and it is exactly the state a fresh process builds by
    cutting everything again."""
    import numpy as np

    import retrieval.index as ri
    from retrieval.embedding import make_embedder

    first = HybridIndex(settings(tmp_path))
    tok = ri.get_tokenizer(tmp_path / "worker-jieba")  # a worker's own tokenizer
    pre = [ri.prepare_index_input(d, units(d), first.settings, make_embedder(first.settings), tokenizer=tok)
           for d in docs.values()]
    assert all(p.tokens is not None and len(p.tokens) == len(p.chunks) for p in pre)
    # the worker hashed the chunks too (IndexInput.digest): the manifest holds exactly what the writer's own
    # hash gives, and the writer does not hash them again
    assert all(p.digest == ri.content_hash(p.chunks) for p in pre)
    monkeypatch.setattr(ri, "content_hash", lambda *a: pytest.fail("the writer hashed chunks a worker had hashed"))
    first.upsert_documents([(d, units(d), p) for d, p in zip(docs.values(), pre)])
    monkeypatch.undo()
    assert {d: e["content_hash"] for d, e in first.documents().items()} == {
        d.doc_id: p.digest for d, p in zip(docs.values(), pre)}
    monkeypatch.setattr(ri, "tokenize_chunks", lambda *a: pytest.fail("the writer cut chunks a worker had cut"))
    made = first._state()
    monkeypatch.undo()
    assert not first._tokens  # handed over to the state, not kept twice
    for path in tmp_path.glob("chroma/*.state.*"):
        if path.is_file():
            path.unlink()
    rebuilt = HybridIndex(settings(tmp_path))._state()
    (c1, t1, v1, *r1), (c2, t2, v2, *r2) = _state_view(made), _state_view(rebuilt)
    assert c1 == c2 and t1 == t2 and r1 == r2 and np.array_equal(v1, v2) and len(t1) > 100


def test_a_new_data_dir_takes_jiebas_dictionary_cache_from_the_machines_copy(tmp_path, monkeypatch):
    """jieba builds its dictionary cache once per machine (JIXIAO_CACHE_DIR): a second data dir copies it
    into its own jieba dir instead of building it again, and cuts exactly as the first; an empty
    JIXIAO_CACHE_DIR turns the machine's copy off."""
    import jieba

    import retrieval.index as ri

    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(tmp_path / "machine"))
    first = ri.get_tokenizer(tmp_path / "a" / "jieba")
    shared = list((tmp_path / "machine").glob("jieba-*.cache"))
    assert len(shared) == 1 and shared[0].read_bytes() == (tmp_path / "a" / "jieba" / "jieba.cache").read_bytes()
    monkeypatch.setattr(jieba.Tokenizer, "gen_pfdict", lambda *a: pytest.fail("jieba built the cache again"))
    second = ri.get_tokenizer(tmp_path / "b" / "jieba")
    assert (tmp_path / "b" / "jieba" / "jieba.cache").read_bytes() == shared[0].read_bytes()
    text = "部门整体支出绩效自评表 预算执行率 县残疾人联合会"
    assert list(second.cut_for_search(text)) == list(first.cut_for_search(text))
    monkeypatch.undo()
    monkeypatch.setenv("JIXIAO_CACHE_DIR", "")
    ri.get_tokenizer(tmp_path / "c" / "jieba")
    assert any((tmp_path / "c" / "jieba").glob("jieba*.cache"))
    assert len(list((tmp_path / "machine").iterdir())) == 1  # nothing new, and no temp file left


def test_packed_tokens_round_trip_and_a_token_holding_the_separator_is_cut_again():
    from retrieval.index import _pack_tokens, _unpack_tokens

    for tokens in ((["预算", "执行率", "~预算"], ["项目", "=执行率"]), ([], ["表头"]), (["100%"], []), ([], [])):
        assert _unpack_tokens(_pack_tokens(tokens)) == tokens
    assert _pack_tokens((["a\x1fb"], [])) is None and _pack_tokens(([], ["x\x1ey"])) is None


def test_bm25_postings_score_exactly_as_bm25s(index):
    """retrieval.lexical re-implements bm25s's lucene BM25 over flat ids; on the real chunks of three reports
    every query's scores are bit-identical to bm25s's own index."""
    import bm25s
    import numpy as np

    from retrieval.index import BM25_B, BM25_K1

    state = index._state()
    off = state.token_offsets
    ids = [state.token_ids[off[i]:off[i + 1]].tolist() for i in range(len(state.chunks))]
    model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    model.index((ids, dict(state.vocab)), show_progress=False)
    postings = state.postings
    for query in ("劳动监察专项资金的执行数", "城乡医疗救助人次为什么没有完成", "预算执行率 偏差 原因", "养老保险"):
        qids = [state.vocab[t] for t in dict.fromkeys(index.query_tokens(query)) if t in state.vocab]
        assert qids
        assert np.array_equal(np.asarray(model.get_scores(qids), dtype=np.float32), postings.scores(qids))


def test_reconcile_of_a_consistent_index_reads_no_chunk_back_and_an_extra_chunk_is_still_found(tmp_path, docs,
                                                                                                 monkeypatch):
    a = docs["001_shangjie_pension_subsidy"]
    idx = HybridIndex(settings(tmp_path))
    idx.upsert_document(a, units(a))
    real = idx._chroma_ids_by_doc
    monkeypatch.setattr(idx, "_chroma_ids_by_doc", lambda: pytest.fail("read every chunk of a consistent index"))
    assert idx.reconcile([a.doc_id]).clean
    monkeypatch.setattr(idx, "_chroma_ids_by_doc", real)
    # a stray chunk of a known document (a write the manifest never recorded): the counts differ, so the
    # full comparison runs and the document is indexed again
    got = idx.collection.get(limit=1, include=["documents", "metadatas", "embeddings"])
    idx.collection.add(ids=["stray-chunk"], documents=got["documents"], metadatas=got["metadatas"],
                       embeddings=got["embeddings"])
    report = idx.reconcile([a.doc_id], lambda d: (a, units(a)))
    assert report.readded == [a.doc_id]
    assert idx.count() == len(idx.documents()[a.doc_id]["chunk_ids"])


def test_everyday_words_are_expanded_to_the_reports_words():
    assert "讨要工资" in expand_query("劳动监察 讨薪 金额")
    assert expand_query("劳动监察专项资金的执行率") == "劳动监察专项资金的执行率"


def test_text_contains_looks_names_up_in_a_keyed_corpus_kept_per_generation(tmp_path, docs):
    from service.qa.names import light_key

    (da, db, dc) = docs.values()
    idx = HybridIndex(settings(tmp_path))
    idx.upsert_document(da, units(da))
    assert idx.text_contains(["城乡居民基本养老保险费", "劳动监察专项资金", ""], light_key) == [True, False, True]
    kept = list(idx.root.glob("*.text.light_key.*"))
    assert len(kept) == 1
    idx.upsert_document(db, units(db))  # a new generation: the keyed corpus is made again, the old one goes
    assert idx.text_contains(["劳动监察专项资金"], light_key) == [True]
    assert [p.name for p in idx.root.glob("*.text.light_key.*")] != [p.name for p in kept]
    assert len(list(idx.root.glob("*.text.light_key.*"))) == 1


def test_questions_are_cut_from_the_dictionarys_sqlite_copy_exactly_as_from_the_whole_dictionary(tmp_path,
                                                                                                 monkeypatch):
    """A process that only asks looks jieba's dictionary up in a SQLite copy (loading all of it was 0.2 s of
    every open `jixiao ask`): the first such process writes the copy, later ones use it, and every cut is
    the whole dictionary's; a dictionary cache rebuilt since makes the copy stale, not trusted."""
    import retrieval.index as ri

    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(tmp_path / "machine"))
    cache_dir = tmp_path / "jieba"
    full = ri.get_tokenizer(cache_dir)
    first = ri.get_query_tokenizer(cache_dir)
    copy = list(cache_dir.glob("*.freq.sqlite3"))
    assert len(copy) == 1 and isinstance(first.FREQ, ri._FreqTable)
    ri._TOKENIZERS.pop("query:" + str(cache_dir))
    lazy = ri.get_query_tokenizer(cache_dir)
    assert isinstance(lazy.FREQ, ri._FreqTable) and lazy is not first
    lines = [ln.strip() for p in sorted(TXT.glob("*.txt")) for ln in p.read_text(encoding="utf-8").splitlines()
             if ln.strip()][:1500]
    questions = ["项目存在哪些主要问题？", "高新区人社局执行率低于60%的项目有哪些？", "预算执行率怎么计算",
                 "How is the cost saving rate (成本节约率) calculated?", "县残疾人联合会部门整体支出绩效自评表"]
    for text in lines + questions:
        assert ri.query_tokens(text, lazy) == ri.query_tokens(text, full), text
    # another data dir starts from the machine's copy (its dictionary cache is a copy of the machine's too)
    other = tmp_path / "other" / "jieba"
    ri.get_tokenizer(other)
    monkeypatch.setattr(ri, "_write_freq_table", lambda *a: pytest.fail("the copy was made again"))
    again = ri.get_query_tokenizer(other)
    assert isinstance(again.FREQ, ri._FreqTable) and list(other.glob("*.freq.sqlite3"))
    assert ri.query_tokens(questions[1], again) == ri.query_tokens(questions[1], full)
    # a dictionary cache that changed (jieba rebuilt it): no copy matches it any more
    cache = cache_dir / "jieba.cache"
    cache.write_bytes(cache.read_bytes() + b"\0")
    assert ri._freq_table(cache) is None
