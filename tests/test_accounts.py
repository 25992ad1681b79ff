"""部门决算 (seed 004): every public table parsed with all rows, the same from every rendering; identities
that hold reported as holding; the 0.01 基本+项目 difference within rounding (info, not error); every
percentage of 第三部分 情况说明 matched to its recomputation; department-level statements; Q&A helpers."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from retrieval.loaders import load_bytes, load_path
from retrieval.normalize import join_broken
from service.accounts import answer_accounts_question, check_accounts, extract_accounts
from service.accounts.models import AccountsExtraction
from service.accounts.narrative import part3_lines
from service.models import SourceRef

ROOT = Path(__file__).resolve().parent.parent
STEM = "004_zhongyuan_medsec_accounts"
SEED = ROOT / "corpus" / "seeds" / f"{STEM}.txt"
RENDERED = {k: ROOT / "corpus" / "rendered" / k / f"{STEM}.{k}" for k in ("txt", "pdf", "docx")}
ROW_COUNTS = {"01": 42, "02": 25, "03": 25, "04": 38, "05": 22, "06": 83, "07": 4, "08": 1, "09": 1}


def _load(path: Path):
    return load_path(path, max_bytes=10**8)


@pytest.fixture(scope="module")
def seed():
    doc = _load(SEED)
    acc = extract_accounts(doc)
    assert acc is not None
    results, findings = check_accounts(acc, doc)
    return doc, acc, results, findings


def _refs(obj):
    if isinstance(obj, SourceRef):
        yield obj
    elif hasattr(type(obj), "model_fields"):
        for k in type(obj).model_fields:
            yield from _refs(getattr(obj, k))
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _refs(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _refs(x)


def _assert_refs_valid(doc, *objs):
    n = 0
    for obj in objs:
        for ref in _refs(obj):
            n += 1
            assert ref.doc_id == doc.doc_id
            text = join_broken([doc.line(ref.page, i).text for i in range(ref.line_start, ref.line_end + 1)])
            assert ref.quote and ref.quote in text, ref
    assert n > 0


def _comparable(acc: AccountsExtraction) -> dict:
    """What must agree across renderings: everything but provenance (refs, doc/unit ids) and pagination."""
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items()
                    if k not in ("ref", "refs", "doc_id", "unit_id", "summary_ref", "score_table_ref", "pages",
                                 "sentence")}
        if isinstance(o, list):
            return [strip(x) for x in o]
        return o
    return strip(acc.model_dump(mode="json"))


# ---------------------------------------------------------------- tables

def test_recognized_with_department_and_year(seed):
    _, acc, _, _ = seed
    assert acc.department == "郑州市中原区医疗保障局"
    assert acc.year == 2022
    assert acc.unit == "万元"


def test_every_table_parsed_with_all_rows(seed):
    _, acc, _, _ = seed
    assert {t.table_id: len(t.rows) for t in acc.tables} == ROW_COUNTS
    kinds = {t.table_id: t.kind for t in acc.tables}
    assert kinds["01"] == kinds["04"] == "summary" and kinds["06"] == "economic" and kinds["09"] == "sangong"
    for tid in ("02", "03", "05", "07", "08"):
        assert kinds[tid] == "functional"


def test_code_levels_and_values(seed):
    _, acc, _, _ = seed
    t03 = acc.table("03")
    r = t03.find(code="210")
    assert (r.level, r.name) == ("类", "卫生健康支出")
    assert (r.get("本年支出合计"), r.get("基本支出"), r.get("项目支出")) == (
        Decimal("630.56"), Decimal("515.93"), Decimal("114.63"))
    assert t03.find(code="21015").level == "款" and t03.find(code="2101501").level == "项"
    # the rows after the header repeated inside the table (22960, 2296013) belong to the same table
    assert t03.find(code="2296013").get("项目支出") == Decimal("4.39")
    assert [c.lanci for c in t03.columns] == ["1", "2", "3", "4", "5", "6"]
    t05 = acc.table("05")
    assert [c.key for c in t05.columns] == ["本年支出/小计", "本年支出/基本支出", "本年支出/项目支出"]


def test_summary_tables_have_two_halves(seed):
    _, acc, _, _ = seed
    t01 = acc.table("01")
    income = [r for r in t01.rows if r.side == "income"]
    expense = [r for r in t01.rows if r.side == "expense"]
    assert len(income) == 12 and len(expense) == 30
    assert t01.find("本年收入合计", side="income").get("收入/决算数") == Decimal("736.87")
    assert t01.find("卫生健康支出", side="expense").line_no == "40"
    t04 = acc.table("04")
    row = t04.find("本年支出合计", side="expense")
    assert row.get("支出/一般公共预算财政拨款") == Decimal("732.48")
    assert row.get("支出/政府性基金预算财政拨款") == Decimal("4.39")
    # the fund rows listed again under 年初财政拨款结转和结余 are told apart from the income rows
    assert t04.find("年初财政拨款结转和结余/政府性基金预算财政拨款", side="income") is not None


def test_table_06_three_groups(seed):
    _, acc, _, _ = seed
    t06 = acc.table("06")
    groups = {g: sum(1 for r in t06.rows if r.group == g) for g in (0, 1, 2)}
    assert groups == {0: 28, 1: 28, 2: 27}
    assert t06.find(code="30239").get("决算数") == Decimal("15.88")
    assert t06.find(code="310").group == 2
    assert t06.find("人员经费合计").get("决算数") == Decimal("571")
    assert t06.find("公用经费合计").get("决算数") == Decimal("46.86")


def test_table_09_headers(seed):
    _, acc, _, _ = seed
    keys = [c.key for c in acc.table("09").columns]
    assert keys[0] == "预算数/合计" and keys[6] == "决算数/合计"
    assert "决算数/公务用车购置及运行维护费/公务用车运行维护费" in keys


def test_every_value_keeps_a_valid_source_ref(seed):
    doc, acc, results, findings = seed
    for t in acc.tables:
        for r in t.rows:
            for v in r.values.values():
                assert v.ref is not None and v.ref.quote.endswith(v.raw)
    _assert_refs_valid(doc, acc, results, findings)


def test_json_round_trip(seed):
    _, acc, _, _ = seed
    again = AccountsExtraction.model_validate_json(acc.model_dump_json())
    assert again == acc
    json.loads(acc.model_dump_json())


@pytest.mark.parametrize("kind", ["txt", "pdf", "docx"])
def test_renderings_parse_identically(seed, kind):
    path = RENDERED[kind]
    if not path.exists():
        pytest.fail(f"{path} is missing: the rendered corpus is part of the repository")
    doc = _load(path)
    acc = extract_accounts(doc)
    assert acc is not None
    assert _comparable(acc) == _comparable(seed[1])
    results, findings = check_accounts(acc, doc)
    strip = lambda rs: [r.model_dump(exclude={"refs"}) for r in rs]  # noqa: E731
    assert strip(results) == strip(seed[2])
    _assert_refs_valid(doc, acc, results, findings)


def test_not_accounts():
    doc = _load(ROOT / "corpus" / "seeds" / "000_shangjie_retiree_medical.txt")
    assert extract_accounts(doc) is None


# ---------------------------------------------------------------- identities

HOLDING = [
    "R-FA-TOTAL:01:收支平衡", "R-FA-TOTAL:04:收支平衡", "R-FA-TOTAL:01:收入总计:收入/决算数",
    "R-FA-INCOME:01:本年收入合计:收入/决算数", "R-FA-EXP:01:本年支出合计:支出/决算数",
    "R-FA-INCOME:02:合计:本年收入合计", "R-FA-HIER:03:210:基本支出", "R-FA-HIER:03:合计:项目支出",
    "R-FA-HIER:06:301:决算数", "R-FA-HIER:06:人员经费合计", "R-FA-HIER:06:公用经费合计",
    "R-FA-XTABLE:01-02:本年收入合计", "R-FA-XTABLE:01-03:本年支出合计", "R-FA-XTABLE:04-05:合计",
    "R-FA-XTABLE:04-07:合计", "R-FA-XTABLE:05-06:基本支出", "R-FA-TOTAL:07:合计:年末结转和结余",
]


def test_identities_that_hold_are_reported_as_holding(seed):
    _, _, results, _ = seed
    by_id = {r.check_id: r for r in results}
    for cid in HOLDING:
        assert by_id[cid].status == "pass", cid
        assert by_id[cid].severity is None
    assert sum(r.status == "pass" for r in results) > 250


def test_basic_plus_project_difference_is_within_rounding(seed):
    _, _, results, findings = seed
    r = next(r for r in results if r.check_id == "R-FA-EXP:03:合计:本年支出合计")
    assert r.status == "within_rounding" and r.severity == "info"
    assert (r.reported, r.recomputed, r.difference) == ("736.87", "736.88", "0.01")
    f = [f for f in findings if f.rule_id == "R-FA-EXP" and f.reported == "736.87"]
    assert f and all(x.severity == "info" for x in f)
    # seed 004's own arithmetic holds everywhere beyond rounding: no error, no warning
    assert [f for f in findings if f.severity != "info"] == []
    within = {r.check_id for r in results if r.status == "within_rounding"}
    assert within == {"R-FA-EXP:03:合计:本年支出合计", "R-FA-HIER:03:合计:基本支出",
                      "R-FA-HIER:05:合计:本年支出/基本支出", "R-FA-EXP:05:合计:本年支出/小计",
                      "R-DEPT-TOTAL:dept_adjust_rate:29.34"}


def test_broken_arithmetic_is_an_error():
    text = SEED.read_text(encoding="utf-8")
    # 03: 行政运行 497.17 -> 479.17 breaks its 款 sum and the 类 sum above it; 83.85% -> 85.83%
    broken = re.sub(r"(?m)^2101501\t行政运行\t497.17\t497.17\t0\t0\t0\t0$",
                    "2101501\t行政运行\t479.17\t479.17\t0\t0\t0\t0", text)
    assert broken != text
    broken2 = re.sub(r"占83\.85([%％])", r"占85.83\1", broken, count=1)
    assert broken2 != broken
    # 01: 卫生健康支出 630.56 -> 603.56 disagrees with 03's 210 row
    broken = re.sub(r"(九、卫生健康支出\s*\t\s*40\s*\t\s*)630\.56", r"\g<1>603.56", broken2, count=1)
    assert broken != broken2
    doc = load_bytes(broken.encode("utf-8"), "broken.txt", max_bytes=10**8)
    acc = extract_accounts(doc)
    results, findings = check_accounts(acc, doc)
    errs = {f.rule_id for f in findings if f.severity == "error"}
    assert {"R-FA-HIER", "R-FA-XTABLE", "R-NARRATIVE"} <= errs
    r = next(r for r in results if r.check_id == "R-FA-HIER:03:21015:本年支出合计")
    assert r.status == "fail" and r.reported == "497.17" and r.recomputed == "479.17"
    share = next(r for r in results if r.rule_id == "R-NARRATIVE" and r.reported == "85.83")
    assert share.status == "fail" and share.recomputed.startswith("83.849")


# ---------------------------------------------------------------- 第三部分 情况说明

def test_every_percentage_in_part3_is_matched_and_recomputed(seed):
    doc, acc, results, _ = seed
    last_row = max((r.ref.page, r.ref.line_start) for t in acc.tables for r in t.rows)
    section_text = join_broken([ln.text for ln in part3_lines(doc, after=last_row)])
    n_percent = len(re.findall(r"\d%", section_text))
    pct_items = [it for it in acc.narrative if it.unit == "%"]
    assert len(pct_items) == n_percent == 26
    by_ref = {}
    for r in results:
        if r.rule_id == "R-NARRATIVE" and r.refs:
            by_ref.setdefault(r.refs[0], []).append(r)
    for it in pct_items:
        checks = by_ref.get(it.ref, [])
        assert len(checks) == 1, (it.raw, it.label)
        assert checks[0].status == "pass", (it.raw, checks[0])
        assert checks[0].reported == it.raw


def test_part3_amounts_match_the_tables(seed):
    _, acc, results, _ = seed
    amounts = [r for r in results if r.rule_id == "R-NARRATIVE" and ":amount:" in r.check_id]
    assert len(amounts) >= 30 and all(r.status == "pass" for r in amounts)
    ids = " ".join(r.check_id for r in amounts)
    assert "05表 2080502 事业单位离退休 小计" in ids and "06表 人员经费合计" in ids and "09表 决算数/合计" in ids


def test_completion_and_yoy_recomputation(seed):
    _, _, results, _ = seed
    comp = next(r for r in results if ":completion:" in r.check_id and r.reported == "146.88")
    assert comp.status == "pass" and comp.recomputed == "146.875"  # 2.35 / 1.60, rounded half-up
    yoy = next(r for r in results if r.check_id.startswith("R-NARRATIVE:一:yoy_rate"))
    assert yoy.status == "pass" and "4662.12" in yoy.description_zh  # prior year = 736.87 + 3,925.25


def test_wrapped_number_is_read_across_lines():
    text = ("2022年度\n郑州市某局部门决算\n公开01表\n收入\t\t\t支出\n项目\t行次\t决算数\t项目\t行次\t决算数\n"
            "本年收入合计\t1\t10.00\t本年支出合计\t2\t10.00\n收入总计\t3\t10.00\t支出总计\t4\t10.00\n"
            "注:本表反映。\n公开02表\n项目\t\t本年收入合计\t财政拨款收入\n功能分类科目编码\t科目名称\n\t合计\t10.00\t10.00\n"
            "注:本表。\n第三部分2022年度部门决算情况说明\n一、收入支出决算总体情况说明\n"
            "2022年度收、支总计均为1\n0.00万元。与上年度相比,收、支总计各减少5,549.6\n6万元,下降99.82%。\n")
    doc = load_bytes(text.encode("utf-8"), "wrap.txt", max_bytes=10**8)
    acc = extract_accounts(doc)
    assert acc is not None
    raws = [(it.kind, it.raw) for it in acc.narrative]
    assert ("amount", "10.00") in raws and ("yoy_amount", "5,549.66") in raws and ("yoy_rate", "99.82") in raws
    results, findings = check_accounts(acc, doc)
    _assert_refs_valid(doc, acc, results, findings)
    yoy = next(r for r in results if ":yoy_rate:" in r.check_id)
    assert yoy.status == "pass"  # 5549.66 / 5559.66 = 99.8201%


# ---------------------------------------------------------------- department level

def test_department_tables(seed):
    _, acc, _, _ = seed
    d = acc.dept
    assert [r.name for r in d.score_rows] == ["预算执行率", "投入管理指标", "产出指标", "效益指标", "合计"]
    assert len(d.summary_rows) == 20
    assert sum(r.group == "可执行项目" for r in d.summary_rows) == 13
    assert d.summary_rows[-1].score.value == Decimal("97.67")


def test_department_statements_recomputed(seed):
    _, _, results, findings = seed
    dept = {r.check_id: r for r in results if r.rule_id in ("R-DEPT-TOTAL", "R-DEPT-COUNTS")}
    for cid in ("R-DEPT-TOTAL:dept_total:95.04", "R-DEPT-TOTAL:总体得分情况表:得分",
                "R-DEPT-COUNTS:grade_count:自评结果为优:13", "R-DEPT-COUNTS:grade_count:自评结果为良:6",
                "R-DEPT-COUNTS:grade_count:自评结果为中:1", "R-DEPT-COUNTS:grade_count:自评结果为差:0",
                "R-DEPT-COUNTS:average_score:项目平均得分:92.27", "R-DEPT-COUNTS:rate_bucket:预算执行率低于60%:7",
                "R-DEPT-COUNTS:rate_bucket:预算执行率为100%:2", "R-DEPT-TOTAL:project_rate:70.51",
                "R-DEPT-TOTAL:project_budget:6,453.42"):
        assert dept[cid].status == "pass", cid
    assert "可执行项目" in dept["R-DEPT-TOTAL:project_budget:6,453.42"].variant
    assert dept["R-DEPT-COUNTS:average_score:项目平均得分:92.27"].recomputed == "92.2715"
    adj = dept["R-DEPT-TOTAL:dept_adjust_rate:29.34"]
    assert adj.status == "within_rounding" and "truncated" in adj.variant


# ---------------------------------------------------------------- Q&A

def test_qa_amount_share_over_budget(seed):
    doc, acc, _, _ = seed
    a = answer_accounts_question("2022年卫生健康支出决算是多少？", acc)
    assert a.kind == "amount" and a.value == "630.56" and "630.56" in a.answer_zh
    b = answer_accounts_question("基本支出占比多少？", acc)
    assert b.kind == "share" and b.value == "83.85"
    c = answer_accounts_question("哪些科目决算数超过年初预算？", acc)
    assert c.kind == "over_budget" and c.value == "6"
    assert {d["code"] for d in c.data} == {"2080502", "2080505", "2089999", "2101101", "2101301", "2109999"}
    e = answer_accounts_question("What was the health expenditure in 2022?", acc)
    assert e is not None and e.value == "630.56"
    assert answer_accounts_question("Which items exceeded the initial budget?", acc).value == "6"
    assert answer_accounts_question("人员经费是多少？", acc).value == "571"
    assert answer_accounts_question("2021年卫生健康支出是多少？", acc) is None
    assert answer_accounts_question("今天天气怎么样？", acc) is None
    for ans in (a, b, c, e):
        assert ans.citations
        _assert_refs_valid(doc, ans)


# ---------------------------------------------------------------- eval

def test_eval_accounts_against_gold():
    from eval.accounts import run

    scores = [s for s in run() if s.path.endswith(".txt") and "seeds" in s.path]
    assert scores, "gold for seed 004 missing"
    m = scores[0].metrics()
    assert all(v == 1.0 for v in m.values()), (m, scores[0].misses)


def test_cli_eval_accounts_json():
    from typer.testing import CliRunner

    from service.cli import app

    res = CliRunner().invoke(app, ["eval", "accounts", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data and data[0]["stem"] == STEM and data[0]["table_recall"] == 1.0


def test_table_continued_over_a_page_break_is_one_table(seed):
    text = SEED.read_text(encoding="utf-8")
    lines = text.split("\n")
    # put a page break (and a page number) before each repeated 03 header: the rows after it stay in 03
    heads = [i for i, ln in enumerate(lines) if ln.startswith("项目\t\t本年支出合计")]
    assert len(heads) == 2
    i = heads[1]
    lines[i:i] = ["- 3 -", "\f公开03表(续)", "单位:万元"]
    doc = load_bytes("\n".join(lines).encode("utf-8"), "paged.txt", max_bytes=10**8)
    acc = extract_accounts(doc)
    t03 = acc.table("03")
    assert len(t03.rows) == 25 and len(t03.pages) == 2
    assert _comparable(acc) == _comparable(seed[1])


def test_qa_a_department_named_like_a_subject_asks_the_total_not_the_subject(seed):
    """市卫生健康委员会 carries the words of 卫生健康支出: the department the question names is no 科目, so
    its 决算支出总额 is the year's total (本年支出合计), not the health row."""
    _, acc, _, _ = seed
    total = answer_accounts_question("2022年决算本年支出合计是多少", acc).value
    a = answer_accounts_question("市卫生健康委员会2022年度部门决算支出总额是多少？", acc)
    assert a is not None and a.value == total != "630.56"
    assert answer_accounts_question("中原区医疗保障局2022年卫生健康支出决算是多少？", acc).value == "630.56"
