"""Q&A over the bundled corpus: routing, exact structured answers, 部门决算 answers, extractive answers,
citation verification and bad questions. The corpus is ingested once (rendered txt: same lines as the PDFs)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from retrieval.index import HybridIndex
from service.errors import InputError
from service.pipeline import Pipeline
from service.qa.citations import Citation, quote_found, verify
from service.qa.names import find_mentions, match_project
from service.qa.service import NOT_FOUND_EN, ask
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RENDERED_TXT = sorted((ROOT / "corpus" / "rendered" / "txt").glob("*.txt"))


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("qa"))
    pipeline = Pipeline(settings)
    for path in RENDERED_TXT:
        assert pipeline.ingest_path(path).ok
    index = HybridIndex(settings)
    yield settings, pipeline.store, index
    pipeline.close()


def _ask(qa, question, filters=None):
    settings, store, index = qa
    return ask(question, filters, settings=settings, store=store, index=index)


def _assert_citations_hold(qa, answer):
    """Every returned citation's quote is found again, independently, in the stored lines it names."""
    _, store, _ = qa
    assert answer.citations, "an answer with content must cite something"
    for c in answer.citations:
        lines = [ln for ln in store.get_lines(c.doc_id, page=c.page) if c.line_start <= ln.line_no <= c.line_end]
        assert lines, c
        assert quote_found(c.quote, lines), c


def _projects(answer) -> set[str]:
    return {r["project"] for r in answer.rows}


def test_shortfall_question_zh_and_en_give_the_same_projects(qa):
    zh = _ask(qa, "哪些项目未完成绩效目标？")
    en = _ask(qa, "which projects fell short of their targets?")
    assert zh.route == en.route == "structured:shortfall"
    assert _projects(zh) == _projects(en)
    # seed 004: 门诊救助人次 ≥767人次 against 544人次 is a real miss; the indicator row is the evidence
    rows = [r for r in zh.rows if r["project"] == "提前下达2022年省级财政医疗救助补助的资金"]
    assert any(r["indicator"] == "门诊救助人次" and r["target"] == "≥767人次" and r["actual"] == "544人次" for r in rows)
    # 公务员医疗补助 met every quantitative target
    assert "公务员医疗补助" not in _projects(zh)
    _assert_citations_hold(qa, zh)
    assert zh.answer.startswith("共有") and en.answer[0].isdigit()


def test_low_execution_uses_executed_over_adjusted_budget(qa):
    a = _ask(qa, "哪些项目预算执行率低于60%？")
    assert a.route == "structured:low_execution"
    names = _projects(a)
    assert "创业扶持资金" in names  # 263.65 / 500 = 52.73%
    assert "公务员医疗补助" not in names  # 3602.40 / 3700 = 97.36%
    assert all(Decimal(r["execution_rate"]) < 60 for r in a.rows)
    _assert_citations_hold(qa, a)
    en = _ask(qa, "Which projects executed under 60% of budget?")
    assert _projects(en) == names


def test_grade_question_reports_what_the_tables_say(qa):
    a = _ask(qa, "哪些项目评级为良？")
    names = _projects(a)
    assert {"被征地农民社会保障费", "城乡医疗救助", "远程教育站点专项资金"} <= names
    assert all(r["reported_grade"].startswith("良") for r in a.rows)
    _assert_citations_hold(qa, a)


def test_score_inflation_lists_the_52_percent_project(qa):
    a = _ask(qa, "哪些项目自评得分高于重新计算的得分？")
    assert a.route == "structured:score_inflation"
    row = next(r for r in a.rows if r["project"] == "创业扶持资金")
    # 10/10 for budget execution at 52.73%: 10 × 0.5273 = 5.27, so 100 → 95.27
    assert Decimal(row["recomputed_total"]) == Decimal("95.27")
    assert "公务员医疗补助" not in _projects(a)


def test_project_names_match_loosely_but_never_wrongly(qa):
    a = _ask(qa, "提前下达2022年省级财政医疗救助补助的资金的得分是多少？")
    assert "87.67" in a.answer and "83.67" not in a.answer
    b = _ask(qa, "提前下达2022年省级财政医疗救助补助资金的得分是多少？")
    assert "83.67" in b.answer and "87.67" not in b.answer
    c = _ask(qa, "委托第三方督导检查和专项审计费的执行率是多少？")
    assert "58.25" in c.answer
    _assert_citations_hold(qa, c)


def test_accounts_question_answered_from_the_parsed_tables(qa):
    a = _ask(qa, "2022年卫生健康支出决算是多少？")
    assert a.route.startswith("accounts:")
    assert "630.56" in a.answer
    _assert_citations_hold(qa, a)


def test_open_question_cites_the_reason_sentence(qa):
    a = _ask(qa, "为什么门诊救助人次没有完成？")
    assert a.route == "open:extractive"
    assert any("疫情" in c.quote for c in a.citations)
    _assert_citations_hold(qa, a)
    en = _ask(qa, "why did the outpatient assistance fall short?")
    assert any("疫情" in c.quote for c in en.citations)


def test_unanswerable_question_says_so_and_cites_nothing(qa):
    a = _ask(qa, "北京市海淀区教育局的预算执行率是多少？")
    # (issue 15: a department the corpus does not cover is refused with what it does cover, where this test
    # used to expect the bare not-found sentence)
    assert a.answer.startswith("没有找到海淀区教育局") and "上街区人社局（2020年度）" in a.answer and a.citations == []
    b = _ask(qa, "What did the Ministry of Defence spend on aircraft?")
    assert b.answer == NOT_FOUND_EN and b.citations == []


@pytest.mark.parametrize("question", ["", "   ", "？？？", "x" * 10_000, 42], ids=["empty", "blank", "punct", "10k", "number"])
def test_malformed_questions_are_refused_clearly(qa, question):
    with pytest.raises(InputError) as err:
        _ask(qa, question)
    assert err.value.code == "invalid_question"


def test_unknown_filter_is_refused(qa):
    with pytest.raises(InputError):
        _ask(qa, "哪些项目评级为良？", {"doc_id; DROP TABLE projects": "x"})


def test_sql_looking_question_is_just_text(qa):
    a = _ask(qa, "'; DROP TABLE projects; -- 哪些项目评级为良？")
    assert "被征地农民社会保障费" in _projects(a)
    assert _ask(qa, "哪些项目评级为良？").rows  # the table is still there


def test_filters_restrict_to_one_document(qa):
    _, store, _ = qa
    doc = next(d for d in store.list_documents() if d.filename.startswith("003"))
    a = _ask(qa, "哪些项目评级为良？", {"doc_id": doc.doc_id})
    assert _projects(a) == {"远程教育站点专项资金", "基层党建工作经费(专项)", "被征地农民社会保障费"}


def test_verify_drops_a_quote_that_is_not_at_the_cited_place(qa):
    _, store, _ = qa
    doc = next(d for d in store.list_documents() if d.filename.startswith("001"))
    line = next(ln for ln in store.get_lines(doc.doc_id) if "973万元" in ln.text)
    fetch = lambda d, p, s, e: [ln for ln in store.get_lines(d, page=p) if s <= ln.line_no <= e]  # noqa: E731
    good = Citation(doc_id=doc.doc_id, page=line.page, line_start=line.line_no, line_end=line.line_no, quote="973万元")
    moved = good.model_copy(update={"line_start": line.line_no + 1, "line_end": line.line_no + 1})
    invented = good.model_copy(update={"quote": "实际支付1000万元"})
    assert [c.verified for c in verify([good, moved, invented], fetch)] == [True, False, False]


def test_name_matching_rules():
    names = ["提前下达2022年省级财政医疗救助补助的资金", "提前下达2022年省级财政医疗救助补助资金",
             "购买大病保险经办服务延续项目", "购买大病保险经办服务延续项目1", "委托第三方督导检查and专项审计费",
             "破产、困难企业退休人员大病医疗补助金"]
    assert match_project("提前下达 2022 年省级财政医疗救助补助的资金", names) == [names[0]]
    assert match_project("提前下达2022年省级财政医疗救助补助资金", names) == [names[1]]
    assert match_project("委托第三方督导检查和专项审计费", names) == [names[4]]
    assert match_project("破产困难企业退休人员大病医疗补助金", names) == [names[5]]
    assert match_project("购买大病保险经办服务延续项目1", names) == [names[3]]
    assert find_mentions("购买大病保险经办服务延续项目的得分", names) == [names[2]]
    assert match_project("不存在的项目名称", names) == []


def test_a_figure_question_is_answered_by_the_sentence_with_the_figure(qa):
    """Asked how much 机关运行经费 fell, the answer is the 部门决算's sentence stating it, not the section title
    and the glossary entry that share its words but hold no figure."""
    settings, store, index = qa
    a = ask("机关运行经费比上年减少多少？", settings=settings, store=store, index=index)
    assert a.route == "accounts:yoy"
    assert "46.86万元" in a.answer and "减少89.62万元" in a.answer and "下降65.67%" in a.answer
    assert a.citations and all(any(ch.isdigit() for ch in c.quote) for c in a.citations)


def test_figure_questions_keep_only_sentences_that_state_a_figure():
    from service.qa.extractive import Sentence, keep_figures

    title = Sentence("十、机关运行经费支出情况说明", "d", 11, 41, 41, 0, score=0.9)
    figure = Sentence("机关运行经费支出46.86万元,与上年度相比,减少89.62万元。", "d", 11, 42, 42, 0, score=0.8)
    gloss = Sentence("机关运行经费:为保障行政单位运行用于购买货物和服务的各项资金。", "d", 78, 19, 19, 1, score=0.7)
    assert keep_figures("机关运行经费比上年减少多少？", [title, figure, gloss]) == [figure]
    assert keep_figures("机关运行经费包括哪些支出？", [title, figure, gloss]) == [title, figure, gloss]
    assert keep_figures("机关运行经费减少了多少？", [title, gloss]) == [title, gloss]  # nothing better: keep all


def test_a_span_cut_mid_sentence_is_completed_from_the_next_lines():
    from retrieval.types import Line
    from service.qa.extractive import complete_last_sentence

    span = [Line(page=3, line_no=7, text="2022年度支出46.86万元,比上年减少89.62万元,主")]
    after = [Line(page=3, line_no=8, text="要原因是厉行节约。下一句不属于它"), Line(page=3, line_no=9, text="另一段。")]
    assert [ln.line_no for ln in complete_last_sentence(span, after)] == [7, 8]
    ended = [Line(page=3, line_no=7, text="支出减少89.62万元。")]
    assert complete_last_sentence(ended, after) == ended
    assert complete_last_sentence(span, [Line(page=4, line_no=1, text="要原因是厉行节约。")]) == span


def test_a_count_the_report_states_is_quoted_not_our_record_count(qa):
    """对多少个项目开展了预算绩效管理 asks what the 决算's notes say (8), not how many records are stored."""
    settings, store, index = qa
    a = ask("对多少个项目开展了预算绩效管理？", settings=settings, store=store, index=index)
    assert a.route == "open:extractive" and "8个项目" in a.answer and "已入库的报告共包含" not in a.answer
    assert len(a.citations) == 1  # the numbered heading "2.加强预算绩效管理" beside it is no figure


def test_a_department_s_short_name_is_not_an_unknown_body_and_cut_copies_are_one_sentence(qa):
    """中原区医保局 is how people say 中原区医疗保障局: the text never spells it, yet it is no unknown body; and
    the same sentence read whole and cut by another chunk's edge is quoted once, whole."""
    settings, store, index = qa
    a = ask("中原区医保局项目支出执行率是多少", settings=settings, store=store, index=index)
    assert a.route == "open:extractive" and "执行率为70.51%" in a.answer
    assert sum("执行率为" in c.quote for c in a.citations) == 1


@pytest.mark.parametrize("question,figure", [("卫生健康支出是多少", "630.56万元"), ("医保局住房公积金支出多少", "54.94万元"),
                                             ("社会保障和就业支出占多少", "6.38%")])
def test_a_subject_of_the_accounts_named_in_an_open_question_is_answered_exactly(qa, question, figure):
    settings, store, index = qa
    a = ask(question, settings=settings, store=store, index=index)
    assert a.route.startswith("accounts:") and figure in a.answer
