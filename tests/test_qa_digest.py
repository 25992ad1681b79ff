"""The project heads Q&A keeps on disk between processes (service.qa.digest, issue 13: `jixiao ask` read and
validated every stored record, 5 s at 10,000 documents). A fresh process answers from the saved heads without
reading every full record; a document ingested, deleted or re-checked since is re-read; a damaged file is
rebuilt; and the answers are the same as from the store itself."""
from __future__ import annotations

from pathlib import Path

import pytest

from eval.forms import generate
from retrieval.index import HybridIndex
from service.pipeline import Pipeline
from service.qa import digest as digest_mod
from service.qa import service as qa_service
from service.qa.digest import LazyEvaluation
from service.qa.service import ask
from service.settings import Settings
from service.store import open_store

QUESTIONS = ["执行率低于100%的项目有哪些？", "自评得分最高的3个项目", "哪些项目未完成绩效目标？", "共有多少个项目？",
             "评价等级为优的项目有哪些？"]


def _fresh_process() -> None:
    """What a new `jixiao ask` starts with: no records, profiles or heads in memory."""
    qa_service._RECORDS.clear()
    qa_service._STATE_OF.clear()
    qa_service._PROFILE_SET.clear()
    digest_mod._DIGESTS.clear()


class _Counting:
    """The store, counting how often every project is read."""

    def __init__(self, store):
        self._store = store
        self.full_lists = 0
        self.one_by_one = 0

    def list_projects(self, **kw):
        if not kw or all(v is None for v in kw.values()):
            self.full_lists += 1
        return self._store.list_projects(**kw)

    def get_project(self, ref):
        self.one_by_one += 1
        return self._store.get_project(ref)

    def __getattr__(self, name):
        return getattr(self._store, name)


@pytest.fixture()
def corpus(tmp_path):
    forms = tmp_path / "forms"
    generate(forms, count=24, seed=5, formats=["txt"])
    files = sorted(p for p in forms.rglob("*.txt") if "gold" not in p.parts)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    with Pipeline(settings) as p:
        results = list(p.iter_ingest(files[:20], 1))
    assert all(r.ok for r in results)
    return settings, files


def _answers(settings, store=None) -> list[tuple]:
    index = HybridIndex(settings)
    out = []
    with open_store(settings) as own:
        s = store or own
        for q in QUESTIONS:
            a = ask(q, settings=settings, store=s, index=index, page_size=None)
            out.append((a.route, a.answer, [(c.doc_id, c.page, c.line_start) for c in a.citations]))
    return out


def test_a_fresh_process_answers_from_the_saved_heads_the_same_as_from_the_store(corpus):
    settings, _ = corpus
    _fresh_process()
    first = _answers(settings)  # builds the heads from the store and saves them
    path = Path(settings.data_dir) / "qa_digest.pickle"
    assert path.is_file() and path.stat().st_size > 0

    _fresh_process()
    with open_store(settings) as raw:
        counting = _Counting(raw)
        low = ask(QUESTIONS[0], settings=settings, store=counting, index=HybridIndex(settings), page_size=None)
        assert (low.route, low.answer) == first[0][:2]
        # a list over every project's funds reads no full record at all
        assert counting.full_lists == 0 and counting.one_by_one == 0, (counting.full_lists, counting.one_by_one)
        _fresh_process()
        again = _answers(settings, counting)
        # the saved heads were used: no full listing of every project to start with, and the full records
        # a list of misses needs came in one query once many were asked (not one query per project)
        assert counting.full_lists <= 1, counting.full_lists
        assert counting.one_by_one <= digest_mod._Loader._ONE_BY_ONE
    assert again == first

    # a store's own records (no digest at all) give the same answers
    _fresh_process()
    saved = digest_mod.Digest.records
    try:
        def from_store(self, store, doc_rows, docs, doc_keys=None):
            rows = store.list_projects()
            by_unit = {}
            for f in store.list_findings():
                by_unit.setdefault(f.unit_id, []).append(f.finding)
            return [qa_service.ProjectRecord(r.id, r.doc_id, docs.get(r.doc_id), r.evaluation,
                                             by_unit.get(r.unit_id, [])) for r in rows]

        digest_mod.Digest.records = from_store
        assert _answers(settings) == first
    finally:
        digest_mod.Digest.records = saved


def test_documents_ingested_or_deleted_since_are_read_again(corpus):
    settings, files = corpus
    _fresh_process()
    before = _answers(settings)
    with Pipeline(settings) as p:
        assert all(r.ok for r in p.iter_ingest(files[20:], 1))
    _fresh_process()
    grown = _answers(settings)
    count = [a for a in grown if a[0].startswith("plan:count") or "共有" in a[1] or "个项目" in a[1]]
    assert grown != before and count
    with open_store(settings) as store:
        n_projects = len(store.list_projects())
        gone = store.list_documents()[0]
        store.delete_document(gone.doc_id)
        after_delete = len(store.list_projects())
    assert after_delete < n_projects
    _fresh_process()
    with open_store(settings) as store:
        records = qa_service._records(store, {}, {}, store.list_documents(), settings.data_dir)
    assert len(records) == after_delete and all(r.doc_id != gone.doc_id for r in records)


def test_a_damaged_digest_is_rebuilt_not_trusted(corpus):
    settings, _ = corpus
    _fresh_process()
    first = _answers(settings)
    path = Path(settings.data_dir) / "qa_digest.pickle"
    path.write_bytes(b"\x80\x05not a pickle at all")
    _fresh_process()
    assert _answers(settings) == first
    assert path.read_bytes()[:20] != b"\x80\x05not a pickle at all"


def test_a_lazy_record_reads_the_rest_of_its_record_from_the_store(corpus):
    settings, _ = corpus
    _fresh_process()
    with open_store(settings) as store:
        rows = store.list_documents()
        records = qa_service._records(store, {}, {}, rows, settings.data_dir)
        by_id = {r.id: r.evaluation for r in store.list_projects()}
        lazy = records[0].evaluation
        assert isinstance(lazy, LazyEvaluation) and lazy._full is None
        assert lazy.project == by_id[records[0].project_id].project  # a head field: no read
        assert lazy._full is None
        full = by_id[records[0].project_id]
        assert lazy.indicators == full.indicators and lazy.indicators
        assert lazy.model_dump() == full.model_dump()
        assert lazy.n_indicators == len(full.indicators)


def test_a_re_check_with_the_same_counts_is_read_again(corpus):
    """Findings replaced by a re-check (new rules, same number of each severity) are not the saved ones."""
    settings, _ = corpus
    _fresh_process()
    with open_store(settings) as store:
        rows = store.list_documents()
        qa_service._records(store, {}, {}, rows, settings.data_dir)
        digest_mod.digest_for(settings.data_dir).flush()
        doc = next(d for d in rows if d.findings)
        found = store.list_findings(doc_id=doc.doc_id)
        changed = [f.finding.model_copy(update={"message_zh": "复查后的说明：" + f.finding.message_zh}) for f in found]
        store.replace_findings(doc.doc_id, changed)
    _fresh_process()
    with open_store(settings) as store:
        rows = store.list_documents()
        assert next(d for d in rows if d.doc_id == doc.doc_id).findings == doc.findings  # same counts
        records = qa_service._records(store, {}, {}, rows, settings.data_dir)
    messages = [f.message_zh for r in records if r.doc_id == doc.doc_id for f in r.findings]
    assert messages and all(m.startswith("复查后的说明：") for m in messages)
