from __future__ import annotations

import shutil
import sys
import threading
import time

import pytest

from retrieval.loaders import load_path
from service.errors import ConfigError, ExtractionError, NotFoundError
from service.pipeline import Pipeline, StepSpec, Steps, expand_paths, ingest_path, resolve_steps, run_checks_for
from service.settings import Settings
from service.store import Store
from storeutil import BAD_CODES, RENDERED, SEEDS, dump, make_bad_input, sample_extraction, sample_findings

SEED = SEEDS / "000_shangjie_retiree_medical.txt"


def fake_extract(doc, settings):
    return sample_extraction(doc)


def fake_check(extraction, doc):
    return sample_findings(extraction) if extraction.projects else []


class RecordingIndex:
    def __init__(self, store: Store | None = None, fail: bool = False):
        self.store, self.fail = store, fail
        self.calls: list[tuple[str, list | None, bool]] = []

    def upsert_document(self, doc, units=None):
        committed = self.store.has_document(doc.doc_id) if self.store else None
        self.calls.append((doc.doc_id, units, committed))
        if self.fail:
            raise RuntimeError("index is down")

    def delete_document(self, doc_id):
        return False


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(settings):
    with Store(settings) as s:
        yield s


@pytest.fixture
def steps() -> Steps:
    return Steps(extract=fake_extract, check=fake_check)


def test_ingest_then_reingest_is_unchanged(settings, store, steps, tmp_path):
    path = tmp_path / SEED.name
    shutil.copy(SEED, path)
    loaded = load_path(path, max_bytes=settings.max_upload_bytes)
    with Pipeline(settings, store=store, steps=steps) as pipe:
        first = pipe.ingest_path(path)
        assert first.status == "ingested" and first.error_code is None
        assert (first.doc_id, first.pages, first.lines) == (loaded.doc_id, len(loaded.pages), loaded.line_count)
        assert (first.projects, first.findings) == (2, 3)
        assert first.by_severity == {"error": 1, "warning": 1, "info": 1}
        before = dump(store)
        again = pipe.ingest_path(path)
        from_bytes = pipe.ingest_bytes(path.read_bytes(), "renamed.txt")
    assert again.status == from_bytes.status == "unchanged"
    for r in (again, from_bytes):
        assert (r.doc_id, r.pages, r.lines, r.projects, r.findings) == (first.doc_id, first.pages, first.lines, 2, 3)
    assert dump(store) == before
    assert store.get_document(first.doc_id).filename == SEED.name


def test_stored_lines_are_the_loaders_lines(settings, store, steps):
    pdf = RENDERED / "pdf" / "001_shangjie_pension_subsidy.pdf"
    r = ingest_path(pdf, settings, store=store, steps=steps)
    assert r.status == "ingested" and r.kind == "pdf"
    assert store.get_loaded(r.doc_id).pages == load_path(pdf, max_bytes=settings.max_upload_bytes).pages




@pytest.mark.parametrize("code", BAD_CODES)
def test_bad_input_is_one_error_and_leaves_the_store_unchanged(settings, store, steps, tmp_path, code):
    ingest_path(SEED, settings, store=store, steps=steps)
    before = dump(store)
    path = make_bad_input(code, tmp_path, settings.max_upload_bytes)
    r = ingest_path(path, settings, store=store, steps=steps)
    assert (r.status, r.error_code) == ("error", code)
    assert r.message and "\n" not in r.message and r.doc_id is None
    assert dump(store) == before


def test_too_large_is_refused_before_reading(tmp_path, steps):
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=0.001)
    with Store(settings) as store:
        before = dump(store)
        r = ingest_path(SEED, settings, store=store, steps=steps)
        assert (r.status, r.error_code) == ("error", "too_large")
        assert "MB" in r.message
        assert dump(store) == before


def _raise(exc):
    def step(*_):
        raise exc
    return step


@pytest.mark.parametrize(
    ("steps_kw", "code"),
    [
        pytest.param({"extract": _raise(RuntimeError("boom"))}, "extract_failed", id="extract-crash"),
        pytest.param({"extract": _raise(ExtractionError("no table", subject="x"))}, "extraction_error",
                     id="extract-error"),
        pytest.param({"extract": fake_extract, "check": _raise(ZeroDivisionError("div"))}, "check_failed",
                     id="check-crash"),
        # findings for another document fail inside the save transaction, after rows were written
        pytest.param({"extract": fake_extract,
                      "check": lambda e, d: [f.model_copy(update={"doc_id": "0" * 64}) for f in fake_check(e, d)]},
                     "store_failed", id="store-crash"),
    ],
)
def test_a_failing_stage_leaves_the_store_exactly_as_it_was(settings, store, steps, steps_kw, code):
    ingest_path(SEEDS / "002_soe_reform_medical.txt", settings, store=store, steps=steps)
    before = dump(store)
    index = RecordingIndex(store)
    r = ingest_path(SEED, settings, store=store, steps=Steps(**steps_kw), index=index)
    assert (r.status, r.error_code, r.doc_id) == ("error", code, None)
    assert dump(store) == before
    assert index.calls == []


def test_index_runs_after_commit_with_the_units(settings, store, steps):
    index = RecordingIndex(store)
    with Pipeline(settings, store=store, steps=steps, index=index) as pipe:
        r = pipe.ingest_path(SEED)
        assert pipe.ingest_path(SEED).status == "unchanged"
    assert len(index.calls) == 1
    doc_id, units, committed = index.calls[0]
    assert doc_id == r.doc_id and committed is True
    assert [u.unit_id for u in units] == [u.unit_id for u in store.list_units(doc_id)] != []


def test_index_failure_keeps_the_document_and_warns(settings, store, steps):
    r = ingest_path(SEED, settings, store=store, steps=steps, index=RecordingIndex(fail=True))
    assert r.status == "ingested"
    assert r.warnings and "index is down" in r.warnings[0]
    assert store.has_document(r.doc_id)


def test_missing_step_module_is_a_config_error_not_a_silent_skip(settings, store):
    with pytest.raises(ConfigError, match="no_such_stage"):
        resolve_steps([StepSpec("extract", "service.no_such_stage", "extract_document")])
    # a caller may still disable a step on purpose, and the result says so
    r = ingest_path(SEED, settings, store=store, steps=Steps(skipped=["extract: disabled by the caller"]))
    assert r.status == "ingested" and r.skipped == ["extract: disabled by the caller"] and r.projects == 0

def test_missing_dependency_inside_a_step_is_not_hidden(tmp_path, monkeypatch):
    (tmp_path / "jixiao_broken_stage.py").write_text("import jixiao_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jixiao_broken_stage", raising=False)
    with pytest.raises(ConfigError, match="jixiao_no_such_dependency"):
        resolve_steps([StepSpec("extract", "jixiao_broken_stage", "extract_document")])


def test_expand_paths_keeps_supported_files_sorted(tmp_path):
    for name in ("b.txt", "a.pdf", "sub/c.docx", "sub/d.xlsx", "e.md", ".hidden.txt", "~$lock.docx",
                 ".git/x.txt", "img.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in expand_paths([tmp_path])] == [
        "a.pdf", "b.txt", "e.md", "sub/c.docx", "sub/d.xlsx"]
    assert expand_paths([tmp_path / "img.png", tmp_path / "missing.pdf"]) == [tmp_path / "img.png",
                                                                             tmp_path / "missing.pdf"]


def test_batch_of_ten_with_one_bad_ingests_the_other_nine(settings, store, tmp_path):
    import badfiles

    folder = tmp_path / "batch"
    folder.mkdir()
    stems = sorted(p.stem for p in (RENDERED / "pdf").glob("*.pdf"))
    for stem in stems:
        shutil.copy(RENDERED / "pdf" / f"{stem}.pdf", folder)
    for stem in stems[:4]:
        shutil.copy(RENDERED / "docx" / f"{stem}.docx", folder)
    bad = badfiles.make_corrupt_pdf(folder)
    (folder / "notes.png").write_bytes(b"\x89PNG")  # not a report: a folder never offers it
    steps = resolve_steps()
    steps.index = None  # the index has its own tests; here the batch behaviour matters
    seen: list[tuple[int, int, str]] = []
    with Pipeline(settings, store=store, steps=steps) as pipe:
        results = pipe.ingest_many([folder], progress=lambda i, n, r: seen.append((i, n, r.filename)))
    assert [r.filename for r in results] == sorted(p.name for p in folder.iterdir() if p.suffix != ".png")
    assert [(i, n) for i, n, _ in seen] == [(i, 10) for i in range(1, 11)]
    failed = [r for r in results if r.status == "error"]
    assert [(r.filename, r.error_code) for r in failed] == [(bad.name, "corrupt_pdf")]
    assert sum(r.status == "ingested" for r in results) == 9
    assert store.counts()["documents"] == 9


def test_concurrent_ingest_of_the_same_file_stores_it_once(settings):
    Store(settings).close()
    n = 3
    barrier = threading.Barrier(n)
    results = []

    def slow_extract(doc, s):
        time.sleep(0.3)  # every thread gets past "already stored?" before the first commits
        return sample_extraction(doc)

    def worker():
        with Pipeline(settings, steps=Steps(extract=slow_extract, check=fake_check)) as pipe:
            barrier.wait()
            results.append(pipe.ingest_path(SEED))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status for r in results) == ["ingested"] + ["unchanged"] * (n - 1)
    assert len({r.doc_id for r in results}) == 1
    assert all(r.findings == 3 for r in results)
    with Store(settings) as store:
        assert store.counts()["documents"] == 1 and store.counts()["findings"] == 3


def test_run_checks_for_replaces_findings_idempotently(settings, store, steps):
    r = ingest_path(SEED, settings, store=store, steps=steps)
    only_errors = Steps(check=lambda e, d: [f for f in fake_check(e, d) if f.severity == "error"])
    first = run_checks_for(r.doc_id[:8], settings, store=store, steps=only_errors)
    assert [f.rule_id for f in first.findings] == ["R-EXEC-RATE"]
    after_first = [f.finding for f in store.list_findings()]
    second = run_checks_for(r.doc_id, settings, store=store, steps=only_errors)
    assert second.findings == first.findings
    assert [f.finding for f in store.list_findings()] == after_first
    assert store.counts()["findings"] == 1
    # the checks saw the stored extraction, not a fresh one
    assert store.get_document(r.doc_id).findings == {"error": 1}


def test_run_checks_for_without_checks_changes_nothing(settings, store, steps):
    r = ingest_path(SEED, settings, store=store, steps=steps)
    before = dump(store)
    res = run_checks_for(r.doc_id, settings, store=store, steps=Steps(skipped=["check: service.checks not available"]))
    assert res.findings == [] and res.skipped == ["check: service.checks not available"]
    assert dump(store) == before
    with pytest.raises(NotFoundError):
        run_checks_for("feedface", settings, store=store, steps=steps)


def test_accounts_are_stored_as_artifacts_with_their_findings(settings, store):
    from service.accounts import check_accounts, extract_accounts

    accounts_doc = SEEDS / "004_zhongyuan_medsec_accounts.txt"
    steps = Steps(accounts=extract_accounts, accounts_check=check_accounts)
    r = ingest_path(accounts_doc, settings, store=store, steps=steps)
    assert r.status == "ingested"
    loaded = load_path(accounts_doc, max_bytes=settings.max_upload_bytes)
    accounts = extract_accounts(loaded)
    results, findings = check_accounts(accounts, loaded)
    kinds = {(a.kind, a.key): a.payload for a in store.list_artifacts(r.doc_id)}
    assert kinds[("accounts", accounts.unit_id)] == accounts.model_dump(mode="json")
    assert kinds[("accounts_checks", accounts.unit_id)] == [c.model_dump(mode="json") for c in results]
    assert [f.finding for f in store.list_findings(doc_id=r.doc_id)] == sorted(
        findings, key=lambda f: ("error", "warning", "info").index(f.severity))
    before = dump(store)
    again = run_checks_for(r.doc_id, settings, store=store, steps=steps)
    assert again.findings == findings
    after = dump(store)
    assert {k: v for k, v in after.items() if k not in ("findings", "artifacts")} == \
        {k: v for k, v in before.items() if k not in ("findings", "artifacts")}
    assert len(after["findings"]) == len(before["findings"]) and len(after["artifacts"]) == len(before["artifacts"])


def test_a_non_accounts_document_stores_no_accounts(settings, store):
    from service.accounts import check_accounts, extract_accounts

    r = ingest_path(SEED, settings, store=store, steps=Steps(accounts=extract_accounts, accounts_check=check_accounts))
    assert r.status == "ingested" and store.list_artifacts(r.doc_id) == []


def test_reingest_repairs_a_missing_index_entry(tmp_path):
    """The store commits before indexing; if indexing was lost, ingesting the same file again rebuilds it."""
    from service.embeddings import open_index
    from service.settings import Settings

    settings = Settings(data_dir=tmp_path)
    path = RENDERED / "txt" / "001_shangjie_pension_subsidy.txt"
    first = ingest_path(path, settings)
    assert first.status == "ingested"
    index = open_index(settings)
    assert first.doc_id in index.documents()
    index.delete_document(first.doc_id)  # as if indexing had failed after the commit
    assert first.doc_id not in open_index(settings).documents()
    again = ingest_path(path, settings)
    assert again.status == "unchanged" and "rebuilt" in again.message
    index = open_index(settings)
    assert first.doc_id in index.documents()
    assert any("973" in h.chunk.text for h in index.search("实际支付973万元", k=5))


def test_a_folder_is_indexed_in_batches_and_one_bad_index_entry_fails_only_its_own_document(tmp_path, monkeypatch):
    """A folder's documents are written to the index together (one Chroma upsert per batch); a document
    whose chunks cannot be built is stored, warned about on its own result, and every other is searchable.
    When the batched write itself fails, the documents are written one by one."""
    import retrieval.index as index_mod
    from service.embeddings import open_index

    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted((RENDERED / "txt").glob("*.txt")):
        shutil.copy(p, folder)
    real_chunk = index_mod.chunk_document

    def chunk_or_fail(doc, units, **kw):
        if doc.filename.startswith("002"):
            raise ValueError("cannot chunk this one")
        return real_chunk(doc, units, **kw)

    monkeypatch.setattr(index_mod, "chunk_document", chunk_or_fail)
    writes: list[int] = []
    real_write = index_mod.HybridIndex._write_chunks

    def counting_write(self, doc_ids, chunks, vectors):
        writes.append(1 if isinstance(doc_ids, str) else len(doc_ids))
        return real_write(self, doc_ids, chunks, vectors)

    monkeypatch.setattr(index_mod.HybridIndex, "_write_chunks", counting_write)
    settings = Settings(data_dir=tmp_path / "data")
    with Pipeline(settings) as pipe:
        results = pipe.ingest_many([folder])
    names = sorted(p.name for p in folder.iterdir())
    assert [r.filename for r in results] == names and all(r.status == "ingested" for r in results)
    warned = [r.filename for r in results if any("not indexed" in w for w in r.warnings)]
    assert warned == [n for n in names if n.startswith("002")]
    assert writes == [len(names) - 1]  # every other document in one write
    indexed = open_index(settings).documents()
    assert {r.doc_id for r in results if r.filename not in warned} <= set(indexed)
    assert not {r.doc_id for r in results if r.filename in warned} & set(indexed)

    # the batched write fails: each document is written alone, and all of them are indexed
    def fail_many(self, doc_ids, chunks, vectors):
        if not isinstance(doc_ids, str):
            raise RuntimeError("batch write failed")
        return real_write(self, doc_ids, chunks, vectors)

    monkeypatch.setattr(index_mod, "chunk_document", real_chunk)
    monkeypatch.setattr(index_mod.HybridIndex, "_write_chunks", fail_many)
    settings2 = Settings(data_dir=tmp_path / "data2")
    with Pipeline(settings2) as pipe:
        results = pipe.ingest_many([folder])
    assert all(r.status == "ingested" and not r.warnings for r in results)
    assert {r.doc_id for r in results} <= set(open_index(settings2).documents())


def test_index_batches_are_written_on_a_background_thread_while_the_next_are_stored(tmp_path, monkeypatch):
    """The index write of a batch runs on its own thread while the writer stores the next documents; a
    result comes out only once its own document is in the index, and results keep the files' order."""
    import threading

    import service.pipeline as pipeline_mod

    monkeypatch.setattr(pipeline_mod, "INDEX_BATCH", 2)
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted((RENDERED / "txt").glob("*.txt")):
        shutil.copy(p, folder)
    main = threading.get_ident()
    written: list[str] = []
    threads: set[int] = set()

    class SlowIndex:
        def upsert_documents(self, items):
            threads.add(threading.get_ident())
            import time

            time.sleep(0.05)
            written.extend(doc.doc_id for doc, _, _ in items)
            return [None] * len(items)

        def upsert_document(self, doc, units=None):
            written.append(doc.doc_id)

        def delete_document(self, doc_id):
            return False

    settings = Settings(data_dir=tmp_path / "data")
    seen: list[str] = []
    with Pipeline(settings, index=SlowIndex()) as pipe:
        for r in pipe.iter_ingest(sorted(folder.iterdir()), 1):
            assert r.doc_id in written, r.filename  # indexed before it is handed out
            seen.append(r.filename)
    assert seen == sorted(p.name for p in folder.iterdir())
    assert threads - {main}  # batches before the last are written off the writer thread
