from __future__ import annotations

import threading
from pathlib import Path
from decimal import Decimal

import pytest
from sqlalchemy import text

from service.errors import InputError, NotFoundError
from service.models import Finding
from service.settings import Settings
from service.store import Store
from storeutil import dump, sample_extraction, sample_findings, seed_doc, text_doc


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture
def store(settings):
    with Store(settings) as s:
        yield s


@pytest.fixture
def stored(store):
    doc = seed_doc()
    extraction = sample_extraction(doc)
    findings = sample_findings(extraction)
    assert store.save_document(doc, extraction, findings) == (doc.doc_id, True)
    return doc, extraction, findings


def test_sqlite_file_lives_in_data_dir_with_wal_and_foreign_keys(store, settings):
    assert (settings.data_dir / "jixiao.sqlite3").is_file()
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_document_round_trips_lines_tables_and_extraction(store, stored):
    doc, extraction, _ = stored
    row = store.get_document(doc.doc_id)
    assert (row.filename, row.kind, row.page_count, row.line_count) == (doc.filename, "txt", 1, doc.line_count)
    assert row.year == 2020 and row.projects == 2
    assert row.findings == {"error": 1, "warning": 1, "info": 1}
    assert store.get_loaded(doc.doc_id).pages == doc.pages
    assert store.get_extraction(doc.doc_id) == extraction


def test_table_rows_keep_cells_and_positions(store):
    doc = seed_doc("004_zhongyuan_medsec_accounts")
    store.save_document(doc)
    loaded = store.get_loaded(doc.doc_id)
    assert loaded.pages == doc.pages
    rows = [ln for ln in store.get_lines(doc.doc_id) if ln.kind == "row"]
    assert rows and all(ln.cells is not None and ln.text == "\t".join(ln.cells) for ln in rows)
    assert sum(len(p.tables) for p in loaded.pages) == store.counts()["doc_tables"] > 0


def test_same_bytes_twice_changes_nothing_and_says_so(store, stored):
    doc, extraction, findings = stored
    before = dump(store)
    assert store.save_document(seed_doc(), extraction, findings) == (doc.doc_id, False)
    assert dump(store) == before


def test_failure_inside_the_transaction_leaves_the_store_unchanged(store, stored):
    before = dump(store)
    other = seed_doc("001_shangjie_pension_subsidy")
    extraction = sample_extraction(other)
    # A finding for another document fails after the document and its lines were written in the transaction.
    wrong = sample_findings(stored[1])
    with pytest.raises(ValueError, match="belongs to"):
        store.save_document(other, extraction, wrong)
    assert dump(store) == before
    assert not store.has_document(other.doc_id)


def test_get_document_by_id_prefix_or_filename(store, stored):
    doc = stored[0]
    assert store.get_document(doc.doc_id[:6]).doc_id == doc.doc_id
    assert store.get_document(doc.doc_id.upper()[:8]).doc_id == doc.doc_id
    assert store.get_document(doc.filename).doc_id == doc.doc_id
    with pytest.raises(NotFoundError) as err:
        store.get_document("nope.pdf")
    assert err.value.code == "not_found" and "nope.pdf" in str(err.value)
    with pytest.raises(NotFoundError):
        store.get_document(doc.doc_id[:3])  # too short to be taken as a prefix


def test_ambiguous_prefix_and_filename_are_refused(store):
    a = text_doc("甲\n".encode(), "same.txt", sha256="abcd" + "1" * 60)
    b = text_doc("乙\n".encode(), "same.txt", sha256="abcd" + "2" * 60)
    store.save_document(a)
    store.save_document(b)
    for ref in ("abcd", "same.txt"):
        with pytest.raises(InputError) as err:
            store.get_document(ref)
        assert err.value.code == "ambiguous_document"
    assert store.get_document("abcd1").doc_id == a.doc_id


def test_get_lines_by_page(store):
    doc = seed_doc("004_zhongyuan_medsec_accounts")
    store.save_document(doc)
    page3 = store.get_lines(doc.doc_id, page=3)
    assert page3 == doc.pages[2].lines
    with pytest.raises(NotFoundError, match="pages 1–35"):
        store.get_lines(doc.doc_id, page=36)


def test_head_lines_are_page_ones_first_lines_for_many_documents_at_once(store):
    docs = [seed_doc("004_zhongyuan_medsec_accounts"), seed_doc()]
    for doc in docs:
        store.save_document(doc)
    heads = store.head_lines([d.doc_id for d in docs] + ["0" * 64], limit=5)
    for doc in docs:
        assert heads[doc.doc_id] == [ln.text for ln in doc.pages[0].lines[:5]]
        assert heads[doc.doc_id] == [ln.text for ln in store.get_lines(doc.doc_id, page=1)[:5]]
    assert heads["0" * 64] == []  # an unknown id has no lines, not an error


def test_list_projects_filters(store, stored):
    doc = stored[0]
    names = lambda rows: [r.name for r in rows]  # noqa: E731
    assert names(store.list_projects()) == ["集体破产企业退休人员医疗费", "城乡居民养老保险补助"]
    assert names(store.list_projects(doc_id=doc.doc_id, year=2021)) == ["城乡居民养老保险补助"]
    assert names(store.list_projects(grade="优")) == ["集体破产企业退休人员医疗费"]
    assert names(store.list_projects(execution_below=90)) == ["城乡居民养老保险补助"]
    assert names(store.list_projects(execution_below=Decimal("93.77"))) == names(store.list_projects())
    assert names(store.list_projects(has_findings=True)) == ["集体破产企业退休人员医疗费"]
    assert names(store.list_projects(has_findings=False)) == ["城乡居民养老保险补助"]
    assert store.list_projects(doc_id="0" * 64) == []


def test_project_row_figures(store, stored):
    first = store.list_projects()[0]
    assert (first.adjusted_budget, first.executed, first.reported_rate) == (Decimal(600), Decimal("562.56"),
                                                                            Decimal("93.76"))
    assert first.execution_rate == Decimal("93.76") and first.reported_total == Decimal(95)
    assert first.reported_grade == "优秀" and first.findings == 3 and first.amount_unit == "万元"
    assert store.get_project(first.id) == first == store.get_project(first.unit_id)
    assert store.get_project(str(first.id)).evaluation == stored[1].projects[0]
    with pytest.raises(NotFoundError):
        store.get_project(999)


def test_list_findings_filters_and_orders_errors_first(store, stored):
    assert [f.severity for f in store.list_findings()] == ["error", "warning", "info"]
    assert [f.rule_id for f in store.list_findings(rule_id="R-GRADE")] == ["R-GRADE"]
    assert [f.rule_id for f in store.list_findings(severity=["warning", "info"])] == ["R-EXEC-EXPLAIN", "R-GRADE"]
    assert len(store.list_findings(project="破产企业")) == 3
    assert store.list_findings(project="养老") == []
    row = store.list_findings(severity="error")[0]
    assert row.finding.refs[0].line_start == 12 and row.finding.reported == "93.76%"


def test_replace_findings_is_idempotent(store, stored):
    doc, extraction, findings = stored
    new = findings[1:2]
    assert store.replace_findings(doc.doc_id, new) == 1
    once = dump(store)
    store.replace_findings(doc.doc_id, new)
    assert dump(store)["findings"][0][1:] == once["findings"][0][1:]  # same row apart from the new id
    assert [f.finding for f in store.list_findings(doc_id=doc.doc_id)] == new
    assert store.get_document(doc.doc_id).findings == {"error": 1}
    store.replace_findings(doc.doc_id, [])
    assert store.list_findings() == []
    with pytest.raises(NotFoundError):
        store.replace_findings("f" * 64, new)


def test_artifacts_put_get_and_overwrite(store, stored):
    doc = stored[0]
    assert store.get_artifact(doc.doc_id, "summary", stored[1].summaries[0].unit_id)["title"] == "项目自评汇总表"
    store.put_artifact(doc.doc_id, "review", "md", {"text": "草稿"})
    store.put_artifact(doc.doc_id, "review", "md", {"text": "定稿"})
    assert store.get_artifact(doc.doc_id, "review", "md") == {"text": "定稿"}
    assert [a.key for a in store.list_artifacts(doc.doc_id, kind="review")] == ["md"]
    assert store.get_artifact(doc.doc_id, "review", "docx") is None
    with pytest.raises(NotFoundError):
        store.put_artifact("e" * 64, "review", "md", {})


def test_delete_document_removes_every_row(store, stored):
    other = seed_doc("002_soe_reform_medical")
    store.save_document(other)
    alone = dump(Store(Settings(data_dir=store.settings.data_dir / "fresh")))  # empty store's dump shape
    assert store.delete_document(stored[0].doc_id) is True
    assert store.delete_document(stored[0].doc_id) is False
    counts = store.counts()
    assert counts["documents"] == 1 and counts["lines"] == other.line_count
    assert counts["projects"] == counts["findings"] == counts["units"] == counts["artifacts"] == 0
    store.delete_document(other.doc_id)
    assert dump(store) == alone


def test_concurrent_writers_store_the_same_document_once(settings):
    doc = seed_doc("004_zhongyuan_medsec_accounts")
    extraction = sample_extraction(doc)
    findings = sample_findings(extraction)
    Store(settings).close()  # schema first, so the race is about the document, not CREATE TABLE
    n = 4
    barrier = threading.Barrier(n)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def writer():
        with Store(settings) as own:  # one engine each, as separate processes would have
            barrier.wait()
            try:
                results.append(_save_racing(own, doc, extraction, findings))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert sorted(created for _, created in results) == [False] * (n - 1) + [True]
    with Store(settings) as s:
        counts = s.counts()
    assert counts["documents"] == 1 and counts["lines"] == doc.line_count and counts["findings"] == 3


def _save_racing(store: Store, doc, extraction, findings: list[Finding]) -> tuple[str, bool]:
    """Skip the "already stored?" fast path once, so every writer really reaches the INSERT."""
    real = store.has_document
    first = [True]

    def has_document(doc_id: str) -> bool:
        if first[0]:
            first[0] = False
            return False
        return real(doc_id)

    store.has_document = has_document
    return store.save_document(doc, extraction, findings)


def test_row_grids_survive_the_store(tmp_path):
    """The grid (column, span) of each cell is stored with its line, so a document read back from the store
    can be re-read by the form reader exactly as the loader gave it."""
    from retrieval.loaders import load_path

    doc = load_path(Path(__file__).resolve().parent.parent / "corpus" / "rendered" / "docx" /
                    "003_gaoxin_hrss_selfeval.docx", max_bytes=100_000_000)
    with Store(Settings(data_dir=tmp_path / "d")) as store:
        store.save_document(doc)
        back = store.get_loaded(doc.doc_id)
    grids = [(ln.cells, ln.grid) for ln in doc.iter_lines() if ln.kind == "row"]
    assert any(g and any(span > 1 for _, span in g) for _, g in grids)
    assert [(ln.cells, ln.grid) for ln in back.iter_lines() if ln.kind == "row"] == grids


def test_a_store_made_before_an_index_was_declared_gets_it_and_keeps_its_data(settings, stored):
    # the API cache's fingerprint reads max(updated_at) of every artifact before each answer: without the
    # index that is a scan of every document's artifacts, so a store made by an older version must get it
    doc = stored[0]
    with Store(settings) as s:
        with s.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_artifacts_updated_at"))
            conn.execute(text("DROP INDEX ix_documents_ingested_at"))
    with Store(settings) as s:
        with s.engine.connect() as conn:
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
            plan = " ".join(str(r) for r in conn.execute(text("EXPLAIN QUERY PLAN SELECT max(updated_at) FROM artifacts")))
        assert {"ix_artifacts_updated_at", "ix_documents_ingested_at"} <= names
        assert "ix_artifacts_updated_at" in plan
        assert s.has_document(doc.doc_id)
