"""Structured questions as SQL over project_facts (service.qa.pushdown, issue 13).

The facts are written with each project and kept in step with its findings; the SQL selects exactly the
projects the Python check would keep (bounds, ties at a ranking's cut, copies of one report); answers with
the SQL narrowing are the same as over every record; and a narrowed question reads the printed heads of the
projects it selected, not of every project."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from eval.forms import generate
from retrieval.index import HybridIndex
from service.pipeline import Pipeline
from service.qa import digest as digest_mod
from service.qa import pushdown
from service.qa import service as qa_service
from service.qa.plan import metric_value
from service.qa.service import ask
from service.qa.structured import ProjectRecord
from service.settings import Settings
from service.store import open_store
from service.store import schema as t

QUESTIONS = [
    "执行率低于95%的项目有哪些？", "预算执行率低于100%的项目有几个？", "评价等级为优的项目有哪些？", "自评等级为良的项目",
    "预算执行率最低的3个项目", "自评得分最高的5个项目", "全年预算数最高的3个项目", "执行数最低的2个项目",
    "自评得分第二高的项目", "哪些项目未完成绩效目标？", "哪些项目自评得分高于复核得分？",
    "执行率低于98%的项目的全年预算数合计是多少？", "自评得分低于95分的项目平均执行率是多少？",
    "各等级的项目各有几个？", "预算执行率高于99%且自评得分低于98分的项目有哪些？",
    "Which projects executed less than 97% of their budget?", "The 3 projects with the highest self-score",
    "项目的平均预算执行率是多少？", "共有多少个项目？",
]


def _fresh_process() -> None:
    qa_service._RECORDS.clear()
    qa_service._STATE_OF.clear()
    qa_service._PROFILE_SET.clear()
    digest_mod._DIGESTS.clear()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pushdown")
    forms = tmp / "forms"
    # 30 forms of every family; six of them also as XLSX: copies of one report, which answers count once
    generate(forms, count=30, seed=17, formats=["txt", "xlsx"])
    txt = sorted(p for p in forms.rglob("*.txt") if "gold" not in p.parts)
    xlsx = sorted(p for p in forms.rglob("*.xlsx"))[:6]
    settings = Settings(_env_file=None, data_dir=tmp / "data")
    with Pipeline(settings) as p:
        results = list(p.iter_ingest([*txt, *xlsx], 1))
    assert all(r.ok for r in results)
    return settings


# asked of one year only: the scope is part of the store, so the SQL selects among its projects' ids
SCOPED = ["预算执行率最低的3个项目", "执行率低于98%的项目有哪些？", "评价等级为优的项目有几个？", "自评得分最高的2个项目"]


def _answers(settings, questions=QUESTIONS) -> list[tuple]:
    _fresh_process()
    index = HybridIndex(settings)
    out = []
    with open_store(settings) as store:
        years = Counter(r.year for r in store.list_projects() if r.year)
        year = years.most_common(1)[0][0]
        assert years[year] < sum(years.values())  # a part of the store
        asked = [(q, None) for q in questions] + [(q, {"year": year}) for q in SCOPED]
        for q, flt in asked:
            a = ask(q, flt, settings=settings, store=store, index=index, page_size=None)
            out.append((q, flt, a.route, a.answer, [(c.doc_id, c.page, c.line_start) for c in a.citations]))
    return out


def test_facts_hold_each_projects_figures_as_qa_computes_them(corpus):
    with open_store(corpus) as store:
        rows = store.list_projects()
        facts = {r[0]: r[1:] for r in store.select_facts(columns=("project_id", "rate", "total", "budget", "grade"))}
    assert len(facts) == len(rows) > 30
    for r in rows:
        rec = ProjectRecord(r.id, r.doc_id, None, r.evaluation)
        rate, total, budget, grade = facts[r.id]
        want_rate = metric_value(rec, "rate")
        assert (rate is None) == (want_rate is None)
        if rate is not None:
            assert abs(rate - want_rate) < Decimal("0.000001")
        assert total == metric_value(rec, "total") and budget == metric_value(rec, "budget")
        assert grade == metric_value(rec, "grade")


def test_sql_selects_what_the_python_check_keeps(corpus):
    with open_store(corpus) as store:
        rows = store.list_projects()
        recs = [ProjectRecord(r.id, r.doc_id, None, r.evaluation) for r in rows]
        rates = sorted({metric_value(x, "rate") for x in recs if metric_value(x, "rate") is not None})
        for th in [rates[len(rates) // 3], rates[len(rates) // 2], Decimal(95), Decimal(100)]:
            # a bound equal to a project's own rate: "below" excludes it, "at least" includes it
            want = {x.project_id for x in recs if (v := metric_value(x, "rate")) is not None and v < th}
            got = {r[0] for r in store.select_facts(where=[("rate", "lt", th)])}
            widened = {r[0] for r in store.select_facts(where=[("rate", "lt", th + pushdown.EPS)])}
            assert want <= widened and got <= want | {x.project_id for x in recs if metric_value(x, "rate") == th}
        top = store.select_facts(order_by="total", desc=True, limit=3, columns=("project_id", "total"))
        best = sorted((metric_value(x, "total") for x in recs if metric_value(x, "total") is not None), reverse=True)
        assert [r[1] for r in top] == best[:3]
        # among given ids, ordered by a column it does not return: the same projects in the same order
        scoped = store.select_facts(order_by="total", desc=True, limit=3, project_ids=[x.project_id for x in recs])
        assert scoped == [r[:1] for r in top]


def test_answers_with_the_sql_narrowing_are_the_answers_over_every_record(corpus, monkeypatch):
    used: list[tuple[int, int]] = []  # (records selected, records in scope) of each narrowed question
    for name in ("narrow_parts", "narrow_intent"):
        real = getattr(qa_service, name)

        def counted(store, what, records, *rest, _real=real):
            got = _real(store, what, records, *rest)
            if got is not None:
                used.append((len(got), len(records)))
            return got
        monkeypatch.setattr(qa_service, name, counted)
    narrowed = _answers(corpus)
    # most questions were narrowed by SQL, and most of those to fewer projects than their scope
    assert len(used) >= 12 and sum(n < m for n, m in used) >= 8, used
    monkeypatch.setattr(qa_service, "narrow_parts", lambda *a, **k: None)
    monkeypatch.setattr(qa_service, "narrow_intent", lambda *a, **k: None)
    everything = _answers(corpus)
    assert sum(a[2].startswith("structured") for a in narrowed) >= len(narrowed) - 2, narrowed
    for got, want in zip(narrowed, everything):
        assert got == want, got[:2]


def test_a_narrowed_question_reads_the_heads_of_the_projects_it_selects_only(corpus, monkeypatch):
    read: list[int] = []
    real = digest_mod.HeadReader._read

    def counting(self, ids):
        read.extend(ids)
        return real(self, ids)

    monkeypatch.setattr(digest_mod.HeadReader, "_read", counting)
    _fresh_process()
    with open_store(corpus) as store:
        n_projects = len(store.list_projects())
        low = [r[0] for r in store.select_facts(where=[("rate", "lt", Decimal(95))])]
        a = ask("执行率低于95%的项目有哪些？", settings=corpus, store=store, index=HybridIndex(corpus), page_size=None)
    assert a.route == "structured:low_execution" and low
    assert len(set(read)) <= len(low) < n_projects, (len(set(read)), len(low), n_projects)


def test_facts_follow_findings_deletes_and_an_older_store(corpus, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(corpus.data_dir, data)
    settings = Settings(_env_file=None, data_dir=data)
    with open_store(settings) as store:
        doc = next(d for d in store.list_documents() if d.projects)
        pid = store.list_projects(doc_id=doc.doc_id)[0].id
        # a re-check that finds nothing: the score the findings allowed is the reported one again
        store.replace_findings(doc.doc_id, [])
        allowed = dict(store.select_facts(columns=("project_id", "allowed_total")))[pid]
        reported = store.get_project(pid).evaluation.reported_total
        assert allowed == (reported.value if reported else None)
        store.delete_document(doc.doc_id)
        assert pid not in {r[0] for r in store.select_facts()}
        n = len(store.list_projects())
        with store.engine.begin() as conn:  # a store written before project_facts existed
            conn.execute(t.project_facts.delete())
    with open_store(settings) as store:  # opening it fills them in
        assert len(store.select_facts()) == n


def test_an_old_store_states_heads_are_freed(corpus):
    """Heads read in bulk are frozen out of the collector's sight (a list of thousands walked them on every
    later question): nothing may tie them back into a cycle, or each store state a server saw would stay."""
    import gc
    import weakref

    _fresh_process()
    with open_store(corpus) as store:
        records = qa_service._records(store, {}, {}, store.list_documents(), corpus.data_dir)
        reader = records[0].evaluation._heads
        reader.prefetch([r.project_id for r in records])  # in bulk, as a question's SQL selection is
        for r in records:
            assert r.evaluation.funds is not None
        assert len(reader.got) == len(records)
        assert records[0].evaluation.reported_total is None or records[0].evaluation.reported_total.ref is not None
        gone = weakref.ref(reader)
    del records, reader, r
    _fresh_process()
    gc.collect()
    assert gone() is None


def test_computing_a_projects_facts_keeps_no_record_alive(corpus):
    """The ingest's writer computes the facts of every project it stores: the Q&A's per-evaluation caches
    must not keep those records (they did: 10,000 of them, ~0.9 GB more peak RSS at 10,000 documents)."""
    import weakref

    from service.qa import structured
    from service.qa.facts import facts_of

    with open_store(corpus) as store:
        e = store.list_projects()[0].evaluation
    row = facts_of(e, [])
    assert row["rate"] is not None or row["budget"] is None
    assert id(e) not in structured._RATES and id(e) not in structured._MISSED
    alive = weakref.ref(e)
    del e
    assert alive() is None
